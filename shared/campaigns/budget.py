"""The campaign budget view and the over-budget guard.

committed = fees of collaborations that are contracted, active or completed (flat fee +
            gifted product value) + every cost line
spent     = cost lines marked paid (+ paid flat fees, once payouts exist)
remaining = budget - committed

Cost lines are costs beyond a collaboration's own compensation (agency fee, production,
usage rights, ads, ...): a contracted flat fee is counted from the collaboration, so do not
also book it as an `influencer_fee` cost line. All amounts are minor units of the campaign's
currency; collaborations and cost lines in another currency are refused at write time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
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


async def budget_view(session: AsyncSession, campaign: Campaign) -> BudgetView:
    fees = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(
                        func.coalesce(Collaboration.flat_fee_minor, 0)
                        + func.coalesce(Collaboration.gifted_value_minor, 0)
                    ),
                    0,
                )
            ).where(
                Collaboration.campaign_id == campaign.id,
                Collaboration.status.in_(COMMITTED_STATUSES),
            )
        )
    ).scalar_one()
    costs, paid = (
        await session.execute(
            select(
                func.coalesce(func.sum(CostLine.amount_minor), 0),
                func.coalesce(
                    func.sum(CostLine.amount_minor).filter(CostLine.paid_at.is_not(None)), 0
                ),
            ).where(CostLine.campaign_id == campaign.id)
        )
    ).one()
    committed = int(fees) + int(costs)
    remaining = None if campaign.budget_minor is None else campaign.budget_minor - committed
    return BudgetView(
        currency=campaign.currency,
        budget_minor=campaign.budget_minor,
        committed_minor=committed,
        spent_minor=int(paid),
        remaining_minor=remaining,
    )


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
        )
    return view
