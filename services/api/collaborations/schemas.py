from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from services.api.brands.schemas import Currency
from services.api.schemas import RequestModel, ResponseModel
from shared.models import ContractTerms
from shared.models.enums import (
    CollaborationStatus,
    DeliverableStatus,
    DeliverableType,
    Platform,
    UsageScope,
)

Money = Annotated[int, Field(ge=0, le=10**15, description="Minor units (cents) of `currency`.")]
Note = Annotated[str, Field(max_length=10_000)]
Url = Annotated[HttpUrl, Field(max_length=2048)]

_CAMPAIGN = "0193a5c4-7a1e-7c3e-9d51-2f0b8e6a4c11"
_INFLUENCER = "0193a5c4-8b2f-7d4f-8e62-3a1c9f7b5d22"


# --- collaborations ---------------------------------------------------------------------


class FeedbackIn(RequestModel):
    what_worked: str | None = Field(None, max_length=5000, examples=["Fast replies, clear brief"])
    to_improve: str | None = Field(None, max_length=5000, examples=["Ship samples earlier"])


class Feedback(BaseModel):
    what_worked: str | None = None
    to_improve: str | None = None


class CollaborationCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campaign_id": _CAMPAIGN,
                    "influencer_id": _INFLUENCER,
                    "flat_fee_minor": 50000,
                    "gifted_value_minor": 8000,
                    "gifted_product": "Trail runner, size 42",
                    "commission_bps": 1000,
                    "outreach_notes": "Met at the Berlin meetup; prefers e-mail.",
                }
            ]
        }
    )

    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    currency: Currency | None = Field(
        None, description="Defaults to the campaign's currency; must equal it when given."
    )
    flat_fee_minor: Money | None = None
    gifted_value_minor: Money | None = None
    gifted_product: str | None = Field(None, max_length=500)
    commission_bps: int | None = Field(
        None, ge=0, le=10_000, description="Commission in basis points of the order subtotal."
    )
    commission_fixed_minor: Money | None = Field(None, description="Fixed amount per order.")
    outreach_notes: Note | None = None
    feedback: FeedbackIn | None = None


class CollaborationUpdate(RequestModel):
    """Only the fields sent change. Compensation changes only before `contracted`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "flat_fee_minor": 45000,
                    "feedback": {"what_worked": "Great hooks", "to_improve": "Post earlier"},
                }
            ]
        }
    )

    flat_fee_minor: Money | None = None
    gifted_value_minor: Money | None = None
    gifted_product: str | None = Field(None, max_length=500)
    commission_bps: int | None = Field(None, ge=0, le=10_000)
    commission_fixed_minor: Money | None = None
    outreach_notes: Note | None = None
    feedback: FeedbackIn | None = None


class Collaboration(ResponseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    status: CollaborationStatus
    currency: str = Field(examples=["EUR"])
    flat_fee_minor: int | None
    gifted_value_minor: int | None
    gifted_product: str | None
    commission_bps: int | None
    commission_fixed_minor: int | None
    outreach_notes: str | None
    feedback: Feedback
    status_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TransitionIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to": "contacted", "note": "DM sent on Instagram"},
                {"to": "contracted", "note": "Signed", "allow_over_budget": False},
            ]
        }
    )

    to: CollaborationStatus
    note: str | None = Field(None, max_length=2000)
    allow_over_budget: bool = Field(
        False, description="Moving to `contracted` past the campaign budget: commit anyway."
    )


class TimelineEntry(ResponseModel):
    id: int
    kind: str = Field(description="created, status_changed or terms_version.")
    from_status: str | None
    to_status: str | None
    actor_key_id: uuid.UUID | None = Field(description="The API key that made the change.")
    note: str | None
    created_at: datetime


# --- contract terms -----------------------------------------------------------------------


class TermsDeliverableIn(RequestModel):
    type: DeliverableType
    platform: Platform
    count: int = Field(1, ge=1, le=100)
    due_dates: list[date] = Field(
        default_factory=list,
        max_length=100,
        description="At most `count` dates; the Nth piece is due by the end of the Nth date "
        "(brand time zone). Pieces beyond the list have no due date.",
    )
    brief: str | None = Field(None, max_length=5000)


class UsageRightsIn(RequestModel):
    scope: list[UsageScope] = Field(default_factory=list, max_length=3)
    territory: str | None = Field(None, max_length=200, examples=["EU"])
    starts_on: date | None = None
    ends_on: date | None = None


class TermsIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deliverables": [
                        {
                            "type": "reel",
                            "platform": "instagram",
                            "count": 2,
                            "due_dates": ["2026-12-01", "2026-12-15"],
                        },
                        {"type": "story", "platform": "instagram", "count": 3},
                    ],
                    "approval_required": True,
                    "usage_rights": {
                        "scope": ["organic", "paid_ads"],
                        "territory": "EU",
                        "starts_on": "2026-12-01",
                        "ends_on": "2027-05-31",
                    },
                    "exclusivity_days": 30,
                    "payment_terms": "50% on signature, 50% net 30 after publishing",
                    "signed_at": "2026-11-20T10:00:00Z",
                }
            ]
        }
    )

    deliverables: list[TermsDeliverableIn] = Field(default_factory=list, max_length=50)
    approval_required: bool = True
    usage_rights: UsageRightsIn | None = None
    exclusivity_days: int | None = Field(None, ge=0, le=3650)
    payment_terms: str | None = Field(None, max_length=5000)
    signed_at: AwareDatetime | None = None


class TermsDeliverable(BaseModel):
    type: DeliverableType
    platform: Platform
    count: int
    due_dates: list[date]
    brief: str | None = None


class UsageRights(BaseModel):
    scope: list[UsageScope]
    territory: str | None
    starts_on: date | None
    ends_on: date | None


class Terms(ResponseModel):
    id: uuid.UUID
    collaboration_id: uuid.UUID
    version: int
    deliverables: list[TermsDeliverable]
    approval_required: bool
    usage_rights: UsageRights
    exclusivity_days: int | None
    payment_terms: str | None
    signed_at: datetime | None
    frozen_at: datetime | None = Field(
        description="Set when the collaboration was contracted (or at creation for an "
        "amendment to a contract in force); a frozen version never changes."
    )
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if isinstance(data, ContractTerms):
            return {
                "id": data.id,
                "collaboration_id": data.collaboration_id,
                "version": data.version,
                "deliverables": data.deliverables,
                "approval_required": data.approval_required,
                "usage_rights": {
                    "scope": data.usage_scope,
                    "territory": data.usage_territory,
                    "starts_on": data.usage_starts_on,
                    "ends_on": data.usage_ends_on,
                },
                "exclusivity_days": data.exclusivity_days,
                "payment_terms": data.payment_terms,
                "signed_at": data.signed_at,
                "frozen_at": data.frozen_at,
                "created_at": data.created_at,
            }
        return data


# --- deliverables -------------------------------------------------------------------------


class DeliverableCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "story",
                    "platform": "instagram",
                    "due_at": "2026-12-20T18:00:00Z",
                    "brief": "Unboxing, tag @brand, link sticker",
                }
            ]
        }
    )

    type: DeliverableType
    platform: Platform
    due_at: AwareDatetime | None = None
    brief: str | None = Field(None, max_length=5000)


class DeliverableUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"due_at": "2026-12-22T18:00:00Z"}]})

    due_at: AwareDatetime | None = None
    brief: str | None = Field(None, max_length=5000)


class Deliverable(ResponseModel):
    id: uuid.UUID
    collaboration_id: uuid.UUID
    type: DeliverableType
    platform: Platform
    due_at: datetime | None
    brief: str | None
    status: DeliverableStatus
    draft_url: str | None
    draft_caption: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    post_url: str | None
    external_post_id: str | None
    published_at: datetime | None
    missed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliverableFilter(StrEnum):
    """A deliverable status, or `overdue`: due in the past and neither published nor missed
    (collaborations contracted or active only)."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    PUBLISHED = "published"
    MISSED = "missed"
    OVERDUE = "overdue"


class SubmitIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "draft_url": "https://drive.example.com/drafts/reel-1.mp4",
                    "caption": "Trail season is here #ad #vouchsummer",
                }
            ]
        }
    )

    draft_url: Url | None = None
    caption: str | None = Field(None, max_length=5000)
    comment: str | None = Field(None, max_length=5000)


class ReviewIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "request_changes", "comment": "Show the logo in the first 3 s"},
                {"decision": "approve", "comment": "Perfect"},
            ]
        }
    )

    decision: Literal["approve", "request_changes"]
    comment: str | None = Field(
        None, max_length=5000, description="Required when requesting changes."
    )


class PublishIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post_url": "https://www.instagram.com/p/C0ffee123/",
                    "published_at": "2026-12-01T17:30:00Z",
                    "external_post_id": "3245789012345678901",
                }
            ]
        }
    )

    post_url: Url
    published_at: AwareDatetime | None = Field(None, description="Default: now.")
    external_post_id: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=5000)


class Review(ResponseModel):
    id: int
    deliverable_id: uuid.UUID
    action: str = Field(examples=["changes_requested"])
    comment: str | None
    draft_url: str | None
    actor_key_id: uuid.UUID | None
    created_at: datetime


class ExpiringUsageRights(BaseModel):
    terms_id: uuid.UUID
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    version: int
    scope: list[UsageScope]
    territory: str | None
    starts_on: date | None
    ends_on: date
    days_left: int = Field(description="Days from today (UTC) to ends_on; 0 = ends today.")
    notified_at: datetime | None = Field(
        description="When the usage_rights.expiring event was recorded (null: not yet)."
    )
