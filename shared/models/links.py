"""Tracking links, promo codes and clicks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import DeviceClass, LinkStatus, check_in


class TrackingLink(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "tracking_links"
    __table_args__ = (
        CheckConstraint(check_in("status", LinkStatus), name="status"),
        CheckConstraint("code ~ '^[A-Za-z0-9_-]{3,64}$'", name="code_urlsafe"),
        CheckConstraint("click_cap IS NULL OR click_cap > 0", name="click_cap_positive"),
        CheckConstraint("click_cap IS NULL OR fallback_url IS NOT NULL", name="cap_needs_fallback"),
        # Codes are public and global: /r/{code} carries no brand.
        UniqueConstraint("code", name="uq_tracking_links_code"),
        Index("ix_tracking_links_brand_created", "brand_id", "created_at", "id"),
    )

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(Text)
    destination_url: Mapped[str] = mapped_column(Text)
    # {"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"}: the link's
    # complete UTM parameters, materialised at creation (defaults derived from the campaign
    # and influencer, then the caller's overrides), so later renames never change a live link.
    utm: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    # True: UTM parameters already on the destination URL win over Vouch's.
    destination_utm_wins: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(Text, server_default=LinkStatus.ACTIVE.value)
    expires_at: Mapped[datetime | None]
    click_cap: Mapped[int | None] = mapped_column(BigInteger)
    fallback_url: Mapped[str | None] = mapped_column(Text)


class PromoCode(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "promo_codes"
    __table_args__ = (
        # Case-insensitive uniqueness per brand lives in the schema, not in code.
        Index("uq_promo_codes_brand_code", "brand_id", text("lower(code)"), unique=True),
        CheckConstraint("length(code) BETWEEN 2 AND 64", name="code_length"),
    )

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(Text)  # as the brand typed it
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Site-wide codes (not owned by one influencer) never block link credit (orders issue).
    generic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Click(Base):
    """One row per redirect. Range-partitioned by month on `clicked_at`; partitions are named
    `clicks_yYYYYmMM` and created ahead by a worker cron. No raw IP is ever stored: `visitor_hash`
    is a keyed hash of IP + user agent with a daily salt that is never written down."""

    __tablename__ = "clicks"
    __table_args__ = (
        PrimaryKeyConstraint("id", "clicked_at", name="pk_clicks"),
        # A click id carries its own time, so (click_id, clicked_at) is unique per click id.
        UniqueConstraint("click_id", "clicked_at", name="uq_clicks_click_id"),
        CheckConstraint(check_in("device", DeviceClass), name="device"),
        Index("ix_clicks_link_time", "link_id", "clicked_at"),
        {"postgresql_partition_by": "RANGE (clicked_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    clicked_at: Mapped[datetime]
    brand_id: Mapped[uuid.UUID]  # no FK: high-volume append table, written with COPY
    link_id: Mapped[uuid.UUID]
    click_id: Mapped[str] = mapped_column(Text)
    visitor_hash: Mapped[bytes] = mapped_column(LargeBinary)
    country: Mapped[str | None] = mapped_column(String(2))
    device: Mapped[str] = mapped_column(Text)
    referrer_domain: Mapped[str | None] = mapped_column(Text)
    is_bot: Mapped[bool] = mapped_column(Boolean)
    is_unique: Mapped[bool] = mapped_column(Boolean)
