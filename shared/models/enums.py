"""Closed vocabularies shared by models, schemas and services. Stored as text with CHECK
constraints (cheap to extend in a migration, unlike PostgreSQL enum types)."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    X = "x"
    FACEBOOK = "facebook"
    TWITCH = "twitch"
    SNAPCHAT = "snapchat"
    BLOG = "blog"


class Tier(StrEnum):
    """Derived from followers, never typed in: see `TIER_SQL`."""

    NANO = "nano"  # < 10k
    MICRO = "micro"  # 10k - 100k
    MACRO = "macro"  # 100k - 1M
    MEGA = "mega"  # 1M - 10M
    CELEBRITY = "celebrity"  # >= 10M


TIER_SQL = (
    "CASE WHEN followers < 10000 THEN 'nano' WHEN followers < 100000 THEN 'micro' "
    "WHEN followers < 1000000 THEN 'macro' WHEN followers < 10000000 THEN 'mega' "
    "ELSE 'celebrity' END"
)


def tier_for(followers: int) -> Tier:
    if followers < 10_000:
        return Tier.NANO
    if followers < 100_000:
        return Tier.MICRO
    if followers < 1_000_000:
        return Tier.MACRO
    if followers < 10_000_000:
        return Tier.MEGA
    return Tier.CELEBRITY


class InfluencerStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class DeliverableType(StrEnum):
    POST = "post"
    STORY = "story"
    REEL = "reel"
    SHORT = "short"
    VIDEO = "video"
    REVIEW = "review"
    LIVE = "live"
    BLOG = "blog"


class CampaignGoal(StrEnum):
    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    ENGAGEMENT = "engagement"
    TRAFFIC = "traffic"
    SALES = "sales"
    CONTENT = "content"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class KpiMetric(StrEnum):
    REACH = "reach"
    IMPRESSIONS = "impressions"
    ENGAGEMENTS = "engagements"
    ENGAGEMENT_RATE = "engagement_rate"
    CLICKS = "clicks"
    UNIQUE_CLICKS = "unique_clicks"
    ORDERS = "orders"
    REVENUE = "revenue"
    CONVERSION_RATE = "conversion_rate"
    NEW_FOLLOWERS = "new_followers"
    CPA = "cpa"
    ROAS = "roas"


class CostCategory(StrEnum):
    INFLUENCER_FEE = "influencer_fee"
    AGENCY_FEE = "agency_fee"
    CONTENT_PRODUCTION = "content_production"
    USAGE_RIGHTS = "usage_rights"
    GIFTED_PRODUCT = "gifted_product"
    ADS = "ads"
    OTHER = "other"


class CollaborationStatus(StrEnum):
    PROSPECT = "prospect"
    CONTACTED = "contacted"
    NEGOTIATING = "negotiating"
    CONTRACTED = "contracted"
    ACTIVE = "active"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class DeliverableStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    PUBLISHED = "published"
    MISSED = "missed"


class UsageScope(StrEnum):
    ORGANIC = "organic"
    PAID_ADS = "paid_ads"
    WHITELISTING = "whitelisting"


class LinkStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class DeviceClass(StrEnum):
    MOBILE = "mobile"
    DESKTOP = "desktop"
    TABLET = "tablet"
    BOT = "bot"


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL CHECK expression: `column IN ('a', 'b', ...)`."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"
