"""Deliverables and content approval (submit, review, publish), and expiring usage rights."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from services.api.collaborations import schemas
from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from shared.collaborations import deliverables as service
from shared.collaborations.repository import DeliverableRepository
from shared.db.pagination import paginate
from shared.errors import InvalidInput
from shared.models import Collaboration, ContractTerms, Deliverable, DeliverableReview

router = APIRouter(prefix="/v1", tags=["deliverables"], responses=problem_responses(401, 403, 422))

# Clock skew allowed on a caller-supplied published_at.
_FUTURE_SLACK = timedelta(minutes=5)


@router.get(
    "/deliverables",
    response_model=PageOut[schemas.Deliverable],
    summary="List deliverables; `status=overdue` lists the late ones, most overdue first",
)
async def list_deliverables(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[schemas.DeliverableFilter | None, Query(alias="status")] = None,
    collaboration_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    overdue = status_ is schemas.DeliverableFilter.OVERDUE
    stmt = DeliverableRepository(session, principal.brand_id).filtered(
        collaboration_id=collaboration_id,
        campaign_id=campaign_id,
        status=None if status_ is None or overdue else status_.value,
        overdue=overdue,
    )
    keys = [Deliverable.due_at, Deliverable.id] if overdue else [Deliverable.id]
    result = await paginate(session, stmt, keys=keys, limit=page.limit, cursor=page.cursor)
    return page_out(result)


@router.get(
    "/deliverables/{deliverable_id}",
    response_model=schemas.Deliverable,
    summary="Get a deliverable",
    responses=problem_responses(404),
)
async def get_deliverable(
    deliverable_id: uuid.UUID, principal: Reader, session: SessionDep
) -> Deliverable:
    return await DeliverableRepository(session, principal.brand_id).get_or_404(deliverable_id)


@router.patch(
    "/deliverables/{deliverable_id}",
    response_model=schemas.Deliverable,
    summary="Move the due date or edit the brief (until published or missed)",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_deliverable(
    deliverable_id: uuid.UUID,
    body: schemas.DeliverableUpdate,
    principal: Writer,
    session: SessionDep,
) -> Deliverable:
    return await service.update_deliverable(
        session, principal.brand_id, deliverable_id, body.model_dump(exclude_unset=True)
    )


@router.get(
    "/deliverables/{deliverable_id}/reviews",
    response_model=PageOut[schemas.Review],
    summary="The approval history: submissions, decisions with their comments, publication",
    responses=problem_responses(404),
)
async def list_reviews(
    deliverable_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    repo = DeliverableRepository(session, principal.brand_id)
    await repo.get_or_404(deliverable_id)
    result = await paginate(
        session,
        repo.reviews(deliverable_id),
        keys=[DeliverableReview.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.post(
    "/deliverables/{deliverable_id}/submit",
    response_model=schemas.Deliverable,
    summary="Submit a draft (pending or changes_requested -> submitted)",
    responses=problem_responses(400, 404, 409, 413),
)
async def submit(
    deliverable_id: uuid.UUID, body: schemas.SubmitIn, principal: Writer, session: SessionDep
) -> Deliverable:
    return await service.submit(
        session,
        principal.brand_id,
        deliverable_id,
        actor_key_id=principal.key_id,
        draft_url=str(body.draft_url) if body.draft_url else None,
        caption=body.caption,
        comment=body.comment,
    )


@router.post(
    "/deliverables/{deliverable_id}/review",
    response_model=schemas.Deliverable,
    summary="Approve a submitted draft or request changes",
    responses=problem_responses(400, 404, 409, 413),
)
async def review(
    deliverable_id: uuid.UUID, body: schemas.ReviewIn, principal: Writer, session: SessionDep
) -> Deliverable:
    if body.decision == "request_changes" and not body.comment:
        raise InvalidInput(["body", "comment"], "Say what should change.")
    return await service.review(
        session,
        principal.brand_id,
        deliverable_id,
        actor_key_id=principal.key_id,
        decision=body.decision,
        comment=body.comment,
    )


@router.post(
    "/deliverables/{deliverable_id}/publish",
    response_model=schemas.Deliverable,
    summary="Record the published post (approved -> published)",
    description=(
        "From `approved`; or straight from `pending` or `submitted` when the contract in force "
        "says `approval_required: false`."
    ),
    responses=problem_responses(400, 404, 409, 413),
)
async def publish(
    deliverable_id: uuid.UUID, body: schemas.PublishIn, principal: Writer, session: SessionDep
) -> Deliverable:
    if body.published_at is not None and body.published_at > datetime.now(UTC) + _FUTURE_SLACK:
        raise InvalidInput(["body", "published_at"], "published_at is in the future.")
    return await service.publish(
        session,
        principal.brand_id,
        deliverable_id,
        actor_key_id=principal.key_id,
        post_url=str(body.post_url),
        published_at=body.published_at,
        external_post_id=body.external_post_id,
        comment=body.comment,
    )


@router.get(
    "/usage-rights/expiring",
    response_model=PageOut[schemas.ExpiringUsageRights],
    tags=["usage-rights"],
    summary="Contracts in force whose usage rights end within `within_days` (today included)",
)
async def expiring_usage_rights(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    within_days: Annotated[int, Query(ge=0, le=365)] = service.USAGE_RIGHTS_NOTICE_DAYS,
) -> dict[str, Any]:
    today: date = (await session.execute(select(func.current_date()))).scalar_one()
    stmt = service.expiring_statement(principal.brand_id, today, within_days)
    result = await paginate(
        session, stmt, keys=[ContractTerms.id], limit=page.limit, cursor=page.cursor
    )
    terms: list[ContractTerms] = list(result.items)
    collabs = {
        c.id: c
        for c in (
            await session.execute(
                select(Collaboration).where(
                    Collaboration.id.in_([t.collaboration_id for t in terms])
                )
            )
        ).scalars()
    }
    items = []
    for t in terms:
        assert t.usage_ends_on is not None  # filtered on
        collab = collabs[t.collaboration_id]
        items.append(
            schemas.ExpiringUsageRights(
                terms_id=t.id,
                collaboration_id=t.collaboration_id,
                campaign_id=collab.campaign_id,
                influencer_id=collab.influencer_id,
                version=t.version,
                scope=t.usage_scope,
                territory=t.usage_territory,
                starts_on=t.usage_starts_on,
                ends_on=t.usage_ends_on,
                days_left=(t.usage_ends_on - today).days,
                notified_at=t.expiry_notified_at,
            )
        )
    return {"items": items, "next_cursor": result.next_cursor}
