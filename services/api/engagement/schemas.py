from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from services.api.schemas import RequestModel, ResponseModel
from shared.models import AccountSignals as AccountSignalsRow
from shared.models import SocialAccount


class Metrics(ResponseModel):
    captured_at: datetime | None = Field(description="Newest snapshot's capture time.")
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    views: int | None
    impressions: int | None
    reach: int | None


class CommentSentiment(ResponseModel):
    positive: int
    neutral: int
    negative: int
    unscored: int = Field(description="Comments in a language the scorer cannot read.")
    positive_share: float | None = Field(description="Of the scored comments (0..1).")
    neutral_share: float | None
    negative_share: float | None

    @classmethod
    def of(cls, positive: int, neutral: int, negative: int, unscored: int) -> CommentSentiment:
        scored = positive + neutral + negative
        return cls(
            positive=positive,
            neutral=neutral,
            negative=negative,
            unscored=unscored,
            positive_share=round(positive / scored, 4) if scored else None,
            neutral_share=round(neutral / scored, 4) if scored else None,
            negative_share=round(negative / scored, 4) if scored else None,
        )


class Post(ResponseModel):
    id: uuid.UUID
    platform: str
    handle: str | None
    account_external_id: str | None
    external_post_id: str
    post_url: str | None
    posted_at: datetime | None
    content_type: str
    caption: str | None
    language: str | None
    paid_partnership: bool
    disclosed: bool = Field(description="Ad disclosure hashtag or paid-partnership label.")
    sponsored: bool
    account_id: uuid.UUID | None = Field(description="Matched roster account (null: unmatched).")
    deliverable_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    matched_by: dict[str, str] = Field(
        description="How each link was made: account handle|deliverable|manual, deliverable "
        "external_post_id|post_url|manual, campaign hashtag|deliverable|manual."
    )
    integration_id: uuid.UUID | None
    metrics: Metrics
    sentiment: CommentSentiment
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> Post:
        data = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        data["metrics"] = Metrics(
            captured_at=row.metrics_captured_at,
            likes=row.likes,
            comments=row.comments,
            shares=row.shares,
            saves=row.saves,
            views=row.views,
            impressions=row.impressions,
            reach=row.reach,
        )
        data["sentiment"] = CommentSentiment.of(
            row.comments_positive,
            row.comments_neutral,
            row.comments_negative,
            row.comments_unscored,
        )
        return cls(**data)


class PostLink(RequestModel):
    """Link a post by hand. Send only what changes; `null` unlinks."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"deliverable_id": "0193a3e2-5b7c-7d5e-9a41-2c1f0e9b7a10"},
                {"account_id": "0193a3e2-5b7c-7d5e-9a41-2c1f0e9b7a11", "campaign_id": None},
            ]
        }
    )

    deliverable_id: uuid.UUID | None = Field(
        None, description="Brings its campaign and, if unambiguous, the influencer's account."
    )
    account_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None


class Benchmark(ResponseModel):
    rate: float | None = Field(description="Median engagement rate of the cell (fraction).")
    source: str | None = Field(description="roster (>= 20 accounts) or default (public).")


class AuthenticityReason(ResponseModel):
    code: str = Field(
        examples=["low_engagement"],
        description="low_engagement | follower_jump_without_posts | comment_like_ratio | "
        "repeated_generic_comments | sponsored_saturation",
    )
    message: str
    value: float
    threshold: float
    penalty: int


class Authenticity(ResponseModel):
    score: int | None = Field(description="0-100; null before any post was analysed.")
    reasons: list[AuthenticityReason]


class AccountSignals(ResponseModel):
    account_id: uuid.UUID
    influencer_id: uuid.UUID
    platform: str
    handle: str
    followers: int
    tier: str
    engagement_rate: float | None = Field(
        description="Mean of (likes+comments+shares+saves)/followers at the time over the "
        "last 12 posts or 90 days (fraction: 0.039 = 3.9%)."
    )
    engagement_rate_views: float | None = Field(
        description="Video-first posts: mean engagements/views (fraction)."
    )
    sample_size: int
    views_sample_size: int
    benchmark: Benchmark
    engagement_vs_benchmark: float | None
    authenticity: Authenticity
    sponsored_share: float | None = Field(description="Share of sample posts sponsored.")
    sentiment: CommentSentiment
    details: dict[str, Any]
    computed_at: datetime | None
    stale: bool = Field(description="New data arrived since the last recompute.")

    @classmethod
    def of(
        cls, account: SocialAccount, s: AccountSignalsRow | None, *, stale: bool
    ) -> AccountSignals:
        rate = s.engagement_rate if s else None
        bench = s.benchmark_rate if s else None
        return cls(
            account_id=account.id,
            influencer_id=account.influencer_id,
            platform=account.platform,
            handle=account.handle,
            followers=account.followers,
            tier=account.tier,
            engagement_rate=rate,
            engagement_rate_views=s.engagement_rate_views if s else None,
            sample_size=s.sample_size if s else 0,
            views_sample_size=s.views_sample_size if s else 0,
            benchmark=Benchmark(rate=bench, source=s.benchmark_source if s else None),
            engagement_vs_benchmark=round(rate / bench, 4) if rate is not None and bench else None,
            authenticity=Authenticity(
                score=s.authenticity_score if s else None,
                reasons=[AuthenticityReason(**r) for r in (s.authenticity_reasons if s else [])],
            ),
            sponsored_share=s.sponsored_share if s else None,
            sentiment=CommentSentiment.of(
                s.comments_positive if s else 0,
                s.comments_neutral if s else 0,
                s.comments_negative if s else 0,
                s.comments_unscored if s else 0,
            ),
            details=s.details if s else {},
            computed_at=s.computed_at if s else None,
            stale=stale or s is None or s.computed_at is None,
        )


class InstagramSettings(RequestModel):
    """Instagram Graph webhooks for an engagement integration."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "app_secret": "3f1c0e2b9a...",
                    "verify_token": "vouch-verify-7f3a",
                    "accounts": {"17841400000000001": "jane.runs"},
                }
            ]
        }
    )

    app_secret: str | None = Field(
        None, min_length=8, max_length=200, description="The Meta app secret (write-only)."
    )
    verify_token: str | None = Field(None, min_length=8, max_length=200)
    accounts: dict[str, str] | None = Field(
        None, max_length=1000, description="Instagram user id -> roster handle."
    )


class InstagramSettingsOut(ResponseModel):
    integration_id: uuid.UUID
    callback_url: str
    verify_token: str | None
    app_secret_set: bool
    accounts: dict[str, str]


class DiscoveredAccount(AccountSignals):
    influencer_name: str
    audience_age: dict[str, float]
    audience_gender: dict[str, float]
    audience_countries: dict[str, float]
