"""Orders from stores, their refunds (applied or parked) and one attribution decision each.

An order is upserted by its business key (integration_id, external_order_id); its status and
amounts follow the newest update by the source's own timestamp (`source_updated_at`). Money is
in minor units of `currency`. No raw e-mail address, IP address or customer name is stored:
`email_hash` is the SHA-256 of the trimmed, lower-cased address (what the self-referral guard
compares against) and `customer_hash` a SHA-256 of the store's customer id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import check_in


class OrderStatus(StrEnum):
    """Normalised across sources (the store's own word is kept in `source_status`)."""

    PENDING = "pending"  # placed, payment not captured (authorized, on-hold, ...)
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"  # cancelled, voided or failed: never earns


class Order(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        # The business key: the same order delivered twice, or re-fed by reconciliation, is
        # one row.
        UniqueConstraint("integration_id", "external_order_id", name="uq_orders_external"),
        CheckConstraint(check_in("status", OrderStatus), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "subtotal_minor >= 0 AND total_minor >= 0 AND discount_minor >= 0 "
            "AND refunded_minor >= 0",
            name="money_nonnegative",
        ),
        # Listing: newest first per brand, and the filters of GET /v1/orders.
        Index("ix_orders_brand_placed", "brand_id", "placed_at", "id"),
        Index("ix_orders_collaboration_placed", "collaboration_id", "placed_at", "id"),
        Index("ix_orders_campaign_placed", "campaign_id", "placed_at", "id"),
        # Last-click attribution by the same customer: their earlier orders' verified clicks.
        Index(
            "ix_orders_customer_clicks",
            "brand_id",
            "customer_hash",
            "clicked_at",
            postgresql_where=text("click_link_id IS NOT NULL"),
        ),
        Index(
            "ix_orders_email_clicks",
            "brand_id",
            "email_hash",
            "clicked_at",
            postgresql_where=text("click_link_id IS NOT NULL"),
        ),
    )
    # Indexed by ix_orders_brand_placed (leading column): no separate index to maintain on
    # every insert. (customers/redact scans one store's orders through uq_orders_external:
    # rare, and asynchronous.)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(Text)  # shopify | woocommerce | orders
    external_order_id: Mapped[str] = mapped_column(Text)
    order_number: Mapped[str | None] = mapped_column(Text)  # what the shopper sees: "#1001"
    status: Mapped[str] = mapped_column(Text)  # normalised, see OrderStatus
    source_status: Mapped[str | None] = mapped_column(Text)  # as the store said it
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)  # line items after discounts
    discount_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    total_minor: Mapped[int] = mapped_column(BigInteger)  # what the customer paid, all in
    refunded_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")  # applied refunds
    placed_at: Mapped[datetime]
    # The source's own time of the update stored; an older update is never applied over it.
    source_updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    discount_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    landing_url: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    click_id: Mapped[str | None] = mapped_column(Text)  # the `vclid` the order brought back
    # The verified click behind click_id (None when absent or forged): what later orders of
    # the same customer use for last-click attribution.
    click_link_id: Mapped[uuid.UUID | None]
    clicked_at: Mapped[datetime | None]
    customer_hash: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(Text)
    # [{"external_id", "product_id", "variant_id", "sku", "title", "quantity", "price_minor"}]
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    # The attribution decision's outcome, denormalised for the list filters.
    collaboration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("collaborations.id", ondelete="SET NULL")
    )
    campaign_id: Mapped[uuid.UUID | None]
    influencer_id: Mapped[uuid.UUID | None]
    attribution_rule: Mapped[str | None] = mapped_column(Text)
    # Set by customers/redact or shop/redact: personal fields were erased and stay erased.
    redacted_at: Mapped[datetime | None]


class OrderRefund(UUIDPk, BrandOwned, Base):
    """A refund, keyed by the source's refund id. `order_id` is NULL while it is parked (the
    refund arrived before its order); it is applied, once, when the order arrives."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        UniqueConstraint(
            "integration_id",
            "external_order_id",
            "external_refund_id",
            name="uq_order_refunds_external",
        ),
        CheckConstraint("amount_minor >= 0", name="amount_nonnegative"),
        CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("(order_id IS NULL) = (applied_at IS NULL)", name="applied_has_order"),
        Index("ix_order_refunds_order", "order_id"),
        Index(
            "ix_order_refunds_parked",
            "integration_id",
            "external_order_id",
            postgresql_where=text("order_id IS NULL"),
        ),
    )
    # Always read through the order or the business key: no brand index to maintain.
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    external_order_id: Mapped[str] = mapped_column(Text)
    external_refund_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # money returned to the customer
    currency: Mapped[str | None] = mapped_column(String(3))
    refunded_at: Mapped[datetime | None]  # the source's time of the refund
    # [{"line_item_id", "quantity", "subtotal_minor"}]
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    applied_at: Mapped[datetime | None]


class AttributionDecision(BrandOwned, Base):
    """Why an order was (or was not) credited: one row per order, written once.

    `candidates` lists every collaboration the order's evidence pointed at, in rank order:
    [{"collaboration_id", "campaign_id", "influencer_id", "rule", "evidence": {...},
      "outcome": "won" | "lost" | "ineligible", "reason": "..."}]
    plus evidence that pointed at nothing (an unknown code, a forged click id) with
    collaboration_id null. The commission terms are snapshotted, so every later ledger entry
    of the order is computed from the same terms the decision credited.
    """

    __tablename__ = "attribution_decisions"
    __table_args__ = (
        CheckConstraint(
            "rule IS NULL OR rule IN ('promo_code', 'click_id', 'last_click_within_window')",
            name="rule",
        ),
        CheckConstraint("(rule IS NULL) = (collaboration_id IS NULL)", name="winner_has_rule"),
    )
    # Always read by order id: no other index to maintain on every insert.
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    # Ids as they were when decided (no foreign keys: the decision is a historical record).
    collaboration_id: Mapped[uuid.UUID | None]
    campaign_id: Mapped[uuid.UUID | None]
    influencer_id: Mapped[uuid.UUID | None]
    rule: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)  # last_click | first_click (winner's policy)
    summary: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    # The winner's campaign policy, resolved with defaults, as applied.
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    commission_bps: Mapped[int | None]
    commission_fixed_minor: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
