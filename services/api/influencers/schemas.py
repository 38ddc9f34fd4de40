from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_serializer, field_validator

from services.api.schemas import RequestModel, ResponseModel
from shared.influencers.rules import (
    AgeDistribution,
    City,
    CountryCode,
    CountryDistribution,
    CurrencyCode,
    Email,
    Followers,
    GenderDistribution,
    Handle,
    LanguageDistribution,
    Languages,
    Name,
    Niches,
    Notes,
    PostsPerWeek,
    ProfileUrl,
    RateCard,
    SponsoredShareBps,
)
from shared.influencers.service import InfluencerView
from shared.models.enums import InfluencerStatus, Platform, Tier

_ACCOUNT_EXAMPLE: dict[str, Any] = {
    "platform": "instagram",
    "handle": "@Jane.Runs",
    "profile_url": "https://instagram.com/jane.runs",
    "followers": 48200,
    "posts_per_week": 4.5,
    "sponsored_share_bps": 1200,
    "audience_age": {"18-24": 41, "25-34": 37, "35-44": 14},
    "audience_gender": {"female": 68, "male": 30, "other": 2},
    "audience_countries": {"DE": 61, "AT": 14, "CH": 9},
    "audience_languages": {"de": 82, "en": 18},
}


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("May be omitted but not null.")
    return value


# -------------------------------------------------------------------- accounts
class AccountCreate(RequestModel):
    """A social account. `tier` is derived from `followers` and cannot be sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ACCOUNT_EXAMPLE]})

    platform: Platform
    handle: Handle
    profile_url: ProfileUrl | None = None
    followers: Followers = 0
    posts_per_week: PostsPerWeek | None = None
    sponsored_share_bps: SponsoredShareBps | None = None
    audience_age: AgeDistribution = Field(default_factory=dict)
    audience_gender: GenderDistribution = Field(default_factory=dict)
    audience_countries: CountryDistribution = Field(default_factory=dict)
    audience_languages: LanguageDistribution = Field(default_factory=dict)


class AccountUpdate(RequestModel):
    """Fields to change; a distribution sent replaces the stored one. A follower change is
    recorded in the follower history."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"followers": 51000, "audience_gender": {"female": 70}}]}
    )

    platform: Platform | None = None
    handle: Handle | None = None
    profile_url: ProfileUrl | None = None
    followers: Followers | None = None
    posts_per_week: PostsPerWeek | None = None
    sponsored_share_bps: SponsoredShareBps | None = None
    audience_age: AgeDistribution | None = None
    audience_gender: GenderDistribution | None = None
    audience_countries: CountryDistribution | None = None
    audience_languages: LanguageDistribution | None = None

    _required = field_validator(
        "platform",
        "handle",
        "followers",
        "audience_age",
        "audience_gender",
        "audience_countries",
        "audience_languages",
    )(_not_null)


class Account(ResponseModel):
    id: uuid.UUID
    influencer_id: uuid.UUID
    platform: Platform
    handle: str = Field(examples=["jane.runs"])
    profile_url: str | None
    followers: int = Field(examples=[48200])
    tier: Tier = Field(
        description="Derived from followers: nano < 10k <= micro < 100k <= macro < 1M "
        "<= mega < 10M <= celebrity.",
        examples=["micro"],
    )
    posts_per_week: Decimal | None = Field(examples=[4.5])
    sponsored_share_bps: int | None
    audience_age: dict[str, float]
    audience_gender: dict[str, float]
    audience_countries: dict[str, float]
    audience_languages: dict[str, float]
    created_at: datetime
    updated_at: datetime

    @field_serializer("posts_per_week")
    def _number(self, value: Decimal | None) -> float | None:
        return None if value is None else float(value)


class FollowerPoint(ResponseModel):
    followers: int
    captured_at: datetime


# ------------------------------------------------------------------ influencers
class InfluencerCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jane Runner",
                    "email": "jane@example.com",
                    "country": "DE",
                    "city": "Berlin",
                    "languages": ["de", "en"],
                    "niches": ["running", "nutrition"],
                    "rate_card": {"reel": 45000, "story": 15000},
                    "rate_currency": "EUR",
                    "accounts": [_ACCOUNT_EXAMPLE],
                }
            ]
        }
    )

    name: Name
    email: Email | None = None
    country: CountryCode | None = None
    city: City | None = None
    languages: Languages = Field(default_factory=list)
    niches: Niches = Field(default_factory=list)
    notes: Notes | None = None
    status: InfluencerStatus = InfluencerStatus.ACTIVE
    rate_card: RateCard = Field(default_factory=dict)
    rate_currency: CurrencyCode | None = None
    accounts: list[AccountCreate] = Field(
        default_factory=list, max_length=20, description="Accounts to create with it."
    )


class InfluencerUpdate(RequestModel):
    """Fields to change. `status: archived` is how an influencer with collaborations leaves
    the active roster (it cannot be deleted)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "archived"}, {"niches": ["trail running"]}]}
    )

    name: Name | None = None
    email: Email | None = None
    country: CountryCode | None = None
    city: City | None = None
    languages: Languages | None = None
    niches: Niches | None = None
    notes: Notes | None = None
    status: InfluencerStatus | None = None
    rate_card: RateCard | None = None
    rate_currency: CurrencyCode | None = None

    _required = field_validator("name", "languages", "niches", "status", "rate_card")(_not_null)


class Influencer(ResponseModel):
    id: uuid.UUID
    name: str
    email: str | None
    country: str | None
    city: str | None
    languages: list[str]
    niches: list[str]
    notes: str | None
    status: InfluencerStatus
    rate_card: dict[str, int] = Field(examples=[{"reel": 45000}])
    rate_currency: str | None
    max_followers: int = Field(
        description="The largest follower count across its accounts (the `followers` sort key)."
    )
    accounts: list[Account]
    collaborations_count: int = Field(description="Collaborations in any status.")
    first_collaboration_at: datetime | None
    last_collaboration_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: InfluencerView) -> Influencer:
        i = view.influencer
        return cls(
            id=i.id,
            name=i.name,
            email=i.email,
            country=i.country,
            city=i.city,
            languages=list(i.languages),
            niches=list(i.niches),
            notes=i.notes,
            status=InfluencerStatus(i.status),
            rate_card=dict(i.rate_card),
            rate_currency=i.rate_currency,
            max_followers=i.max_followers,
            accounts=[Account.model_validate(a) for a in view.accounts],
            collaborations_count=view.facts.count,
            first_collaboration_at=view.facts.first_at,
            last_collaboration_at=view.facts.last_at,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )


# ----------------------------------------------------------------------- import
class ImportFieldError(ResponseModel):
    field: str = Field(description="The CSV column (or `row`).", examples=["followers"])
    msg: str


class ImportRow(ResponseModel):
    row: int = Field(description="Line in the file; the header is row 1.", examples=[2])
    status: Literal["created", "updated", "rejected"] = Field(
        description="created: the row created its account (a row without account columns: "
        "its influencer); updated: it matched an existing one, changed or not; rejected: "
        "nothing of the row was written, `errors` says why."
    )
    influencer_id: uuid.UUID | None
    account_id: uuid.UUID | None
    errors: list[ImportFieldError]


class ImportReport(ResponseModel):
    created: int
    updated: int
    rejected: int
    rows: list[ImportRow]
