"""The outbox: domain events written in the same transaction as the change that caused them.
The outbound-webhooks worker delivers them; nothing here sends anything."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, UUIDPk


class OutboxEvent(UUIDPk, BrandOwned, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        # A business key per event (e.g. "usage_rights.expiring:<terms id>") makes recording
        # idempotent: a cron that runs twice records one event.
        UniqueConstraint("brand_id", "dedupe_key", name="uq_outbox_events_dedupe"),
        Index(
            "ix_outbox_events_undispatched",
            "created_at",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    type: Mapped[str] = mapped_column(Text)  # e.g. "usage_rights.expiring"
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dedupe_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    dispatched_at: Mapped[datetime | None]
