from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.api.schemas import ResponseModel


class LineItem(BaseModel):
    external_id: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    sku: str | None = None
    title: str | None = None
    quantity: int = 0
    price_minor: int = Field(0, description="Unit price in minor units of the order currency.")


class Order(ResponseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    source: str = Field(description="shopify | woocommerce | orders (Vouch's own format)")
    external_order_id: str = Field(description="The store's order id.", examples=["5123456789"])
    order_number: str | None = Field(examples=["#1001"])
    status: str = Field(
        description="pending | paid | partially_refunded | refunded | cancelled",
        examples=["paid"],
    )
    source_status: str | None = Field(description="The store's own status word.")
    currency: str = Field(examples=["USD"])
    subtotal_minor: int = Field(description="Line items after discounts (the commission base).")
    discount_minor: int
    total_minor: int = Field(description="What the customer paid, shipping and tax included.")
    refunded_minor: int = Field(description="Refunds applied so far.")
    placed_at: datetime
    source_updated_at: datetime = Field(
        description="The store's timestamp of the version stored; older versions are ignored."
    )
    cancelled_at: datetime | None
    discount_codes: list[str] = Field(examples=[["ANNA15"]])
    landing_url: str | None
    referrer: str | None
    click_id: str | None = Field(description="The `vclid` the order brought back, if any.")
    customer_hash: str | None = Field(
        description="SHA-256 of the store's customer id (no raw personal data is stored)."
    )
    email_hash: str | None = Field(description="SHA-256 of the trimmed, lower-cased e-mail.")
    line_items: list[LineItem]
    collaboration_id: uuid.UUID | None = Field(description="Who was credited (null: nobody).")
    campaign_id: uuid.UUID | None
    influencer_id: uuid.UUID | None
    attribution_rule: str | None = Field(
        description="promo_code | click_id | last_click_within_window", examples=["promo_code"]
    )
    redacted_at: datetime | None = Field(description="Personal fields erased (customers/redact).")
    created_at: datetime
    updated_at: datetime


class Refund(ResponseModel):
    id: uuid.UUID
    external_refund_id: str
    amount_minor: int
    currency: str | None
    refunded_at: datetime | None
    applied_at: datetime | None


class OrderDetail(Order):
    refunds: list[Refund]
    commission_minor: int = Field(
        description="Sum of the order's ledger entries: the commission it earns now."
    )


class Candidate(BaseModel):
    collaboration_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    influencer_id: uuid.UUID | None
    rule: str = Field(examples=["click_id"])
    evidence: dict[str, Any] = Field(
        description="What pointed at the collaboration: the code, or the click (link id, time, "
        "click id, and how the shopper was recognised: click_id, customer, email, visitor).",
        examples=[{"code": "ANNA15"}],
    )
    outcome: str = Field(description="won | lost | ineligible", examples=["lost"])
    reason: str = Field(
        examples=["Outranked: the promo_code rule comes before click_id in the campaign policies."]
    )


class Attribution(ResponseModel):
    order_id: uuid.UUID
    collaboration_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    influencer_id: uuid.UUID | None
    rule: str | None
    model: str | None = Field(description="last_click | first_click (the winner's policy)")
    summary: str = Field(
        examples=[
            "Credited to collaboration 0193... by the promo_code rule. The order used the "
            "collaboration's promo code 'ANNA15'."
        ]
    )
    candidates: list[Candidate] = Field(
        description="Every candidate considered, the winner first, each with why it won or lost."
    )
    policy: dict[str, Any] | None = Field(
        description="The winning campaign's attribution policy, as applied."
    )
    commission_bps: int | None
    commission_fixed_minor: int | None
    decided_at: datetime
