"""The campaign budget view and the over-budget guard.

committed = fees of collaborations that are contracted, active or completed (flat fee +
            gifted product value) + every cost line
spent     = cost lines marked paid (+ paid flat fees, once payouts exist)
remaining = budget - committed  (negative when over budget; null when there is no budget)

Cost lines are costs beyond a collaboration's own compensation (agency fee, production,
usage rights, ads, ...): a contracted flat fee is counted from the collaboration, so do not
also book it as an `influencer_fee` cost line. All amounts are minor units of the campaign's
currency; collaborations and cost lines in another currency are refused at write time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.models import Campaign, Collaboration, CostLine
from shared.models.enums import CollaborationStatus

COMMITTED_STATUSES = (
    CollaborationStatus.CONTRACTED.value,
    CollaborationStatus.ACTIVE.value,
    CollaborationStatus.COMPLETED.value,
)


class BudgetExceeded(Conflict):
    code = "budget_exceeded"
    title = "Budget exceeded"


@dataclass(frozen=True, slots=True)
class BudgetView:
    currency: str
    budget_minor: int | None
    committed_minor: int
    spent_minor: int
    remaining_minor: int | None


def _committed_fees(campaign_id: Any) -> ScalarSelect[Any]:
    return (
        select(
            func.coalesce(
                func.sum(
                    func.coalesce(Collaboration.flat_fee_minor, 0)
                    + func.coalesce(Collaboration.gifted_value_minor, 0)
                ),
                0,
            )
        )
        .where(
            Collaboration.campaign_id == campaign_id,
            Collaboration.status.in_(COMMITTED_STATUSES),
        )
        .scalar_subquery()
    )


def _cost_sum(campaign_id: Any, *, paid_only: bool) -> ScalarSelect[Any]:
    stmt = select(func.coalesce(func.sum(CostLine.amount_minor), 0)).where(
        CostLine.campaign_id == campaign_id
    )
    if paid_only:
        stmt = stmt.where(CostLine.paid_at.is_not(None))
    return stmt.scalar_subquery()


async def budget_views(
    session: AsyncSession, campaigns: Sequence[Campaign]
) -> dict[uuid.UUID, BudgetView]:
    """The budget view of each campaign, in one round trip (list pages use it)."""
    if not campaigns:
        return {}
    ids = [c.id for c in campaigns]
    stmt = select(
        Campaign.id,
        _committed_fees(Campaign.id),
        _cost_sum(Campaign.id, paid_only=False),
        _cost_sum(Campaign.id, paid_only=True),
    ).where(Campaign.id.in_(ids))
    sums = {row[0]: row[1:] for row in (await session.execute(stmt)).all()}
    views: dict[uuid.UUID, BudgetView] = {}
    for campaign in campaigns:
        fees, costs, paid = sums.get(campaign.id, (0, 0, 0))
        committed = int(fees) + int(costs)
        budget = campaign.budget_minor
        views[campaign.id] = BudgetView(
            currency=campaign.currency,
            budget_minor=budget,
            committed_minor=committed,
            spent_minor=int(paid),
            remaining_minor=None if budget is None else budget - committed,
        )
    return views


async def budget_view(session: AsyncSession, campaign: Campaign) -> BudgetView:
    return (await budget_views(session, [campaign]))[campaign.id]


async def ensure_within_budget(
    session: AsyncSession, campaign_id: object, additional_minor: int, *, allow_over_budget: bool
) -> BudgetView:
    """Call before committing `additional_minor` more to a campaign, in the same transaction.

    Locks the campaign row (FOR UPDATE) so two concurrent commitments cannot both pass the
    check on the same remaining amount. Raises BudgetExceeded (409 `budget_exceeded`) unless
    `allow_over_budget`.
    """
    campaign = (
        await session.execute(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    ).scalar_one()
    view = await budget_view(session, campaign)
    if (
        not allow_over_budget
        and view.remaining_minor is not None
        and additional_minor > view.remaining_minor
    ):
        raise BudgetExceeded(
            f"Committing {additional_minor} {view.currency} minor units exceeds the remaining "
            f"budget of {view.remaining_minor}; send allow_over_budget: true to commit anyway.",
            budget_minor=view.budget_minor,
            committed_minor=view.committed_minor,
            remaining_minor=view.remaining_minor,
            requested_minor=additional_minor,
            currency=view.currency,
        )
    return view
