"""Outbound webhooks: the brand's subscriber endpoints, their deliveries and attempt log, and
the outbox events they carry (listing and re-sending)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from services.api.webhook_endpoints import schemas
from shared.db.pagination import paginate
from shared.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from shared.outbound import service
from shared.outbound.repository import (
    EventRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
)
from shared.outbound.service import DeliveryStatus, EndpointStatus

router = APIRouter(
    prefix="/v1", tags=["outbound webhooks"], responses=problem_responses(401, 403, 422)
)


@router.post(
    "/webhook-endpoints",
    response_model=schemas.WebhookEndpointWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types (the signing secret is returned once)",
    responses=problem_responses(400, 413),
)
async def create_endpoint(
    body: schemas.WebhookEndpointCreate, principal: Writer, session: SessionDep, state: StateDep
) -> WebhookEndpoint:
    return await service.create_endpoint(
        session,
        principal.brand_id,
        url=body.url,
        event_types=[t.value for t in body.event_types],
        description=body.description,
        allow_private=state.settings.env != "production",
    )


@router.get(
    "/webhook-endpoints",
    response_model=PageOut[schemas.WebhookEndpoint],
    summary="List webhook endpoints (oldest first)",
)
async def list_endpoints(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[EndpointStatus | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    repo = WebhookEndpointRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.filtered(status=status_.value if status_ else None),
        keys=[WebhookEndpoint.created_at, WebhookEndpoint.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=schemas.WebhookEndpoint,
    summary="Get a webhook endpoint",
    responses=problem_responses(404),
)
async def get_endpoint(
    endpoint_id: uuid.UUID, principal: Reader, session: SessionDep
) -> WebhookEndpoint:
    return await WebhookEndpointRepository(session, principal.brand_id).get_or_404(endpoint_id)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=schemas.WebhookEndpoint,
    summary="Change an endpoint's URL, event types or description",
    responses=problem_responses(400, 404, 413),
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: schemas.WebhookEndpointUpdate,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> WebhookEndpoint:
    changes = body.model_dump(exclude_unset=True)
    if body.event_types is not None:
        changes["event_types"] = [t.value for t in body.event_types]
    return await service.update_endpoint(
        session,
        principal.brand_id,
        endpoint_id,
        changes,
        allow_private=state.settings.env != "production",
    )


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an endpoint with its deliveries and attempt log",
    responses=problem_responses(404),
)
async def delete_endpoint(
    endpoint_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await service.delete_endpoint(session, principal.brand_id, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=schemas.WebhookEndpointWithSecret,
    summary="Issue a new signing secret (the old one keeps signing during the grace period)",
    description="During the grace period every request carries two signatures in "
    "`webhook-signature` (`v1,<new> v1,<old>`), so the receiver can switch secrets at its own "
    "pace; Standard Webhooks verifiers accept a message when any signature matches.",
    responses=problem_responses(400, 404, 413),
)
async def rotate_secret(
    endpoint_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
    body: schemas.RotateSecret | None = None,
) -> WebhookEndpoint:
    hours = (
        body.grace_hours
        if body is not None and body.grace_hours is not None
        else state.settings.outbound_secret_grace_hours
    )
    return await service.rotate_secret(
        session, principal.brand_id, endpoint_id, grace=timedelta(hours=hours)
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    response_model=schemas.WebhookEndpoint,
    summary="Re-enable a disabled endpoint (its pending deliveries resume)",
    responses=problem_responses(404, 409),
)
async def enable_endpoint(
    endpoint_id: uuid.UUID, principal: Writer, session: SessionDep
) -> WebhookEndpoint:
    return await service.set_endpoint_status(
        session, principal.brand_id, endpoint_id, EndpointStatus.ACTIVE
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/disable",
    response_model=schemas.WebhookEndpoint,
    summary="Pause deliveries to an endpoint (they are kept and resume on enable)",
    responses=problem_responses(404, 409),
)
async def disable_endpoint(
    endpoint_id: uuid.UUID, principal: Writer, session: SessionDep
) -> WebhookEndpoint:
    return await service.set_endpoint_status(
        session, principal.brand_id, endpoint_id, EndpointStatus.DISABLED
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=PageOut[schemas.WebhookDelivery],
    summary="An endpoint's deliveries (newest first)",
    responses=problem_responses(404),
)
async def list_endpoint_deliveries(
    endpoint_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    await WebhookEndpointRepository(session, principal.brand_id).get_or_404(endpoint_id)
    repo = WebhookDeliveryRepository(session, principal.brand_id)
    stmt = repo.filtered(endpoint_id=endpoint_id, status=status_.value if status_ else None)
    result = await paginate(
        session,
        stmt,
        keys=[WebhookDelivery.created_at, WebhookDelivery.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    return page_out(result)


@router.get(
    "/webhook-deliveries/{delivery_id}",
    response_model=schemas.WebhookDelivery,
    summary="Get a delivery",
    responses=problem_responses(404),
)
async def get_delivery(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> WebhookDelivery:
    return await WebhookDeliveryRepository(session, principal.brand_id).get_or_404(delivery_id)


@router.get(
    "/webhook-deliveries/{delivery_id}/attempts",
    response_model=PageOut[schemas.WebhookDeliveryAttempt],
    summary="Every HTTP attempt of a delivery (oldest first)",
    responses=problem_responses(404),
)
async def list_attempts(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    repo = WebhookDeliveryRepository(session, principal.brand_id)
    await repo.get_or_404(delivery_id)
    result = await paginate(
        session,
        repo.attempts(delivery_id),
        keys=[WebhookDeliveryAttempt.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.get(
    "/events",
    response_model=PageOut[schemas.Event],
    summary="The brand's outbound events (oldest first; page forward to follow new ones)",
)
async def list_events(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    type_: Annotated[str | None, Query(alias="type", max_length=100)] = None,
) -> dict[str, Any]:
    repo = EventRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.filtered(type_=type_),
        keys=[OutboxEvent.created_at, OutboxEvent.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.get(
    "/events/{event_id}",
    response_model=schemas.Event,
    summary="Get an event",
    responses=problem_responses(404),
)
async def get_event(event_id: uuid.UUID, principal: Reader, session: SessionDep) -> OutboxEvent:
    return await EventRepository(session, principal.brand_id).get_or_404(event_id)


@router.get(
    "/events/{event_id}/deliveries",
    response_model=PageOut[schemas.WebhookDelivery],
    summary="An event's deliveries, one per endpoint",
    responses=problem_responses(404),
)
async def list_event_deliveries(
    event_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    await EventRepository(session, principal.brand_id).get_or_404(event_id)
    repo = WebhookDeliveryRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.filtered(event_id=event_id),
        keys=[WebhookDelivery.created_at, WebhookDelivery.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)


@router.post(
    "/events/{event_id}/resend",
    response_model=list[schemas.WebhookDelivery],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send an event again (to one endpoint, or every subscribed active endpoint)",
    description="Each targeted delivery starts a new round of attempts, under the same "
    "`webhook-id` (the event id), so a receiver that already processed it can recognise it.",
    responses=problem_responses(400, 404, 409, 413),
)
async def resend_event(
    event_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: schemas.Resend | None = None,
) -> list[WebhookDelivery]:
    return await service.resend_event(
        session,
        principal.brand_id,
        event_id,
        endpoint_id=body.endpoint_id if body is not None else None,
    )
