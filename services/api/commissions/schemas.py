from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from services.api.schemas import RequestModel, ResponseModel


class CommissionEntry(ResponseModel):
    id: uuid.UUID
    kind: str = Field(description="earned | reversal | clawback | adjustment", examples=["earned"])
    status: str = Field(description="pending | approved | paid | reversed", examples=["pending"])
    amount_minor: int = Field(description="Signed, in minor units of `currency`.", examples=[1250])
    currency: str = Field(examples=["USD"])
    order_id: uuid.UUID | None = Field(description="Null for manual adjustments.")
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    refund_id: uuid.UUID | None
    cause: str | None = Field(
        description="What booked it: earned, refund:<store refund id>, order:<store time>.",
        examples=["refund:9001"],
    )
    related_entry_id: uuid.UUID | None = Field(description="The entry an adjustment corrects.")
    reason: str | None
    payout_id: uuid.UUID | None
    created_at: datetime
    status_changed_at: datetime | None


class AdjustmentCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "collaboration_id": "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
                    "amount_minor": -500,
                    "reason": "Order 1001 was a test order",
                    "idempotency_key": "adj-2026-11-23-1001",
                }
            ]
        }
    )

    collaboration_id: uuid.UUID = Field(description="Whose balance it changes.")
    amount_minor: int = Field(
        ge=-(10**12),
        le=10**12,
        description="Signed minor units: positive credits the influencer, negative debits.",
    )
    currency: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217; default: the collaboration's."),
    ] = None
    reason: str = Field(min_length=1, max_length=500, description="Why (kept on the ledger).")
    related_entry_id: uuid.UUID | None = Field(None, description="The entry this corrects.")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Retrying with the same key returns the first adjustment instead of "
        "booking a second one.",
    )
