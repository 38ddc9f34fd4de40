"""Report response models (the shape of shared/analytics reports, documented for OpenAPI).

Money is integer minor units of the report's `currency` (derived money such as CPC is a
float in minor units); rates are fractions (0.035 = 3.5 %); ROI and ROAS are multiples. A
metric whose denominator is zero is null.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field

from services.api.schemas import ResponseModel


class Metrics(ResponseModel):
    reach: int = Field(description="Sum of the posts' reach (accounts reached per post).")
    impressions: int
    views: int
    likes: int
    comments: int
    shares: int
    saves: int
    engagements: int = Field(description="likes + comments + shares + saves")
    exposure_basis: Literal["impressions", "views"] = Field(
        description="Denominator of engagement rate and CTR: impressions, or views when the "
        "posts report no impressions."
    )
    engagement_rate: float | None = Field(description="engagements / exposure")
    clicks: int = Field(description="Human clicks (bots excluded).")
    unique_clicks: int
    bot_clicks: int
    ctr: float | None = Field(description="clicks / exposure")
    orders: int = Field(description="Orders placed and not cancelled, any currency.")
    conversion_rate: float | None = Field(description="orders / unique clicks")
    revenue_minor: int = Field(description="Gross: what customers paid.")
    refunds_minor: int
    net_revenue_minor: int = Field(description="revenue - refunds")
    aov_minor: float | None = Field(description="revenue / orders in the report currency")
    commissions_earned_minor: int
    commissions_reversed_minor: int
    commissions_minor: int = Field(description="earned - reversed")
    fees_minor: int = Field(description="Flat fees + gifted value of contracted collaborations.")
    cost_lines_minor: int
    total_cost_minor: int = Field(description="cost lines + fees + commissions")
    cpc_minor: float | None = Field(description="total cost / clicks")
    cpe_minor: float | None = Field(description="total cost / engagements")
    cpa_minor: float | None = Field(description="total cost / orders")
    roi: float | None = Field(description="(net revenue - total cost) / total cost")
    roas: float | None = Field(description="net revenue / total cost")
    new_followers: int = Field(
        description="Follower growth of the influencers' accounts while the campaign ran."
    )
    revenue_complete: bool = Field(
        description="False when orders in other currencies exist: they are counted as orders "
        "but their money (and commissions) is not (see other_currencies)."
    )
    costs_complete: bool = Field(
        description="False when fees or cost lines are in another currency: the total cost "
        "is then unknown and CPC, CPE, CPA, ROI and ROAS are null."
    )


class Sentiment(ResponseModel):
    positive: int
    neutral: int
    negative: int
    unscored: int = Field(description="Comments in a language the scorer cannot read.")
    scored: int
    positive_share: float | None
    negative_share: float | None
    net_sentiment: float | None = Field(description="(positive - negative) / scored, -1..1")


class KpiProgress(ResponseModel):
    id: uuid.UUID
    metric: str
    value: float | None = Field(description="The metric up to the deadline (or today).")
    target: float
    deadline: date
    direction: Literal["higher_is_better", "lower_is_better"]
    elapsed_share: float | None = Field(description="Share of the days to the deadline passed.")
    percent: float | None = Field(
        description="value / target x 100 (CPA: target / value x 100); 100 or more is met."
    )
    expected_to_date: float | None = Field(
        description="Cumulative metrics: where a straight-line pace to the target is today."
    )
    projected: float | None = Field(
        description="Cumulative metrics: the pace so far, at the deadline."
    )
    status: Literal["achieved", "on_track", "behind", "missed", "no_data"]


class DailyPoint(ResponseModel):
    day: date
    reach: int
    impressions: int
    views: int
    engagements: int
    clicks: int
    unique_clicks: int
    orders: int
    revenue_minor: int
    refunds_minor: int
    net_revenue_minor: int
    commissions_minor: int
    new_followers: int


class GroupRow(ResponseModel):
    key: str = Field(examples=["instagram"])
    metrics: Metrics
    sentiment: Sentiment


class InfluencerRow(ResponseModel):
    influencer_id: uuid.UUID | None
    name: str
    collaboration_id: uuid.UUID | None
    status: str | None
    platform: str | None = Field(description="Platform of the influencer's largest account.")
    tier: str | None
    deliverable_type: str | None = Field(description="The collaboration's most frequent one.")
    metrics: Metrics
    sentiment: Sentiment


class CampaignBreakdowns(ResponseModel):
    influencer: list[InfluencerRow]
    platform: list[GroupRow]
    tier: list[GroupRow]
    deliverable_type: list[GroupRow]


class OtherCurrency(ResponseModel):
    """Money in a currency other than the report's: never converted, never in the metrics."""

    currency: str
    orders: int
    revenue_minor: int
    refunds_minor: int
    commissions_minor: int
    costs_minor: int


class CampaignRef(ResponseModel):
    id: uuid.UUID
    name: str
    status: str
    goal: str
    starts_on: date | None
    ends_on: date | None
    currency: str


class CampaignReport(ResponseModel):
    campaign: CampaignRef
    currency: str = Field(examples=["EUR"])
    timezone: str = Field(examples=["Europe/Berlin"])
    as_of: date = Field(description="Today in the brand's time zone.")
    start: date
    end: date
    metrics: Metrics
    sentiment: Sentiment
    unallocated_cost_minor: int = Field(
        description="Cost lines not tied to a collaboration (in the totals, in no breakdown)."
    )
    other_currencies: list[OtherCurrency]
    kpis: list[KpiProgress]
    daily: list[DailyPoint]
    breakdowns: CampaignBreakdowns


class InfluencerRef(ResponseModel):
    id: uuid.UUID
    name: str
    status: str


class HistoryRow(ResponseModel):
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    campaign_status: str
    starts_on: date | None
    ends_on: date | None
    status: str
    deliverable_type: str
    metrics: Metrics
    sentiment: Sentiment
    change: dict[str, float | None] = Field(
        description="Relative change of key metrics since the previous collaboration "
        "(0.25 = +25 %)."
    )


class Relationship(ResponseModel):
    collaborations: int
    active_or_done: int = Field(description="Collaborations contracted, active or completed.")
    repeat: bool = Field(description="More than one contracted collaboration.")
    first_campaign_start: date | None
    trend: dict[str, Literal["improving", "declining", "flat"] | None] = Field(
        description="Direction of each key metric over successive collaborations."
    )


class InfluencerBreakdowns(ResponseModel):
    platform: list[GroupRow]
    tier: list[GroupRow]
    deliverable_type: list[GroupRow]


class InfluencerReport(ResponseModel):
    influencer: InfluencerRef
    currency: str
    timezone: str
    as_of: date
    start: date
    end: date
    metrics: Metrics
    sentiment: Sentiment
    other_currencies: list[OtherCurrency]
    daily: list[DailyPoint]
    relationship: Relationship
    history: list[HistoryRow]
    breakdowns: InfluencerBreakdowns


class Comparison(ResponseModel):
    value: float | None = Field(description="This campaign's value.")
    n: int = Field(description="Past campaigns with a value.")
    p25: float | None
    median: float | None
    p75: float | None
    percentile_rank: float | None = Field(
        description="Share of past campaigns below this value (ties count half), 0..1."
    )
    vs_median: Literal["better", "worse", "equal"] | None


class BenchmarkMetrics(ResponseModel):
    cpa_minor: Comparison
    roas: Comparison
    engagement_rate: Comparison
    conversion_rate: Comparison


class BenchmarkRow(ResponseModel):
    key: str
    campaigns: int = Field(description="Past campaigns with this platform / tier / type.")
    metrics: BenchmarkMetrics


class BenchmarkBreakdowns(ResponseModel):
    platform: list[BenchmarkRow]
    tier: list[BenchmarkRow]
    deliverable_type: list[BenchmarkRow]


class PeerRef(ResponseModel):
    id: uuid.UUID
    name: str
    status: str


class BenchmarkCampaign(ResponseModel):
    id: uuid.UUID
    name: str
    status: str


class Benchmarks(ResponseModel):
    currency: str
    as_of: date
    campaign: BenchmarkCampaign | None
    peers: list[PeerRef] = Field(description="The past campaigns compared against.")
    overall: BenchmarkMetrics
    breakdowns: BenchmarkBreakdowns
