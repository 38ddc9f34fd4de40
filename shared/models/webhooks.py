"""Store and engagement connections, and the webhook inbox.

The inbox is the durability boundary: a webhook is acknowledged (2xx) only after its row is
committed, and every later step (parsing, attribution, ledger) is a retryable job over it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk


class Integration(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "integrations"
    __table_args__ = (
        CheckConstraint("kind IN ('shopify', 'woocommerce', 'custom', 'engagement')", name="kind"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    shop_domain: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(Text, server_default="active")
    # HMAC signing secret(s). Kept recoverable because verifying a signature needs the secret
    # itself; shown to the brand once at creation/rotation. During a rotation the previous
    # secret keeps verifying until previous_secret_expires_at.
    signing_secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class WebhookEvent(UUIDPk, BrandOwned, Base):
    """One received webhook, raw bytes kept, deduplicated by the source's own event id."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'handled', 'failed', 'dead', 'ignored')", name="status"
        ),
        # Dedupe in the schema: the same delivery twice is one row (ON CONFLICT DO NOTHING).
        UniqueConstraint("integration_id", "external_id", name="uq_webhook_events_external"),
        # The sweeper's and the batch processor's scan: unhandled rows by age.
        Index(
            "ix_webhook_events_unhandled",
            "received_at",
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_webhook_events_brand_status", "brand_id", "status", "received_at"),
    )

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    # shopify | woocommerce | orders | engagement | instagram
    source: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)  # e.g. orders/create, order.updated, order
    external_id: Mapped[str] = mapped_column(Text)  # source's event/delivery id
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # The source's own event time (X-Shopify-Triggered-At, webhook-timestamp, ...), if any.
    source_timestamp: Mapped[datetime | None]
    headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
