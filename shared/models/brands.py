"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk


class Brand(UUIDPk, Timestamps, Base):
    __tablename__ = "brands"
    __table_args__ = (
        CheckConstraint("default_currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
    )

    name: Mapped[str] = mapped_column(Text)
    default_currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    timezone: Mapped[str] = mapped_column(Text, server_default="UTC")
    # Hosts a tracking link may redirect to (exact host or any subdomain of it).
    allowed_domains: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )


class ApiKey(UUIDPk, BrandOwned, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(Text)
    # First characters of the key (`vk_live_` + 6), shown in listings and logs for support.
    prefix: Mapped[str] = mapped_column(String(32))
    # SHA-256 of the whole key. Keys carry 192 random bits, so a fast hash is safe to store
    # and the lookup is an index probe on the digest (no timing oracle on the secret).
    key_hash: Mapped[bytes] = mapped_column(unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
