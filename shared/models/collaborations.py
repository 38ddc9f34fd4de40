"""Collaborations (campaign x influencer), their timeline, contract terms and deliverables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import (
    CollaborationStatus,
    DeliverableStatus,
    DeliverableType,
    Platform,
    check_in,
)


class Collaboration(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "collaborations"
    __table_args__ = (
        CheckConstraint(check_in("status", CollaborationStatus), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "coalesce(flat_fee_minor, 0) >= 0 AND coalesce(gifted_value_minor, 0) >= 0 "
            "AND coalesce(commission_fixed_minor, 0) >= 0",
            name="money_nonnegative",
        ),
        CheckConstraint(
            "commission_bps IS NULL OR commission_bps BETWEEN 0 AND 10000",
            name="commission_bps_range",
        ),
        UniqueConstraint("campaign_id", "influencer_id", name="uq_collaborations_pair"),
        Index("ix_collaborations_brand_created", "brand_id", "created_at", "id"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    influencer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("influencers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(Text, server_default=CollaborationStatus.PROSPECT.value)
    # Compensation; any mix. Money in minor units of `currency`.
    currency: Mapped[str] = mapped_column(String(3))
    flat_fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    gifted_value_minor: Mapped[int | None] = mapped_column(BigInteger)
    gifted_product: Mapped[str | None] = mapped_column(Text)
    commission_bps: Mapped[int | None]  # of the order subtotal after discounts
    commission_fixed_minor: Mapped[int | None] = mapped_column(BigInteger)  # per order
    # Flat fee marked due for payout (payouts issue).
    flat_fee_due_at: Mapped[datetime | None]
    outreach_notes: Mapped[str | None] = mapped_column(Text)
    # The influencer's feedback on working with the brand: {"what_worked", "to_improve"}.
    feedback: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    status_changed_at: Mapped[datetime | None]


class CollaborationEvent(BrandOwned, Base):
    """The pipeline timeline: one row per status transition (and other notable changes)."""

    __tablename__ = "collaboration_events"
    __table_args__ = (Index("ix_collaboration_events_collab", "collaboration_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text, server_default="status_changed")
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ContractTerms(UUIDPk, BrandOwned, Base):
    """A version of a collaboration's contract. Versions are kept; once the collaboration is
    contracted the current version is frozen and a change creates the next version."""

    __tablename__ = "contract_terms"
    __table_args__ = (
        UniqueConstraint("collaboration_id", "version", name="uq_contract_terms_version"),
        CheckConstraint("exclusivity_days IS NULL OR exclusivity_days >= 0", name="exclusivity"),
        CheckConstraint(
            "usage_ends_on IS NULL OR usage_starts_on IS NULL OR usage_ends_on >= usage_starts_on",
            name="usage_dates_ordered",
        ),
        Index("ix_contract_terms_usage_ends", "brand_id", "usage_ends_on"),
    )

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    # [{"type": "reel", "platform": "instagram", "count": 2, "due_dates": ["2026-12-01", ...]}]
    deliverables: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    approval_required: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    usage_scope: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    usage_territory: Mapped[str | None] = mapped_column(Text)
    usage_starts_on: Mapped[date | None]
    usage_ends_on: Mapped[date | None]
    exclusivity_days: Mapped[int | None]
    payment_terms: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None]
    frozen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Set once usage_rights.expiring has been recorded for this version (no double events).
    expiry_notified_at: Mapped[datetime | None]


class Deliverable(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "deliverables"
    __table_args__ = (
        CheckConstraint(check_in("type", DeliverableType), name="type"),
        CheckConstraint(check_in("platform", Platform), name="platform"),
        CheckConstraint(check_in("status", DeliverableStatus), name="status"),
        Index("ix_deliverables_brand_due", "brand_id", "status", "due_at"),
        Index("ix_deliverables_post_url", "brand_id", "post_url"),
    )

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    brief: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=DeliverableStatus.PENDING.value)
    draft_url: Mapped[str | None] = mapped_column(Text)
    draft_caption: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    post_url: Mapped[str | None] = mapped_column(Text)
    external_post_id: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    # Engagement issue: set when the published post lacks an ad disclosure.
    disclosure_missing: Mapped[bool | None]


class DeliverableReview(BrandOwned, Base):
    """Every submission and review decision, with its comment: the approval history."""

    __tablename__ = "deliverable_reviews"
    __table_args__ = (
        CheckConstraint(
            "action IN ('submitted', 'changes_requested', 'approved', 'published', 'missed')",
            name="action",
        ),
        Index("ix_deliverable_reviews_deliverable", "deliverable_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    deliverable_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deliverables.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    draft_url: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
