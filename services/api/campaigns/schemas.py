from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    computed_field,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from services.api.brands.schemas import Currency
from services.api.schemas import RequestModel, ResponseModel
from shared.campaigns import audience
from shared.campaigns.budget import BudgetView
from shared.campaigns.kpis import KpiUnit, unit_of
from shared.campaigns.service import (
    CampaignDetails,
    allowed_targets,
    normalise_hashtag,
    normalise_slug,
)
from shared.models.enums import CampaignGoal, CampaignStatus, CostCategory, KpiMetric

MAX_MINOR = 10**15  # 10 trillion in major units: far beyond any campaign, far below bigint


# -- building blocks -------------------------------------------------------------------------


class AssetKind(StrEnum):
    LOGO = "logo"
    BANNER = "banner"
    GUIDELINES = "guidelines"
    OTHER = "other"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValueError("must be an absolute http(s) URL")
    return value


def _dedupe(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


HttpUrlStr = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
Slug = Annotated[
    str,
    Field(
        max_length=80,
        description="Lower-case a-z, 0-9 and hyphens; becomes `utm_campaign` on tracking links.",
        examples=["summer-drop-2026"],
    ),
    AfterValidator(normalise_slug),
]
Hashtag = Annotated[str, Field(max_length=101), AfterValidator(normalise_hashtag)]
Country = Annotated[str, Field(max_length=2), AfterValidator(audience.normalise_country)]
Language = Annotated[str, Field(max_length=2), AfterValidator(audience.normalise_language)]
Interest = Annotated[str, Field(max_length=100), AfterValidator(audience.normalise_interest)]
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR)]
# Numeric(20, 6) in the database; a JSON number in responses.
TargetValue = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=6),
    PlainSerializer(float, return_type=float, when_used="json"),
]


class Asset(RequestModel):
    """A brand asset shared with creators."""

    kind: AssetKind
    url: HttpUrlStr = Field(examples=["https://cdn.example.com/brand/logo.svg"])
    name: str | None = Field(None, max_length=200, examples=["Logo (SVG)"])


class TargetAudience(RequestModel):
    """Who the campaign is for. Every part is optional; lists are de-duplicated."""

    age_min: int | None = Field(None, ge=audience.AGE_MIN, le=audience.AGE_MAX, examples=[18])
    age_max: int | None = Field(None, ge=audience.AGE_MIN, le=audience.AGE_MAX, examples=[34])
    genders: Annotated[list[audience.Gender], AfterValidator(_dedupe)] = Field(
        default_factory=list, max_length=3
    )
    countries: Annotated[list[Country], AfterValidator(_dedupe)] = Field(
        default_factory=list,
        max_length=250,
        description="ISO 3166-1 alpha-2 codes (any case; stored upper case).",
        examples=[["DE", "AT", "CH"]],
    )
    languages: Annotated[list[Language], AfterValidator(_dedupe)] = Field(
        default_factory=list,
        max_length=184,
        description="ISO 639-1 codes (any case; stored lower case).",
        examples=[["de", "en"]],
    )
    interests: Annotated[list[Interest], AfterValidator(_dedupe)] = Field(
        default_factory=list,
        max_length=50,
        description="Free tags, compared case-insensitively.",
        examples=[["hiking", "outdoor gear"]],
    )

    @field_validator("age_max")
    @classmethod
    def _age_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        age_min = info.data.get("age_min")
        if value is not None and age_min is not None and value < age_min:
            raise ValueError(f"age_max ({value}) is below age_min ({age_min})")
        return value


_CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "name": "Summer Drop 2026",
    "goal": "sales",
    "brief": "Show the new trail runners on a real hike; mention the 15% code.",
    "assets": [
        {"kind": "logo", "url": "https://cdn.example.com/brand/logo.svg", "name": "Logo"},
        {"kind": "guidelines", "url": "https://example.com/brand-guidelines.pdf"},
    ],
    "hashtags": ["#VouchSummer", "trailready"],
    "starts_on": "2026-06-01",
    "ends_on": "2026-08-31",
    "budget_minor": 2500000,
    "currency": "EUR",
    "target_audience": {
        "age_min": 18,
        "age_max": 34,
        "genders": ["female", "male"],
        "countries": ["DE", "AT"],
        "languages": ["de"],
        "interests": ["hiking", "trail running"],
    },
    "attribution_window_days": 30,
    "commission_hold_days": 30,
}


# -- campaigns -------------------------------------------------------------------------------


class CampaignCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CAMPAIGN_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200)
    slug: Slug | None = Field(
        None, description="Unique per brand. Default: generated from the name (`summer-drop-2026`)."
    )
    goal: CampaignGoal
    brief: str | None = Field(None, max_length=20_000, description="Shared with creators.")
    assets: list[Asset] = Field(default_factory=list, max_length=50)
    hashtags: Annotated[list[Hashtag], AfterValidator(_dedupe)] = Field(
        default_factory=list,
        max_length=30,
        description="Tracking hashtags, with or without '#', any case; stored lower case "
        "without '#'. Unique per brand: a caption maps to at most one campaign.",
    )
    starts_on: date | None = None
    ends_on: date | None = Field(None, description="On or after starts_on.")
    budget_minor: Minor | None = Field(
        None, description="Budget in minor units of `currency`; null: no budget guard."
    )
    currency: Currency | None = Field(None, description="Default: the brand's default currency.")
    target_audience: TargetAudience = Field(default_factory=TargetAudience)
    attribution_window_days: int = Field(
        30, ge=1, le=365, description="How long after a click an order is credited."
    )
    commission_hold_days: int = Field(
        30, ge=0, le=365, description="Days a commission stays pending before approval."
    )


class CampaignUpdate(RequestModel):
    """Every field optional; sent fields replace the stored value (`hashtags` and
    `target_audience` as a whole). Status changes go through `POST .../transitions`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"budget_minor": 3000000, "hashtags": ["vouchsummer", "trailready26"]}]
        }
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    slug: Slug | None = None
    goal: CampaignGoal | None = None
    brief: str | None = Field(None, max_length=20_000)
    assets: list[Asset] | None = Field(None, max_length=50)
    hashtags: Annotated[list[Hashtag], AfterValidator(_dedupe)] | None = Field(None, max_length=30)
    starts_on: date | None = None
    ends_on: date | None = None
    budget_minor: Minor | None = None
    currency: Currency | None = Field(
        None, description="Only while the campaign has no cost lines or collaborations."
    )
    target_audience: TargetAudience | None = None
    attribution_window_days: int | None = Field(None, ge=1, le=365)
    commission_hold_days: int | None = Field(None, ge=0, le=365)
    # Not a settable field: named so the error says where status changes go.
    status: SkipJsonSchema[str | None] = Field(None, exclude=True)

    @field_validator("status")
    @classmethod
    def _status_not_patchable(cls, value: Any) -> None:
        raise ValueError(
            "status is not updatable: use POST /v1/campaigns/{campaign_id}/transitions"
        )


class Transition(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to": "active", "note": "Creators briefed, go live."}]}
    )

    to: CampaignStatus = Field(description="The status to move to.")
    note: str | None = Field(None, max_length=2000, description="Why (kept in the event).")


class Budget(ResponseModel):
    """All amounts in minor units of `currency`."""

    currency: str = Field(examples=["EUR"])
    budget_minor: int | None = Field(description="The campaign budget; null: none set.")
    committed_minor: int = Field(
        description="Flat fees + gifted-product values of contracted, active and completed "
        "collaborations, plus every cost line."
    )
    spent_minor: int = Field(description="Cost lines marked paid.")
    remaining_minor: int | None = Field(
        description="budget - committed; negative when over budget, null without a budget."
    )

    @classmethod
    def of(cls, view: BudgetView) -> Budget:
        return cls.model_validate(view)


class KpiTarget(ResponseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    metric: KpiMetric
    target_value: TargetValue
    deadline: date
    created_at: datetime
    updated_at: datetime

    @computed_field(  # type: ignore[prop-decorator]
        description="count, minor_units (campaign currency), fraction (0-1) or multiple."
    )
    @property
    def unit(self) -> KpiUnit:
        return unit_of(self.metric)


class Campaign(ResponseModel):
    id: uuid.UUID
    name: str
    slug: str
    goal: CampaignGoal
    brief: str | None
    assets: list[Asset]
    hashtags: list[str] = Field(examples=[["vouchsummer", "trailready"]])
    status: CampaignStatus
    allowed_transitions: list[CampaignStatus] = Field(
        description="Statuses `POST .../transitions` accepts from the current one."
    )
    status_changed_at: datetime | None
    starts_on: date | None
    ends_on: date | None
    budget_minor: int | None
    currency: str
    target_audience: TargetAudience
    attribution_window_days: int
    commission_hold_days: int
    kpis: list[KpiTarget]
    budget: Budget
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, details: CampaignDetails) -> Campaign:
        c = details.campaign
        return cls(
            id=c.id,
            name=c.name,
            slug=c.slug,
            goal=CampaignGoal(c.goal),
            brief=c.brief,
            assets=[Asset.model_validate(a) for a in c.assets],
            hashtags=details.hashtags,
            status=CampaignStatus(c.status),
            allowed_transitions=[CampaignStatus(s) for s in allowed_targets(c.status)],
            status_changed_at=c.status_changed_at,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            budget_minor=c.budget_minor,
            currency=c.currency,
            target_audience=TargetAudience.model_validate(c.target_audience),
            attribution_window_days=c.attribution_window_days,
            commission_hold_days=c.commission_hold_days,
            kpis=[KpiTarget.model_validate(k) for k in details.kpis],
            budget=Budget.of(details.budget),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


# -- KPI targets -----------------------------------------------------------------------------


class KpiTargetCreate(RequestModel):
    """`target_value` by metric: counts (reach, impressions, engagements, clicks,
    unique_clicks, orders, new_followers) are whole numbers; revenue and cpa are minor units
    of the campaign currency; engagement_rate and conversion_rate are fractions 0 < x <= 1;
    roas is a multiple (3.5 = 3.5x)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"metric": "engagement_rate", "target_value": 0.035, "deadline": "2026-07-31"},
                {"metric": "orders", "target_value": 400, "deadline": "2026-08-31"},
            ]
        }
    )

    metric: KpiMetric
    target_value: TargetValue
    deadline: date = Field(description="Within the campaign dates when those are set.")


class KpiTargetUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"target_value": 0.04}]})

    metric: KpiMetric | None = None
    target_value: TargetValue | None = None
    deadline: date | None = None


# -- cost lines ------------------------------------------------------------------------------


class CostLine(ResponseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    collaboration_id: uuid.UUID | None
    category: CostCategory
    amount_minor: int
    currency: str
    note: str | None
    incurred_on: date | None
    paid_at: datetime | None = Field(description="Set when paid: counts as spent.")
    created_at: datetime
    updated_at: datetime


class CostLineCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "content_production",
                    "amount_minor": 120000,
                    "currency": "EUR",
                    "note": "Photo shoot, day rate",
                    "incurred_on": "2026-06-12",
                },
                {"category": "ads", "amount_minor": 500000, "allow_over_budget": True},
            ]
        }
    )

    category: CostCategory
    amount_minor: Minor = Field(description="Minor units of the campaign currency.")
    currency: Currency | None = Field(
        None, description="Must equal the campaign currency (default)."
    )
    collaboration_id: uuid.UUID | None = Field(
        None, description="A collaboration of this campaign the cost belongs to."
    )
    note: str | None = Field(None, max_length=2000)
    incurred_on: date | None = None
    paid_at: AwareDatetime | None = Field(None, description="Mark paid (counts as spent).")
    allow_over_budget: bool = Field(
        False, description="Book it even when it exceeds the remaining budget."
    )


class CostLineUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"paid_at": "2026-06-30T10:00:00Z"}, {"amount_minor": 150000}]
        }
    )

    category: CostCategory | None = None
    amount_minor: Minor | None = None
    currency: Currency | None = None
    collaboration_id: uuid.UUID | None = None
    note: str | None = Field(None, max_length=2000)
    incurred_on: date | None = None
    paid_at: AwareDatetime | None = Field(None, description="Set to mark paid, null to unmark.")
    allow_over_budget: bool = Field(
        False, description="Allow an increase beyond the remaining budget."
    )
