"""The webhook inbox as the brand sees it: list (dead letters first of all), inspect, replay."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut
from services.api.webhook_events import schemas
from shared.db.pagination import paginate
from shared.models import WebhookEvent
from shared.webhooks import service
from shared.webhooks.repository import WebhookEventRepository
from shared.webhooks.status import EventStatus

router = APIRouter(
    prefix="/v1", tags=["webhook events"], responses=problem_responses(401, 403, 422)
)

_FIELDS = (
    "id",
    "integration_id",
    "source",
    "topic",
    "external_id",
    "attempts",
    "last_error",
    "received_at",
    "source_timestamp",
    "handled_at",
    "next_attempt_at",
)


def _out(event: WebhookEvent) -> schemas.WebhookEvent:
    return schemas.WebhookEvent(
        **{f: getattr(event, f) for f in _FIELDS},
        status=EventStatus(event.status),
        headers=service.public_headers(event.headers),
    )


def _detail(event: WebhookEvent, include_body: bool) -> schemas.WebhookEventDetail:
    out = schemas.WebhookEventDetail(**_out(event).model_dump())
    if include_body:
        try:
            out.body, out.body_encoding = event.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            out.body, out.body_encoding = base64.b64encode(event.body).decode(), "base64"
    return out


@router.get(
    "/webhook-events",
    response_model=PageOut[schemas.WebhookEvent],
    summary="List received webhooks (e.g. the dead letters: ?status=dead)",
)
async def list_events(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: EventStatus | None = None,
    integration_id: uuid.UUID | None = None,
    source: Annotated[str | None, Query(max_length=32, examples=["shopify"])] = None,
    topic: Annotated[str | None, Query(max_length=128, examples=["orders/create"])] = None,
) -> dict[str, Any]:
    """Newest first. Bodies are not included (see GET /v1/webhook-events/{id})."""
    repo = WebhookEventRepository(session, principal.brand_id)
    stmt = repo.filtered(
        status=status.value if status else None,
        integration_id=integration_id,
        source=source,
        topic=topic,
    )
    result = await paginate(
        session,
        stmt,
        keys=[WebhookEvent.received_at, WebhookEvent.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    return {"items": [_out(x) for x in result.items], "next_cursor": result.next_cursor}


@router.get(
    "/webhook-events/{event_id}",
    response_model=schemas.WebhookEventDetail,
    summary="Get a received webhook",
    responses=problem_responses(404),
)
async def get_event(
    event_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    include_body: Annotated[bool, Query(description="Include the raw body as received.")] = False,
) -> schemas.WebhookEventDetail:
    event = await WebhookEventRepository(session, principal.brand_id).get_or_404(event_id)
    return _detail(event, include_body)


@router.post(
    "/webhook-events/{event_id}/replay",
    response_model=schemas.WebhookEventDetail,
    summary="Process a failed, dead, handled or ignored webhook again",
    responses=problem_responses(404, 409),
)
async def replay_event(
    event_id: uuid.UUID, principal: Writer, session: SessionDep
) -> schemas.WebhookEventDetail:
    """Back to `pending` with attempts reset, then queued. Handlers are idempotent: replaying
    a handled event changes nothing twice. A pending event is 409 `illegal_transition`."""
    event = await service.replay(session, principal.brand_id, event_id)
    return _detail(event, False)
