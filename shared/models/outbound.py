"""Outbound webhooks: the brand's subscriber endpoints, one delivery per (event, endpoint), and
one attempt row per HTTP try.

The outbox (`outbox_events`) is the source; the worker fans each event out into
`webhook_deliveries` rows (unique per event and endpoint, so a doubled fan-out is one delivery)
and then sends them, signed per Standard Webhooks, with retries on a fixed schedule.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk


class WebhookEndpoint(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("cardinality(event_types) > 0", name="event_types_nonempty"),
        CheckConstraint(
            "(status = 'disabled') = (disabled_at IS NOT NULL)", name="disabled_consistent"
        ),
        Index("ix_webhook_endpoints_brand_created", "brand_id", "created_at", "id"),
    )

    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # Subscribed event types ("commission.created", ...); "*" subscribes to every type.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # `whsec_` + base64 of 32 random bytes. Kept recoverable: signing needs the key itself.
    # After a rotation the previous secret also signs (a second `v1,` signature) until
    # previous_secret_expires_at, so receivers can switch over without dropping events.
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(Text, server_default="active")
    # Why it is disabled: "manual", "gone" (the receiver answered 410), "failing" (every
    # attempt failed for `webhook_disable_after_hours`). NULL while active.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    # Start of the current run of failed attempts; cleared by any successful delivery.
    failing_since: Mapped[datetime | None]


class WebhookDelivery(UUIDPk, BrandOwned, Timestamps, Base):
    """One outbox event to one endpoint. pending (not tried yet) -> delivered, or failed
    (retry scheduled at next_attempt_at) -> ... -> dead (schedule exhausted; can be resent)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed', 'dead')", name="status"),
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        # The worker's claim: due deliveries by time.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    # Tries in the current round (a resend starts a new round at 0); indexes the schedule.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Set while a worker holds the delivery (claimed, request in flight). Only the holder of
    # the token may record the outcome; a claim whose worker died is retaken once
    # next_attempt_at (the lease end) passes.
    lease_token: Mapped[uuid.UUID | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class WebhookDeliveryAttempt(UUIDPk, BrandOwned, Base):
    """One HTTP request to an endpoint, whatever its outcome."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "id"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)  # NULL: no response
    # Transport error ("timeout", "connect: ...") or why a response counts as a failure.
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)  # first bytes of the body
    # Seconds the receiver asked us to wait (Retry-After), as parsed.
    retry_after_seconds: Mapped[int | None] = mapped_column(Integer)
