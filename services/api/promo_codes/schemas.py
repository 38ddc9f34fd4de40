from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from services.api.schemas import RequestModel, ResponseModel

# Stored as typed (outer blanks stripped); unique per brand ignoring case.
Code = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The code shoppers type at checkout (2-64 characters). Unique per brand, "
        "ignoring case: SUMMER20 and summer20 are the same code.",
        examples=["ANNA15"],
    ),
]
Description = Annotated[
    str,
    Field(max_length=500, description="The discount it gives.", examples=["15% off everything"]),
]


class PromoCodeCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "ANNA15",
                    "collaboration_id": "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
                    "description": "15% off everything",
                }
            ]
        }
    )

    code: Code
    collaboration_id: uuid.UUID = Field(description="The collaboration that owns the code.")
    description: Description | None = None
    active: bool = True
    generic: bool = Field(
        False,
        description="A site-wide code, not personal to the influencer: an order using it does "
        "not take credit away from a tracking link.",
    )


class PromoCodeUpdate(RequestModel):
    """Only the fields sent change; `description: null` clears the description."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    code: Code | None = None
    collaboration_id: uuid.UUID | None = None
    description: Description | None = None
    active: bool | None = None
    generic: bool | None = None

    @field_validator("code", "collaboration_id", "active", "generic")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # These may be left out but not cleared: an explicit null is a 422 naming the field.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class PromoCode(ResponseModel):
    id: uuid.UUID
    collaboration_id: uuid.UUID
    code: str = Field(examples=["ANNA15"])
    description: str | None
    active: bool
    generic: bool
    created_at: datetime
    updated_at: datetime
