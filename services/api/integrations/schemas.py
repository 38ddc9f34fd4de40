from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from services.api.schemas import RequestModel, ResponseModel
from shared.integrations.kinds import IntegrationKind, IntegrationStatus
from shared.integrations.signatures import Scheme

Currency = Annotated[
    str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code", examples=["EUR"])
]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=256,
        description="Bring your own signing secret instead of a generated one: e.g. the "
        "client secret of the Shopify app that registers the webhooks (Shopify signs with it "
        "and it cannot be chosen). For `custom` and `engagement`, a Standard Webhooks secret "
        "(`whsec_` + base64 of 16+ random bytes).",
    ),
]
_URLS_DOC = (
    "Where the store posts, by source: shopify, woocommerce, orders (kind `custom`: Vouch's "
    "order format, Standard Webhooks), engagement and instagram (kind `engagement`)."
)


class IntegrationCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "shopify",
                    "name": "Main store",
                    "shop_domain": "acme-outdoors.myshopify.com",
                    "currency": "EUR",
                },
                {"kind": "custom", "name": "Headless checkout"},
            ]
        }
    )

    kind: IntegrationKind = Field(
        description="shopify | woocommerce | custom (any store: Vouch's order format) | "
        "engagement (post metrics and comments)."
    )
    name: str = Field(min_length=1, max_length=200, examples=["Main store"])
    shop_domain: str | None = Field(None, max_length=253, examples=["acme-outdoors.myshopify.com"])
    currency: Currency | None = Field(
        None, description="The store's currency; default: the brand's default currency."
    )
    signing_secret: Secret | None = None


class IntegrationUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "EU store", "currency": "EUR"}]}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    shop_domain: str | None = Field(None, max_length=253, description="`null` clears it.")
    currency: Currency | None = None


class RotateSecret(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    signing_secret: Secret | None = None


class Integration(ResponseModel):
    id: uuid.UUID
    kind: IntegrationKind
    name: str
    shop_domain: str | None
    currency: str | None = Field(examples=["EUR"])
    status: IntegrationStatus
    signature_scheme: Scheme = Field(description="How this integration's webhooks are signed.")
    webhook_urls: dict[str, str] = Field(
        description=_URLS_DOC,
        examples=[{"shopify": "https://vouch.example.com/webhooks/shopify/0193a3c4-..."}],
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation still verifies."
    )
    created_at: datetime
    updated_at: datetime


class IntegrationWithSecret(Integration):
    signing_secret: str = Field(
        description="The signing secret. Shown once: it is never returned again (rotate it "
        "to get a new one)."
    )
