"""Campaigns, their status machine, KPI targets, cost lines and budget view."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.api.campaigns import schemas
from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from shared.campaigns import costs, kpis, service
from shared.campaigns.budget import budget_view
from shared.campaigns.repository import (
    CampaignRepository,
    CostLineRepository,
    KpiTargetRepository,
)
from shared.db.pagination import paginate
from shared.models import Campaign, CostLine, KpiTarget
from shared.models.enums import CampaignGoal, CampaignStatus, CostCategory

router = APIRouter(prefix="/v1", tags=["campaigns"], responses=problem_responses(401, 403, 422))

TRANSITIONS_DOC = """
Moves the campaign along its status machine:

| from | to |
|---|---|
| draft | active, cancelled |
| active | paused, completed, cancelled |
| paused | active, completed, cancelled |
| completed, cancelled | (final) |

The move is one `UPDATE ... WHERE status IN (...)`: of two racing requests only one can
start from a given status; the other gets 409 `invalid_transition` with `current_status`
and `requested_status` (and `allowed_statuses`). Each change is recorded as a
`campaign.status_changed` event carrying the note and the API key that made it.
"""

BUDGET_DOC = """
All amounts are minor units of the campaign currency.

- **committed**: flat fees + gifted-product values of collaborations that are contracted,
  active or completed, plus every cost line;
- **spent**: cost lines marked paid;
- **remaining**: budget - committed (negative when over budget; null without a budget).

Booking a cost line (or a collaboration fee) beyond `remaining` answers 409
`budget_exceeded` unless the request says `allow_over_budget: true`.
"""


async def _one(session: SessionDep, brand_id: uuid.UUID, campaign: Campaign) -> schemas.Campaign:
    details = await service.load_details(session, brand_id, [campaign])
    return schemas.Campaign.of(details[0])


# -- campaigns -------------------------------------------------------------------------------


@router.get("/campaigns", response_model=PageOut[schemas.Campaign], summary="List campaigns")
async def list_campaigns(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    goal: CampaignGoal | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive match in the name.")
    ] = None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated; each item carries hashtags, KPI targets and budget."""
    repo = CampaignRepository(session, principal.brand_id)
    stmt = repo.filtered(status=status_, goal=goal, q=q)
    result = await paginate(
        session,
        stmt,
        keys=[Campaign.created_at, Campaign.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    details = await service.load_details(session, principal.brand_id, list(result.items))
    return {"items": [schemas.Campaign.of(d) for d in details], "next_cursor": result.next_cursor}


@router.post(
    "/campaigns",
    response_model=schemas.Campaign,
    status_code=status.HTTP_201_CREATED,
    summary="Create a campaign (as a draft)",
    responses=problem_responses(400, 409, 413),
)
async def create_campaign(
    body: schemas.CampaignCreate, principal: Writer, session: SessionDep
) -> schemas.Campaign:
    """409 `slug_taken` for an explicit slug the brand already uses (a generated slug gets a
    numeric suffix instead); 409 `hashtag_taken` names the hashtag and the campaign that
    owns it."""
    campaign = await service.create_campaign(
        session,
        principal.brand_id,
        name=body.name,
        goal=body.goal.value,
        slug=body.slug,
        brief=body.brief,
        assets=[a.model_dump(mode="json", exclude_none=True) for a in body.assets],
        hashtags=body.hashtags,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        budget_minor=body.budget_minor,
        currency=body.currency,
        target_audience=body.target_audience.model_dump(mode="json", exclude_defaults=True),
        attribution_window_days=body.attribution_window_days,
        commission_hold_days=body.commission_hold_days,
    )
    return await _one(session, principal.brand_id, campaign)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=schemas.Campaign,
    summary="Get a campaign",
    responses=problem_responses(404),
)
async def get_campaign(
    campaign_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.Campaign:
    details = await service.get_details(session, principal.brand_id, campaign_id)
    return schemas.Campaign.of(details)


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=schemas.Campaign,
    summary="Update a campaign",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_campaign(
    campaign_id: uuid.UUID, body: schemas.CampaignUpdate, principal: Writer, session: SessionDep
) -> schemas.Campaign:
    """Sent fields replace stored ones; `hashtags` and `target_audience` are replaced whole.
    `status` is not updatable here (see transitions). `currency` can change only while the
    campaign has no cost lines or collaborations (else 409 `currency_locked`)."""
    changes = body.model_dump(exclude_unset=True, exclude={"status"})
    if "assets" in body.model_fields_set and body.assets is not None:
        changes["assets"] = [a.model_dump(mode="json", exclude_none=True) for a in body.assets]
    if "target_audience" in body.model_fields_set and body.target_audience is not None:
        changes["target_audience"] = body.target_audience.model_dump(
            mode="json", exclude_defaults=True
        )
    if changes.get("goal") is not None:
        changes["goal"] = CampaignGoal(changes["goal"]).value
    campaign = await service.update_campaign(session, principal.brand_id, campaign_id, changes)
    return await _one(session, principal.brand_id, campaign)


@router.delete(
    "/campaigns/{campaign_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft campaign",
    responses=problem_responses(404, 409),
)
async def delete_campaign(
    campaign_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    """Only drafts can be deleted (409 `campaign_not_deletable` otherwise): a campaign that
    ran is cancelled or completed, so its history stays."""
    await service.delete_campaign(session, principal.brand_id, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/campaigns/{campaign_id}/transitions",
    response_model=schemas.Campaign,
    summary="Change a campaign's status",
    description=TRANSITIONS_DOC,
    responses=problem_responses(400, 404, 409),
)
async def transition_campaign(
    campaign_id: uuid.UUID, body: schemas.Transition, principal: Writer, session: SessionDep
) -> schemas.Campaign:
    campaign = await service.transition_campaign(
        session,
        principal.brand_id,
        campaign_id,
        body.to,
        note=body.note,
        actor_key_id=principal.key_id,
    )
    return await _one(session, principal.brand_id, campaign)


@router.get(
    "/campaigns/{campaign_id}/budget",
    response_model=schemas.Budget,
    summary="Budget view: budget, committed, spent, remaining",
    description=BUDGET_DOC,
    responses=problem_responses(404),
)
async def get_budget(
    campaign_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.Budget:
    campaign = await CampaignRepository(session, principal.brand_id).get_or_404(campaign_id)
    return schemas.Budget.of(await budget_view(session, campaign))


# -- KPI targets -----------------------------------------------------------------------------


@router.get(
    "/campaigns/{campaign_id}/kpis",
    response_model=PageOut[schemas.KpiTarget],
    summary="List a campaign's KPI targets",
    responses=problem_responses(404),
)
async def list_kpis(
    campaign_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    campaign = await CampaignRepository(session, principal.brand_id).get_or_404(campaign_id)
    stmt = KpiTargetRepository(session, principal.brand_id).for_campaign(campaign.id)
    result = await paginate(
        session, stmt, keys=[KpiTarget.id], limit=page.limit, cursor=page.cursor
    )
    return page_out(result)


@router.post(
    "/campaigns/{campaign_id}/kpis",
    response_model=schemas.KpiTarget,
    status_code=status.HTTP_201_CREATED,
    summary="Add a KPI target",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_kpi(
    campaign_id: uuid.UUID, body: schemas.KpiTargetCreate, principal: Writer, session: SessionDep
) -> KpiTarget:
    """422 when the value does not fit the metric (a rate above 1, a fractional count) or
    the deadline falls outside the campaign dates; 409 `kpi_target_exists` for a second
    target with the same metric and deadline."""
    return await kpis.create_kpi(
        session,
        principal.brand_id,
        campaign_id,
        metric=body.metric.value,
        target_value=body.target_value,
        deadline=body.deadline,
    )


@router.get(
    "/campaigns/{campaign_id}/kpis/{kpi_id}",
    response_model=schemas.KpiTarget,
    summary="Get a KPI target",
    responses=problem_responses(404),
)
async def get_kpi(
    campaign_id: uuid.UUID, kpi_id: uuid.UUID, principal: Reader, session: SessionDep
) -> KpiTarget:
    return await KpiTargetRepository(session, principal.brand_id).get_in_campaign_or_404(
        campaign_id, kpi_id
    )


@router.patch(
    "/campaigns/{campaign_id}/kpis/{kpi_id}",
    response_model=schemas.KpiTarget,
    summary="Update a KPI target",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_kpi(
    campaign_id: uuid.UUID,
    kpi_id: uuid.UUID,
    body: schemas.KpiTargetUpdate,
    principal: Writer,
    session: SessionDep,
) -> KpiTarget:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("metric") is not None:
        changes["metric"] = changes["metric"].value
    return await kpis.update_kpi(session, principal.brand_id, campaign_id, kpi_id, changes)


@router.delete(
    "/campaigns/{campaign_id}/kpis/{kpi_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a KPI target",
    responses=problem_responses(404),
)
async def delete_kpi(
    campaign_id: uuid.UUID, kpi_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await kpis.delete_kpi(session, principal.brand_id, campaign_id, kpi_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- cost lines ------------------------------------------------------------------------------


@router.get(
    "/campaigns/{campaign_id}/costs",
    response_model=PageOut[schemas.CostLine],
    summary="List a campaign's cost lines",
    responses=problem_responses(404),
)
async def list_costs(
    campaign_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    category: CostCategory | None = None,
    paid: Annotated[bool | None, Query(description="Only paid (true) or unpaid (false).")] = None,
    collaboration_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    campaign = await CampaignRepository(session, principal.brand_id).get_or_404(campaign_id)
    stmt = CostLineRepository(session, principal.brand_id).for_campaign(
        campaign.id, category=category, paid=paid, collaboration_id=collaboration_id
    )
    result = await paginate(session, stmt, keys=[CostLine.id], limit=page.limit, cursor=page.cursor)
    return page_out(result)


@router.post(
    "/campaigns/{campaign_id}/costs",
    response_model=schemas.CostLine,
    status_code=status.HTTP_201_CREATED,
    summary="Book a cost line",
    description=BUDGET_DOC,
    responses=problem_responses(400, 404, 409, 413),
)
async def create_cost(
    campaign_id: uuid.UUID, body: schemas.CostLineCreate, principal: Writer, session: SessionDep
) -> CostLine:
    return await costs.create_cost_line(
        session,
        principal.brand_id,
        campaign_id,
        category=body.category.value,
        amount_minor=body.amount_minor,
        currency=body.currency,
        collaboration_id=body.collaboration_id,
        note=body.note,
        incurred_on=body.incurred_on,
        paid_at=body.paid_at,
        allow_over_budget=body.allow_over_budget,
    )


@router.get(
    "/campaigns/{campaign_id}/costs/{cost_id}",
    response_model=schemas.CostLine,
    summary="Get a cost line",
    responses=problem_responses(404),
)
async def get_cost(
    campaign_id: uuid.UUID, cost_id: uuid.UUID, principal: Reader, session: SessionDep
) -> CostLine:
    return await CostLineRepository(session, principal.brand_id).get_in_campaign_or_404(
        campaign_id, cost_id
    )


@router.patch(
    "/campaigns/{campaign_id}/costs/{cost_id}",
    response_model=schemas.CostLine,
    summary="Update a cost line (or mark it paid)",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_cost(
    campaign_id: uuid.UUID,
    cost_id: uuid.UUID,
    body: schemas.CostLineUpdate,
    principal: Writer,
    session: SessionDep,
) -> CostLine:
    """Set `paid_at` to mark a line paid (null to unmark). Raising `amount_minor` runs the
    budget guard on the increase (409 `budget_exceeded` unless `allow_over_budget`)."""
    changes = body.model_dump(exclude_unset=True, exclude={"allow_over_budget"})
    if changes.get("category") is not None:
        changes["category"] = changes["category"].value
    return await costs.update_cost_line(
        session,
        principal.brand_id,
        campaign_id,
        cost_id,
        changes,
        allow_over_budget=body.allow_over_budget,
    )


@router.delete(
    "/campaigns/{campaign_id}/costs/{cost_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a cost line",
    responses=problem_responses(404),
)
async def delete_cost(
    campaign_id: uuid.UUID, cost_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await costs.delete_cost_line(session, principal.brand_id, campaign_id, cost_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
