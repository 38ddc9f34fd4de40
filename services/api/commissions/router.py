"""The commission ledger: append-only entries (earned, reversal, clawback, adjustment).

Entries are booked by the worker from order events; the brand adds manual adjustments.
Nothing here edits an entry: a correction is a new entry.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from services.api.commissions import schemas
from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from shared.commissions import service
from shared.commissions.repository import CommissionEntryRepository
from shared.db.pagination import paginate
from shared.models import CommissionEntry
from shared.models.commissions import EntryKind, EntryStatus

router = APIRouter(prefix="/v1", tags=["commissions"], responses=problem_responses(401, 403, 422))


@router.get(
    "/commissions", response_model=PageOut[schemas.CommissionEntry], summary="List ledger entries"
)
async def list_commissions(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    influencer_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    collaboration_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    status: EntryStatus | None = None,
    kind: EntryKind | None = None,
) -> dict[str, Any]:
    """Newest first."""
    stmt = CommissionEntryRepository(session, principal.brand_id).filtered(
        influencer_id=influencer_id,
        campaign_id=campaign_id,
        collaboration_id=collaboration_id,
        order_id=order_id,
        status=status.value if status else None,
        kind=kind.value if kind else None,
    )
    result = await paginate(
        session,
        stmt,
        keys=[CommissionEntry.created_at, CommissionEntry.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    return page_out(result)


@router.get(
    "/commissions/{entry_id}",
    response_model=schemas.CommissionEntry,
    summary="Get a ledger entry",
    responses=problem_responses(404),
)
async def get_commission(
    entry_id: uuid.UUID, principal: Reader, session: SessionDep
) -> CommissionEntry:
    return await CommissionEntryRepository(session, principal.brand_id).get_or_404(entry_id)


@router.post(
    "/commissions/adjustments",
    response_model=schemas.CommissionEntry,
    status_code=status.HTTP_201_CREATED,
    summary="Book a manual adjustment",
    responses={
        200: {"description": "A retry with the same idempotency key: the first adjustment"},
        **problem_responses(400, 404, 409, 413),
    },
)
async def create_adjustment(
    body: schemas.AdjustmentCreate, principal: Writer, session: SessionDep, response: Response
) -> CommissionEntry:
    """A signed correction with a reason, approved at once (the next payout takes it). An
    unknown or another brand's `collaboration_id` / `related_entry_id` is 404."""
    entry, created = await service.create_adjustment(
        session,
        principal.brand_id,
        collaboration_id=body.collaboration_id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        currency=body.currency,
        related_entry_id=body.related_entry_id,
        idempotency_key=body.idempotency_key,
        actor_key_id=principal.key_id,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return entry
