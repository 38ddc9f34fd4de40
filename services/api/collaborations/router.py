"""Collaborations (campaign x influencer): CRUD, pipeline transitions, timeline, contract terms
and the collaboration's deliverables."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.api.collaborations import schemas
from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from shared.collaborations import deliverables as deliverable_service
from shared.collaborations import service
from shared.collaborations.repository import (
    CollaborationRepository,
    ContractTermsRepository,
    DeliverableRepository,
    TermsNotFound,
)
from shared.db.pagination import paginate
from shared.models import Collaboration, CollaborationEvent, ContractTerms, Deliverable
from shared.models.enums import CollaborationStatus

router = APIRouter(
    prefix="/v1", tags=["collaborations"], responses=problem_responses(401, 403, 422)
)


@router.post(
    "/collaborations",
    response_model=schemas.Collaboration,
    status_code=status.HTTP_201_CREATED,
    summary="Pair an influencer with a campaign (status: prospect)",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_collaboration(
    body: schemas.CollaborationCreate, principal: Writer, session: SessionDep
) -> Collaboration:
    data = body.model_dump(exclude={"feedback"})
    feedback = body.feedback.model_dump() if body.feedback else None
    return await service.create_collaboration(
        session, principal.brand_id, actor_key_id=principal.key_id, feedback=feedback, **data
    )


@router.get(
    "/collaborations",
    response_model=PageOut[schemas.Collaboration],
    summary="List collaborations (newest last)",
)
async def list_collaborations(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    campaign_id: uuid.UUID | None = None,
    influencer_id: uuid.UUID | None = None,
    status_: Annotated[CollaborationStatus | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    repo = CollaborationRepository(session, principal.brand_id)
    stmt = repo.filtered(
        campaign_id=campaign_id,
        influencer_id=influencer_id,
        status=status_.value if status_ else None,
    )
    result = await paginate(
        session,
        stmt,
        keys=[Collaboration.created_at, Collaboration.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.get(
    "/collaborations/{collaboration_id}",
    response_model=schemas.Collaboration,
    summary="Get a collaboration",
    responses=problem_responses(404),
)
async def get_collaboration(
    collaboration_id: uuid.UUID, principal: Reader, session: SessionDep
) -> Collaboration:
    return await CollaborationRepository(session, principal.brand_id).get_or_404(collaboration_id)


@router.patch(
    "/collaborations/{collaboration_id}",
    response_model=schemas.Collaboration,
    summary="Update compensation (before contracting), outreach notes or feedback",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_collaboration(
    collaboration_id: uuid.UUID,
    body: schemas.CollaborationUpdate,
    principal: Writer,
    session: SessionDep,
) -> Collaboration:
    changes = body.model_dump(exclude_unset=True)
    if "feedback" in changes and body.feedback is not None:
        changes["feedback"] = body.feedback.model_dump()
    return await service.update_collaboration(
        session, principal.brand_id, collaboration_id, changes
    )


@router.delete(
    "/collaborations/{collaboration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a collaboration that was never contracted",
    responses=problem_responses(404, 409),
)
async def delete_collaboration(
    collaboration_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await service.delete_collaboration(session, principal.brand_id, collaboration_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/collaborations/{collaboration_id}/transitions",
    response_model=schemas.Collaboration,
    summary="Move the collaboration along its pipeline",
    description=(
        "prospect -> contacted -> negotiating -> contracted -> active -> completed; `declined` "
        "from prospect, contacted or negotiating; `cancelled` from any non-terminal status. "
        "Moving to `contracted` requires terms (409 `terms_required`), freezes them, creates "
        "the deliverables they list and commits flat fee + gifted value against the campaign "
        "budget (409 `budget_exceeded` unless `allow_over_budget`). An illegal move is 409 "
        "`illegal_transition` with `current_status` and `requested_status`."
    ),
    responses=problem_responses(400, 404, 409, 413),
)
async def transition(
    collaboration_id: uuid.UUID,
    body: schemas.TransitionIn,
    principal: Writer,
    session: SessionDep,
) -> Collaboration:
    return await service.transition(
        session,
        principal.brand_id,
        collaboration_id,
        body.to.value,
        actor_key_id=principal.key_id,
        note=body.note,
        allow_over_budget=body.allow_over_budget,
    )


@router.get(
    "/collaborations/{collaboration_id}/timeline",
    response_model=PageOut[schemas.TimelineEntry],
    summary="The collaboration's timeline (oldest first)",
    responses=problem_responses(404),
)
async def timeline(
    collaboration_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    repo = CollaborationRepository(session, principal.brand_id)
    await repo.get_or_404(collaboration_id)
    result = await paginate(
        session,
        repo.timeline(collaboration_id),
        keys=[CollaborationEvent.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.put(
    "/collaborations/{collaboration_id}/terms",
    response_model=schemas.Terms,
    summary="Write the contract terms",
    description=(
        "Before the collaboration is contracted this creates or replaces the draft version. "
        "Once contracted the versions are frozen: a PUT creates the next version (an amendment "
        "in force at once) and the earlier ones are kept unchanged. 201 when a version was "
        "created, 200 when the draft was replaced."
    ),
    responses={
        **problem_responses(400, 404, 409, 413),
        201: {"model": schemas.Terms, "description": "A new version was created"},
    },
)
async def put_terms(
    collaboration_id: uuid.UUID,
    body: schemas.TermsIn,
    principal: Writer,
    session: SessionDep,
    response: Response,
) -> ContractTerms:
    usage = body.usage_rights or schemas.UsageRightsIn()
    terms_in = service.TermsInput(
        deliverables=[d.model_dump() for d in body.deliverables],
        approval_required=body.approval_required,
        usage_scope=[s.value for s in usage.scope],
        usage_territory=usage.territory,
        usage_starts_on=usage.starts_on,
        usage_ends_on=usage.ends_on,
        exclusivity_days=body.exclusivity_days,
        payment_terms=body.payment_terms,
        signed_at=body.signed_at,
    )
    terms, created = await service.put_terms(
        session, principal.brand_id, collaboration_id, terms_in, actor_key_id=principal.key_id
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return terms


@router.get(
    "/collaborations/{collaboration_id}/terms",
    response_model=schemas.Terms,
    summary="The current (latest) terms version",
    responses=problem_responses(404),
)
async def get_terms(
    collaboration_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ContractTerms:
    await CollaborationRepository(session, principal.brand_id).get_or_404(collaboration_id)
    terms = await ContractTermsRepository(session, principal.brand_id).latest(collaboration_id)
    if terms is None:
        raise TermsNotFound(detail=f"Collaboration {collaboration_id} has no contract terms yet.")
    return terms


@router.get(
    "/collaborations/{collaboration_id}/terms/versions",
    response_model=PageOut[schemas.Terms],
    summary="Every terms version, oldest first",
    responses=problem_responses(404),
)
async def list_terms_versions(
    collaboration_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    await CollaborationRepository(session, principal.brand_id).get_or_404(collaboration_id)
    repo = ContractTermsRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.versions(collaboration_id),
        keys=[ContractTerms.version],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.get(
    "/collaborations/{collaboration_id}/deliverables",
    response_model=PageOut[schemas.Deliverable],
    summary="The collaboration's deliverables",
    responses=problem_responses(404),
)
async def list_collaboration_deliverables(
    collaboration_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    await CollaborationRepository(session, principal.brand_id).get_or_404(collaboration_id)
    stmt = DeliverableRepository(session, principal.brand_id).filtered(
        collaboration_id=collaboration_id
    )
    result = await paginate(
        session, stmt, keys=[Deliverable.id], limit=page.limit, cursor=page.cursor
    )
    return page_out(result)


@router.post(
    "/collaborations/{collaboration_id}/deliverables",
    response_model=schemas.Deliverable,
    status_code=status.HTTP_201_CREATED,
    summary="Add a deliverable beyond the contract's list (contracted or active only)",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_deliverable(
    collaboration_id: uuid.UUID,
    body: schemas.DeliverableCreate,
    principal: Writer,
    session: SessionDep,
) -> Deliverable:
    return await deliverable_service.create_deliverable(
        session,
        principal.brand_id,
        collaboration_id,
        type_=body.type.value,
        platform=body.platform.value,
        due_at=body.due_at,
        brief=body.brief,
    )
