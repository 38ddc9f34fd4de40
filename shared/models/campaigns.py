"""Campaigns, their tracking hashtags, KPI targets and cost lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.enums import CampaignGoal, CampaignStatus, CostCategory, KpiMetric, check_in


class Campaign(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(check_in("goal", CampaignGoal), name="goal"),
        CheckConstraint(check_in("status", CampaignStatus), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("budget_minor IS NULL OR budget_minor >= 0", name="budget_nonnegative"),
        CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates_ordered"
        ),
        CheckConstraint("attribution_window_days BETWEEN 1 AND 365", name="window_range"),
        CheckConstraint("commission_hold_days BETWEEN 0 AND 365", name="hold_range"),
        UniqueConstraint("brand_id", "slug", name="uq_campaigns_brand_slug"),
        Index("ix_campaigns_brand_created", "brand_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text)  # [a-z0-9-], used as utm_campaign
    goal: Mapped[str] = mapped_column(Text)
    brief: Mapped[str | None] = mapped_column(Text)
    # [{"kind": "logo"|"banner"|"guidelines"|"other", "url": "...", "name": "..."}]
    assets: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    status: Mapped[str] = mapped_column(Text, server_default=CampaignStatus.DRAFT.value)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # {"age_min", "age_max", "genders": [...], "countries": [...], "languages": [...],
    #  "interests": [...]}
    target_audience: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    attribution_window_days: Mapped[int] = mapped_column(server_default="30")
    commission_hold_days: Mapped[int] = mapped_column(server_default="30")
    # Attribution rules (orders issue); NULL means the documented defaults.
    attribution_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status_changed_at: Mapped[datetime | None]


class CampaignHashtag(UUIDPk, BrandOwned, Base):
    """A tracking hashtag; unique per brand so a caption maps to at most one campaign."""

    __tablename__ = "campaign_hashtags"
    __table_args__ = (
        CheckConstraint("tag ~ '^[a-z0-9_]+$'", name="tag_normalised"),
        UniqueConstraint("brand_id", "tag", name="uq_campaign_hashtags_brand_tag"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(Text)  # lower case, without '#'


class KpiTarget(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "kpi_targets"
    __table_args__ = (
        CheckConstraint(check_in("metric", KpiMetric), name="metric"),
        CheckConstraint("target_value > 0", name="target_positive"),
        UniqueConstraint("campaign_id", "metric", "deadline", name="uq_kpi_targets_metric"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str] = mapped_column(Text)
    # Counts as integers, money in minor units of the campaign currency, rates as fractions
    # (engagement_rate 0.035 = 3.5%), roas as a multiple.
    target_value: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    deadline: Mapped[date]


class CostLine(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "cost_lines"
    __table_args__ = (
        CheckConstraint(check_in("category", CostCategory), name="category"),
        CheckConstraint("amount_minor >= 0", name="amount_nonnegative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    collaboration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("collaborations.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    incurred_on: Mapped[date | None]
    paid_at: Mapped[datetime | None]  # set when paid: counts as "spent" in the budget view
