from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from services.api.schemas import RequestModel, ResponseModel
from shared.brands.service import Scope

Currency = Annotated[
    str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code", examples=["EUR"])
]


class Brand(ResponseModel):
    id: uuid.UUID
    name: str
    default_currency: str = Field(examples=["EUR"])
    timezone: str = Field(examples=["Europe/Berlin"])
    allowed_domains: list[str] = Field(
        description="Hosts tracking links may redirect to (each also allows its subdomains).",
        examples=[["shop.example.com"]],
    )
    created_at: datetime
    updated_at: datetime


class BrandUpdate(RequestModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    default_currency: Currency | None = None
    timezone: str | None = Field(None, max_length=64, examples=["Europe/Berlin"])
    allowed_domains: list[Annotated[str, Field(max_length=253)]] | None = Field(
        None, max_length=100, examples=[["shop.example.com", "example.com"]]
    )


class ApiKey(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="Visible start of the key, for support.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=100, examples=["storefront"])
    scopes: list[Scope] = Field(
        default_factory=lambda: [Scope.READ],
        min_length=1,
        description="Scopes to grant; a key can only grant scopes it holds itself.",
    )


class ApiKeyCreated(ApiKey):
    secret: str = Field(description="The whole key. Shown once; only its hash is stored.")
