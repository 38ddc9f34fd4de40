"""Engagement data: posts seen through engagement integrations, their metric snapshots and
comments, and the quality signals the worker derives per social account.

Invariants:
- a post is unique per (brand, platform, external post id); posts that match no roster
  account, deliverable or campaign are kept (nullable links) so a brand can link them later;
- snapshots are unique per (post, captured_at); the post row carries, per metric, the value
  of the newest snapshot that reported it, so a late older snapshot never overwrites a newer
  one (folded in by the account's signals recompute, see shared/engagement/repository.py
  `fold_posts`; immediately for posts of no roster account);
- comments are unique per (post, external id); sentiment is positive/neutral/negative, or
  `unscored` when the comment is in a language the scorer cannot read (never guessed);
- account_signals is 1:1 with social_accounts. Every write that changes an account's inputs
  appends an account_signal_marks row. The inbox handlers only insert (snapshots, comments,
  follower readings, marks) and never update a row other deliveries share (the account, its
  posts' counters), so concurrent inbox batches touching the same accounts and posts cannot
  deadlock or queue behind each other. The account's recompute folds the marked posts and
  deletes exactly the marks it saw: a mark committed meanwhile survives and triggers the next
  run. An account is stale while it has marks.
- account_features is 1:1 with social_accounts and derived only: triggers (migration 0011)
  rewrite it in the transaction of every write to its sources; the application never
  writes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, column_property, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import Platform, Tier, check_in

CONTENT_TYPES = ("post", "story", "reel", "short", "video", "live")
SENTIMENTS = ("positive", "neutral", "negative", "unscored")
METRICS = ("likes", "comments", "shares", "saves", "views", "impressions", "reach")


class Post(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(check_in("platform", Platform), name="platform"),
        CheckConstraint(
            f"content_type IN ({', '.join(repr(c) for c in CONTENT_TYPES)})", name="content_type"
        ),
        CheckConstraint(
            "handle IS NULL OR (handle = lower(handle) AND handle !~ '^@')",
            name="handle_normalised",
        ),
        UniqueConstraint("brand_id", "platform", "external_post_id", name="uq_posts_external"),
        Index("ix_posts_brand_created", "brand_id", "created_at", "id"),
        Index("ix_posts_account_posted", "account_id", "posted_at"),
        Index("ix_posts_brand_url_key", "brand_id", "post_url_key"),
        Index("ix_posts_deliverable", "deliverable_id"),
        Index("ix_posts_campaign", "campaign_id"),
        # The "to link" list: posts not matched to a roster account.
        Index(
            "ix_posts_brand_unmatched",
            "brand_id",
            "created_at",
            "id",
            postgresql_where=text("account_id IS NULL"),
        ),
    )

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="SET NULL")
    )
    platform: Mapped[str] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(Text)  # lower case, no '@'; null if unknown
    # The platform's own id of the account (Instagram user id), when the source gives one.
    account_external_id: Mapped[str | None] = mapped_column(Text)
    external_post_id: Mapped[str] = mapped_column(Text)
    post_url: Mapped[str | None] = mapped_column(Text)
    # post_url normalised (host lower case without www., no tracking parameters, no trailing
    # slash, no fragment): the matching key against deliverables.
    post_url_key: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None]
    content_type: Mapped[str] = mapped_column(Text, server_default="post")
    caption: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)  # ISO 639-1 if the source says
    paid_partnership: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # #ad/#sponsored/#partner (and localised forms) in the caption, or the paid-partnership flag
    disclosed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Disclosed, or linked to a deliverable or campaign: counts toward sponsored saturation.
    sponsored: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    deliverable_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deliverables.id", ondelete="SET NULL")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    # How each link was made: {"account": "handle"|"deliverable"|"manual",
    # "deliverable": "external_post_id"|"post_url"|"manual", "campaign": "hashtag:#x"|...}
    matched_by: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'"))
    # Latest known value of each metric (newest snapshot that reported it); null = never seen.
    metrics_captured_at: Mapped[datetime | None]
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    # Comment sentiment counts of the comments received through integrations.
    comments_positive: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_neutral: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_negative: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_unscored: Mapped[int] = mapped_column(Integer, server_default="0")


class PostMetricSnapshot(BrandOwned, Base):
    """One metrics reading of a post at `captured_at` (every metric optional: platforms
    deprecate and rename them, e.g. Instagram replaced impressions and plays with views)."""

    __tablename__ = "post_metric_snapshots"
    __table_args__ = (
        UniqueConstraint("post_id", "captured_at", name="uq_post_metric_snapshots_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    captured_at: Mapped[datetime]
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)


class PostComment(BrandOwned, Base):
    __tablename__ = "post_comments"
    __table_args__ = (
        CheckConstraint(
            f"sentiment IN ({', '.join(repr(s) for s in SENTIMENTS)})", name="sentiment"
        ),
        CheckConstraint(
            "sentiment_score IS NULL OR sentiment_score BETWEEN -1 AND 1", name="score_range"
        ),
        UniqueConstraint("post_id", "external_id", name="uq_post_comments_external"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime | None]
    sentiment: Mapped[str] = mapped_column(Text)
    sentiment_score: Mapped[float | None] = mapped_column(Double)  # VADER compound, -1..1
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AccountSignals(BrandOwned, Base):
    """Quality signals of one social account, recomputed by the worker when data arrives.

    Rates are fractions (0.039 = 3.9%). See shared/engagement/signals.py for each formula."""

    __tablename__ = "account_signals"
    __table_args__ = (
        CheckConstraint(
            "authenticity_score IS NULL OR authenticity_score BETWEEN 0 AND 100",
            name="authenticity_range",
        ),
        CheckConstraint(
            "sponsored_share IS NULL OR sponsored_share BETWEEN 0 AND 1", name="sponsored_range"
        ),
        Index("ix_account_signals_brand_er", "brand_id", "engagement_rate"),
        Index("ix_account_signals_brand_auth", "brand_id", "authenticity_score"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime | None]
    engagement_rate: Mapped[float | None] = mapped_column(Double)  # by followers at the time
    engagement_rate_views: Mapped[float | None] = mapped_column(Double)  # video-first: by views
    sample_size: Mapped[int] = mapped_column(Integer, server_default="0")
    views_sample_size: Mapped[int] = mapped_column(Integer, server_default="0")
    benchmark_rate: Mapped[float | None] = mapped_column(Double)
    benchmark_source: Mapped[str | None] = mapped_column(Text)  # roster | default
    authenticity_score: Mapped[int | None] = mapped_column(SmallInteger)
    # [{"code", "message", "value", "threshold", "penalty"}]
    authenticity_reasons: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'")
    )
    sponsored_share: Mapped[float | None] = mapped_column(Double)
    comments_positive: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_neutral: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_negative: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_unscored: Mapped[int] = mapped_column(Integer, server_default="0")
    # The intermediate numbers behind the signals (per-post rates, ratios), for explanations.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))

    # NOT NULL sort keys for keyset pagination (unknown sorts below every known value).
    er_sort_key = column_property(func.coalesce(engagement_rate, -1.0))
    authenticity_sort_key = column_property(func.coalesce(authenticity_score, -1))


class AccountFeatures(BrandOwned, Base):
    """What the campaign recommendations score, per social account: one narrow row, already
    extracted from the JSONB columns and joined across social_accounts, influencers and
    account_signals, so scoring scans this table alone (shared/engagement/recommendations.py).

    Read-only for the application: PostgreSQL triggers keep it exact in the same transaction
    as every write to those three tables, and deletes cascade (migration 0011). Layouts:
    `prices` per DeliverableType in enum order (NULL where the rate card lists none); `age`
    and `gender` in the order of AGE_BUCKETS and GENDERS in shared/influencers/rules.py, in
    percent, 0 for a key the distribution lacks, the whole array NULL when the distribution
    is empty. The migration freezes these orders; tests check them."""

    __tablename__ = "account_features"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    influencer_id: Mapped[uuid.UUID]
    active: Mapped[bool]  # the influencer's status is active
    platform: Mapped[str] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(Text)
    followers: Mapped[int] = mapped_column(BigInteger)
    niches: Mapped[list[str]] = mapped_column(ARRAY(Text))  # the influencer's, as stored
    rate_currency: Mapped[str | None] = mapped_column(Text)
    prices: Mapped[list[int | None]] = mapped_column(ARRAY(BigInteger))  # minor units
    price_min: Mapped[int | None] = mapped_column(BigInteger)  # the cheapest listed price
    age: Mapped[list[float] | None] = mapped_column(ARRAY(Double))
    gender: Mapped[list[float] | None] = mapped_column(ARRAY(Double))
    countries: Mapped[dict[str, float] | None] = mapped_column(JSONB)  # NULL when empty
    languages: Mapped[dict[str, float] | None] = mapped_column(JSONB)  # NULL when empty
    engagement_rate: Mapped[float | None] = mapped_column(Double)
    authenticity_score: Mapped[int | None] = mapped_column(SmallInteger)
    # The signals' share, else the account's own sponsored_share_bps / 10000.
    sponsored_share: Mapped[float | None] = mapped_column(Double)


class AccountSignalMark(BrandOwned, Base):
    """A staleness mark of one account's signals: one row per write that changed its
    inputs, naming the post whose snapshots or comments changed (its latest-metrics and
    sentiment columns are folded in by the same recompute), or no post (a follower reading,
    a manual link)."""

    __tablename__ = "account_signal_marks"
    __table_args__ = (Index("ix_account_signal_marks_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE")
    )
    post_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EngagementBenchmark(BrandOwned, Base):
    """Median engagement rate per platform x tier of one brand's roster (refreshed by the
    worker); used instead of the public defaults once a cell holds >= 20 accounts."""

    __tablename__ = "engagement_benchmarks"
    __table_args__ = (
        CheckConstraint(check_in("platform", Platform), name="platform"),
        CheckConstraint(check_in("tier", Tier), name="tier"),
        UniqueConstraint("brand_id", "platform", "tier", name="uq_engagement_benchmarks_cell"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    platform: Mapped[str] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(Text)
    accounts: Mapped[int] = mapped_column(Integer)
    median_rate: Mapped[float] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
