"""Analytics: the change log the raw tables feed, and the daily rollups reports read.

How rollups stay exact (see shared/analytics/rollups.py):
- statement-level triggers (migration 0009) on clicks, orders, commission_entries,
  post_metric_snapshots, post_comments, posts and follower_snapshots append one
  `rollup_dirty` row per touched (kind, key, 15-minute bucket) *in the writer's own
  transaction*, so a mark is visible exactly when the data it marks is;
- the worker claims marks (DELETE ... SKIP LOCKED), and recomputes the touched cells from raw
  rows with the same function `vouch rollups rebuild` uses. A mark committed after the claim
  stays for the next run, so nothing is missed whatever order transactions commit in.

Days are the brand's local days (brands.timezone, recorded per brand in
`rollup_brand_state`: a changed time zone triggers a rebuild of that brand). Money stays in
the currency it was in (no FX source): sales rows are per currency.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned

DIRTY_KINDS = ("link", "sales", "post", "account")


class RollupDirty(Base):
    """A cell some raw write touched and the rollups have not caught up with yet.

    `key_id` is a link (kind link), collaboration (sales), post (post) or social account
    (account); `at` the 15-minute UTC bucket of the event time for the day-keyed kinds (every
    real UTC offset is a multiple of 15 minutes, so a bucket lies inside one local day).
    No foreign keys: written by triggers on high-volume tables, consumed and deleted fast."""

    __tablename__ = "rollup_dirty"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in DIRTY_KINDS)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    brand_id: Mapped[uuid.UUID]
    key_id: Mapped[uuid.UUID]
    at: Mapped[datetime | None]


class RollupBrandState(Base):
    """The time zone a brand's rollups were computed in."""

    __tablename__ = "rollup_brand_state"

    brand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class LinkDaily(BrandOwned, Base):
    """Clicks on one tracking link during one local day. `clicks` and `unique_clicks` are
    human clicks; bots are counted apart and nowhere else."""

    __tablename__ = "rollup_link_daily"
    __table_args__ = (
        PrimaryKeyConstraint("link_id", "day", name="pk_rollup_link_daily"),
        Index("ix_rollup_link_daily_campaign", "campaign_id", "day"),
        Index("ix_rollup_link_daily_influencer", "influencer_id", "day"),
    )

    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tracking_links.id", ondelete="CASCADE"))
    day: Mapped[date]
    # The link's collaboration, campaign and influencer (immutable for a link).
    collaboration_id: Mapped[uuid.UUID]
    campaign_id: Mapped[uuid.UUID]
    influencer_id: Mapped[uuid.UUID]
    clicks: Mapped[int] = mapped_column(BigInteger)
    unique_clicks: Mapped[int] = mapped_column(BigInteger)
    bot_clicks: Mapped[int] = mapped_column(BigInteger)


class SalesDaily(BrandOwned, Base):
    """Orders credited to one collaboration, placed during one local day, and its commission
    ledger entries booked that day, in one currency (minor units).

    orders: placed and not cancelled (a refund shows in `refunds_minor`, it does not un-count
    the order); gross: what customers paid (total); refunds: applied refunds, capped at the
    total; commission earned: sum of positive entries; reversed: minus the sum of negative
    ones (reversals, clawbacks, negative adjustments)."""

    __tablename__ = "rollup_sales_daily"
    __table_args__ = (
        PrimaryKeyConstraint("collaboration_id", "day", "currency", name="pk_rollup_sales_daily"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        Index("ix_rollup_sales_daily_campaign", "campaign_id", "day"),
        Index("ix_rollup_sales_daily_influencer", "influencer_id", "day"),
    )

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    campaign_id: Mapped[uuid.UUID]
    influencer_id: Mapped[uuid.UUID]
    orders: Mapped[int] = mapped_column(Integer)
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    refunds_minor: Mapped[int] = mapped_column(BigInteger)
    commission_earned_minor: Mapped[int] = mapped_column(BigInteger)
    commission_reversed_minor: Mapped[int] = mapped_column(BigInteger)


class PostDaily(BrandOwned, Base):
    """What one campaign post gained during one local day.

    Metric snapshots are cumulative readings; per metric, the end-of-day value is the newest
    reading that reported it, and the row holds the change from the previous end-of-day value
    (the first reading counts in full: a post starts at zero). Summing a post's rows over all
    days gives its latest values; over a range, what it gained in that range. The sentiment
    counts are the comments received (posted) that day."""

    __tablename__ = "rollup_post_daily"
    __table_args__ = (
        PrimaryKeyConstraint("post_id", "day", name="pk_rollup_post_daily"),
        Index("ix_rollup_post_daily_campaign", "campaign_id", "day"),
        Index("ix_rollup_post_daily_influencer", "influencer_id", "day"),
    )

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    day: Mapped[date]
    campaign_id: Mapped[uuid.UUID]
    influencer_id: Mapped[uuid.UUID | None]  # null: the post matches no roster account
    account_id: Mapped[uuid.UUID | None]
    platform: Mapped[str] = mapped_column(Text)
    deliverable_type: Mapped[str] = mapped_column(Text)  # the deliverable's, else content type
    likes: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    shares: Mapped[int] = mapped_column(BigInteger)
    saves: Mapped[int] = mapped_column(BigInteger)
    views: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger)
    reach: Mapped[int] = mapped_column(BigInteger)
    comments_positive: Mapped[int] = mapped_column(Integer)
    comments_neutral: Mapped[int] = mapped_column(Integer)
    comments_negative: Mapped[int] = mapped_column(Integer)
    comments_unscored: Mapped[int] = mapped_column(Integer)


class AccountDaily(BrandOwned, Base):
    """A social account's followers at the end of one local day and the change since the
    previous reading's day (0 for the first reading ever: it is a baseline, not growth)."""

    __tablename__ = "rollup_account_daily"
    __table_args__ = (
        PrimaryKeyConstraint("account_id", "day", name="pk_rollup_account_daily"),
        Index("ix_rollup_account_daily_influencer", "influencer_id", "day"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[date]
    influencer_id: Mapped[uuid.UUID]
    platform: Mapped[str] = mapped_column(Text)
    followers: Mapped[int] = mapped_column(BigInteger)
    new_followers: Mapped[int] = mapped_column(BigInteger)
