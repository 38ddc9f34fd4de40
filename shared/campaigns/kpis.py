"""KPI targets: what a campaign aims for, by when. Progress is computed by analytics; here
targets are stored and validated."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.repository import CampaignRepository, KpiTargetRepository
from shared.errors import Conflict, InvalidInput
from shared.models import Campaign, KpiTarget
from shared.models.enums import KpiMetric


class KpiUnit(StrEnum):
    COUNT = "count"  # whole number of things: reach, clicks, orders ...
    MINOR_UNITS = "minor_units"  # money in minor units of the campaign currency
    FRACTION = "fraction"  # a rate: 0 < x <= 1 (0.035 = 3.5 %)
    MULTIPLE = "multiple"  # revenue / cost: 3.5 = 3.5x


M = KpiMetric
UNITS: dict[KpiMetric, KpiUnit] = {
    M.REACH: KpiUnit.COUNT,
    M.IMPRESSIONS: KpiUnit.COUNT,
    M.ENGAGEMENTS: KpiUnit.COUNT,
    M.ENGAGEMENT_RATE: KpiUnit.FRACTION,
    M.CLICKS: KpiUnit.COUNT,
    M.UNIQUE_CLICKS: KpiUnit.COUNT,
    M.ORDERS: KpiUnit.COUNT,
    M.REVENUE: KpiUnit.MINOR_UNITS,
    M.CONVERSION_RATE: KpiUnit.FRACTION,
    M.NEW_FOLLOWERS: KpiUnit.COUNT,
    M.CPA: KpiUnit.MINOR_UNITS,
    M.ROAS: KpiUnit.MULTIPLE,
}


def unit_of(metric: str) -> KpiUnit:
    return UNITS[KpiMetric(metric)]


class KpiTargetExists(Conflict):
    code = "kpi_target_exists"
    title = "KPI target exists"


def validate_target_value(metric: str, value: Decimal) -> Decimal:
    loc: list[str | int] = ["body", "target_value"]
    if value <= 0:
        raise InvalidInput(loc, "target_value must be greater than 0.")
    unit = unit_of(metric)
    if unit is KpiUnit.FRACTION and value > 1:
        raise InvalidInput(
            loc, f"{metric} is a fraction: 0 < target_value <= 1 (0.035 means 3.5 %)."
        )
    if unit in (KpiUnit.COUNT, KpiUnit.MINOR_UNITS) and value != value.to_integral_value():
        what = "a whole number" if unit is KpiUnit.COUNT else "whole minor units (cents)"
        raise InvalidInput(loc, f"{metric} target_value must be {what}.")
    return value


def validate_deadline(campaign: Campaign, deadline: date) -> date:
    if campaign.starts_on is not None and deadline < campaign.starts_on:
        raise InvalidInput(
            ["body", "deadline"],
            f"deadline {deadline} is before the campaign starts ({campaign.starts_on}).",
        )
    if campaign.ends_on is not None and deadline > campaign.ends_on:
        raise InvalidInput(
            ["body", "deadline"],
            f"deadline {deadline} is after the campaign ends ({campaign.ends_on}).",
        )
    return deadline


def _exists(metric: str, deadline: date) -> KpiTargetExists:
    return KpiTargetExists(
        f"The campaign already has a {metric} target due {deadline}; update that one.",
        errors=[{"loc": ["body", "metric"], "msg": "duplicate (metric, deadline)"}],
        metric=metric,
        deadline=deadline.isoformat(),
    )


async def create_kpi(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    metric: str,
    target_value: Decimal,
    deadline: date,
) -> KpiTarget:
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    validate_target_value(metric, target_value)
    validate_deadline(campaign, deadline)
    kpi = await KpiTargetRepository(session, brand_id).insert(
        {
            "campaign_id": campaign.id,
            "metric": metric,
            "target_value": target_value,
            "deadline": deadline,
        }
    )
    if kpi is None:
        raise _exists(metric, deadline)
    return kpi


async def update_kpi(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    kpi_id: uuid.UUID,
    changes: dict[str, Any],
) -> KpiTarget:
    for field, value in changes.items():
        if value is None:
            raise InvalidInput(["body", field], f"{field} may not be null.")
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    kpi = await KpiTargetRepository(session, brand_id).get_in_campaign_or_404(
        campaign.id, kpi_id, for_update=True
    )
    metric = changes.get("metric", kpi.metric)
    value = changes.get("target_value", kpi.target_value)
    deadline = changes.get("deadline", kpi.deadline)
    validate_target_value(metric, Decimal(value))
    if "deadline" in changes:
        validate_deadline(campaign, deadline)
    kpi.metric, kpi.target_value, kpi.deadline = metric, value, deadline
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "uq_kpi_targets_metric" not in str(exc.orig):
            raise
        raise _exists(metric, deadline) from exc
    await session.refresh(kpi)
    return kpi


async def delete_kpi(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID, kpi_id: uuid.UUID
) -> None:
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    kpi = await KpiTargetRepository(session, brand_id).get_in_campaign_or_404(campaign.id, kpi_id)
    await session.delete(kpi)
    await session.flush()
