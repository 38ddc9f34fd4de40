"""Influencers, their social accounts and follower history."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import TIER_SQL, InfluencerStatus, Platform, check_in


class Influencer(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "influencers"
    __table_args__ = (
        CheckConstraint(check_in("status", InfluencerStatus), name="status"),
        CheckConstraint("country IS NULL OR country ~ '^[A-Z]{2}$'", name="country_iso"),
        CheckConstraint(
            "rate_currency IS NULL OR rate_currency ~ '^[A-Z]{3}$'", name="rate_currency_iso"
        ),
        # One roster entry per e-mail and brand (case-insensitive); e-mail is optional.
        Index(
            "uq_influencers_brand_email",
            "brand_id",
            text("lower(email)"),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index("ix_influencers_brand_created", "brand_id", "created_at", "id"),
        Index("ix_influencers_brand_max_followers", "brand_id", "max_followers", "id"),
        # Text search (`?q=`) is ILIKE '%...%'; trigram indexes make it index-assisted.
        Index(
            "ix_influencers_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    niches: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=InfluencerStatus.ACTIVE.value)
    # {deliverable_type: price in minor units of rate_currency}
    rate_card: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'"))
    rate_currency: Mapped[str | None] = mapped_column(String(3))
    # The largest follower count across the influencer's accounts (0 without accounts): the
    # indexed key of `sort=followers`. Denormalised on purpose and kept exact, in the same
    # transaction as every account write, by shared.influencers (service and CSV import):
    # anything else that changes social_accounts.followers must call
    # InfluencerRepository.refresh_max_followers (after InfluencerRepository.lock).
    max_followers: Mapped[int] = mapped_column(BigInteger, server_default="0")


class SocialAccount(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "social_accounts"
    __table_args__ = (
        CheckConstraint(check_in("platform", Platform), name="platform"),
        CheckConstraint("handle = lower(handle) AND handle !~ '^@'", name="handle_normalised"),
        CheckConstraint("followers >= 0", name="followers_nonnegative"),
        CheckConstraint(
            "sponsored_share_bps IS NULL OR sponsored_share_bps BETWEEN 0 AND 10000",
            name="sponsored_share_range",
        ),
        UniqueConstraint("brand_id", "platform", "handle", name="uq_social_accounts_handle"),
        Index("ix_social_accounts_brand_followers", "brand_id", "followers", "id"),
        Index("ix_social_accounts_brand_tier", "brand_id", "tier"),
        # Handle search (`LIKE '%x%'`). On lower(handle), not the column: a trigram index on
        # the column also serves `=`, and the planner would pick it over the unique btree for
        # lookups by handle (migration 0012).
        Index(
            "ix_social_accounts_handle_trgm",
            func.lower(literal_column("handle")).label("lower_handle"),
            postgresql_using="gin",
            postgresql_ops={"lower_handle": "gin_trgm_ops"},
        ),
    )

    influencer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("influencers.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(Text)
    handle: Mapped[str] = mapped_column(Text)  # lower case, no leading '@'
    profile_url: Mapped[str | None] = mapped_column(Text)
    followers: Mapped[int] = mapped_column(BigInteger, server_default="0")
    tier: Mapped[str] = mapped_column(Text, Computed(TIER_SQL, persisted=True))
    posts_per_week: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    sponsored_share_bps: Mapped[int | None]  # share of posts that are sponsored, basis points
    # Audience distributions in percent (0-100, each sums to <= 100):
    # age {"13-17","18-24","25-34","35-44","45-54","55+"}, gender {"female","male","other"},
    # countries {ISO-3166 alpha-2: pct}, languages {ISO-639-1: pct}.
    audience_age: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'"))
    audience_gender: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'"))
    audience_countries: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'"))
    audience_languages: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'"))
    extra: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class FollowerSnapshot(BrandOwned, Base):
    """One row each time an account's follower count changes (and at creation)."""

    __tablename__ = "follower_snapshots"
    __table_args__ = (
        UniqueConstraint("account_id", "captured_at", name="uq_follower_snapshots_account_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE")
    )
    followers: Mapped[int] = mapped_column(BigInteger)
    captured_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
