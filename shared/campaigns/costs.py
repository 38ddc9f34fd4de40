"""Cost lines: money a campaign spends beyond its collaborations' own fees, guarded by the
budget (see shared/campaigns/budget.py for committed / spent / remaining)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.budget import ensure_within_budget
from shared.campaigns.repository import (
    CampaignRepository,
    CollaborationNotFound,
    CostLineRepository,
)
from shared.errors import InvalidInput
from shared.models import Campaign, CostLine

NULLABLE_FIELDS = frozenset({"collaboration_id", "note", "incurred_on", "paid_at"})
UPDATABLE_FIELDS = NULLABLE_FIELDS | {"category", "amount_minor", "currency"}


def _check_currency(campaign: Campaign, currency: str | None) -> str:
    if currency is None:
        return campaign.currency
    if currency.upper() != campaign.currency:
        raise InvalidInput(
            ["body", "currency"],
            f"Cost lines are in the campaign currency {campaign.currency}, not {currency}.",
        )
    return campaign.currency


async def _check_collaboration(
    repo: CostLineRepository, campaign: Campaign, collaboration_id: uuid.UUID | None
) -> None:
    if collaboration_id is None:
        return
    if not await repo.collaboration_in_campaign(campaign.id, collaboration_id):
        raise CollaborationNotFound(
            f"No collaboration with id {collaboration_id} in this campaign.",
            errors=[{"loc": ["body", "collaboration_id"], "msg": "unknown collaboration"}],
        )


async def create_cost_line(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    category: str,
    amount_minor: int,
    currency: str | None = None,
    collaboration_id: uuid.UUID | None = None,
    note: str | None = None,
    incurred_on: date | None = None,
    paid_at: datetime | None = None,
    allow_over_budget: bool = False,
) -> CostLine:
    """Book a cost. Past the remaining budget it is a 409 `budget_exceeded` unless
    `allow_over_budget`; the check and the insert are serialised on the campaign row."""
    if amount_minor < 0:
        raise InvalidInput(["body", "amount_minor"], "amount_minor must be >= 0.")
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    currency = _check_currency(campaign, currency)
    repo = CostLineRepository(session, brand_id)
    await _check_collaboration(repo, campaign, collaboration_id)
    if amount_minor > 0:
        await ensure_within_budget(
            session, campaign.id, amount_minor, allow_over_budget=allow_over_budget
        )
    line = repo.add(
        CostLine(
            brand_id=brand_id,
            campaign_id=campaign.id,
            collaboration_id=collaboration_id,
            category=category,
            amount_minor=amount_minor,
            currency=currency,
            note=note,
            incurred_on=incurred_on,
            paid_at=paid_at,
        )
    )
    await session.flush()
    await session.refresh(line)
    return line


async def update_cost_line(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    cost_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    allow_over_budget: bool = False,
) -> CostLine:
    """Partial update. Raising the amount runs the budget guard on the increase only."""
    changes = dict(changes)
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(["body", field], f"{field} cannot be changed here.")
    for field, value in changes.items():
        if value is None and field not in NULLABLE_FIELDS:
            raise InvalidInput(["body", field], f"{field} may not be null.")
    if changes.get("amount_minor", 0) < 0:
        raise InvalidInput(["body", "amount_minor"], "amount_minor must be >= 0.")
    # Lock order: campaign, then cost line (as the budget guard does), so no deadlock.
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id, for_update=True)
    repo = CostLineRepository(session, brand_id)
    line = await repo.get_in_campaign_or_404(campaign.id, cost_id, for_update=True)
    if "currency" in changes:
        _check_currency(campaign, changes.pop("currency"))
    if changes.get("collaboration_id") is not None:
        await _check_collaboration(repo, campaign, changes["collaboration_id"])
    increase = changes.get("amount_minor", line.amount_minor) - line.amount_minor
    if increase > 0:
        await ensure_within_budget(
            session, campaign.id, increase, allow_over_budget=allow_over_budget
        )
    for field, value in changes.items():
        setattr(line, field, value)
    await session.flush()
    await session.refresh(line)
    return line


async def delete_cost_line(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID, cost_id: uuid.UUID
) -> None:
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id, for_update=True)
    line = await CostLineRepository(session, brand_id).get_in_campaign_or_404(
        campaign.id, cost_id, for_update=True
    )
    await session.delete(line)
    await session.flush()
