"""Webhook endpoints (subscriptions) and re-sending events: the rules behind the API.

Endpoints are brand-owned; another brand's id is a 404. Status changes are single UPDATEs
guarded by the current status, so two racing requests cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.base import uuid7
from shared.errors import Conflict, InvalidInput, InvalidTransition
from shared.jobs import JobName, defer_job
from shared.models import WebhookDelivery, WebhookEndpoint
from shared.outbound.destinations import DestinationRefused, check_destination
from shared.outbound.repository import EventRepository, WebhookEndpointRepository
from shared.outbound.signing import new_secret


class EventType(StrEnum):
    """The events a brand can subscribe to. `*` means every type, including future ones."""

    ALL = "*"
    COMMISSION_CREATED = "commission.created"
    COMMISSION_APPROVED = "commission.approved"
    COMMISSION_REVERSED = "commission.reversed"
    PAYOUT_CREATED = "payout.created"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"
    ORDER_ATTRIBUTED = "order.attributed"
    DELIVERABLE_SUBMITTED = "deliverable.submitted"
    DELIVERABLE_PUBLISHED = "deliverable.published"
    DELIVERABLE_MISSED = "deliverable.missed"
    USAGE_RIGHTS_EXPIRING = "usage_rights.expiring"
    CAMPAIGN_STATUS_CHANGED = "campaign.status_changed"


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class InvalidEndpointTransition(InvalidTransition):
    resource = "webhook endpoint"


class EndpointDisabled(Conflict):
    code = "endpoint-disabled"
    title = "Webhook endpoint disabled"


def normalize_event_types(values: Sequence[str]) -> list[str]:
    """Deduplicated, sorted; `*` swallows everything else."""
    wanted = {str(v) for v in values}
    if EventType.ALL.value in wanted:
        return [EventType.ALL.value]
    return sorted(wanted)


async def _checked_url(url: str, *, allow_private: bool) -> str:
    try:
        await check_destination(url, allow_private=allow_private)
    except DestinationRefused as exc:
        raise InvalidInput(["body", "url"], str(exc)) from exc
    return url


async def create_endpoint(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    url: str,
    event_types: Sequence[str],
    description: str | None = None,
    allow_private: bool,
) -> WebhookEndpoint:
    """A new active endpoint with a fresh `whsec_` secret (the caller shows it once)."""
    endpoint = WebhookEndpoint(
        brand_id=brand_id,
        url=await _checked_url(url, allow_private=allow_private),
        description=description,
        event_types=normalize_event_types(event_types),
        secret=new_secret(),
        status=EndpointStatus.ACTIVE.value,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    brand_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    allow_private: bool,
) -> WebhookEndpoint:
    endpoint = await WebhookEndpointRepository(session, brand_id).get_or_404(
        endpoint_id, for_update=True
    )
    if changes.get("url") is not None:
        endpoint.url = await _checked_url(changes["url"], allow_private=allow_private)
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("event_types") is not None:
        endpoint.event_types = normalize_event_types(changes["event_types"])
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def delete_endpoint(
    session: AsyncSession, brand_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """Deletes the endpoint with its deliveries and attempt log (the outbox events stay)."""
    endpoint = await WebhookEndpointRepository(session, brand_id).get_or_404(endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession,
    brand_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """A new secret signs from now on; the current one keeps signing alongside it for `grace`
    (zero: it stops at once). A rotation during a grace period drops the oldest secret."""
    now = now or datetime.now(UTC)
    keep = grace > timedelta(0)
    stmt = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.brand_id == brand_id)
        .values(
            previous_secret=WebhookEndpoint.secret if keep else None,
            previous_secret_expires_at=now + grace if keep else None,
            secret=new_secret(),
        )
        .returning(WebhookEndpoint)
        .execution_options(populate_existing=True)
    )
    row: WebhookEndpoint | None = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise WebhookEndpointRepository.not_found(
            detail=f"No webhook endpoint with id {endpoint_id}."
        )
    return row


async def set_endpoint_status(
    session: AsyncSession,
    brand_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    to: EndpointStatus,
    *,
    reason: str = "manual",
) -> WebhookEndpoint:
    """enable: disabled -> active (clears the failure record); disable: active -> disabled.
    Anything else is a 409 naming the current and requested status."""
    repo = WebhookEndpointRepository(session, brand_id)
    source = EndpointStatus.DISABLED if to is EndpointStatus.ACTIVE else EndpointStatus.ACTIVE
    row = await repo.set_status(
        endpoint_id, to=to.value, sources=(source.value,), reason=reason, now=datetime.now(UTC)
    )
    if row is not None:
        return row
    current = await repo.current_status(endpoint_id)
    if current is None:
        raise repo.not_found(detail=f"No webhook endpoint with id {endpoint_id}.")
    raise InvalidEndpointTransition(
        current, to.value, f"The webhook endpoint is already {current}."
    )


async def resend_event(
    session: AsyncSession,
    brand_id: uuid.UUID,
    event_id: uuid.UUID,
    *,
    endpoint_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """Queue the event again: to `endpoint_id`, or to every active endpoint subscribed to its
    type. Existing deliveries (delivered, dead, anything) restart a round of attempts under
    the same `webhook-id`, so receivers that already have it can dedupe."""
    now = now or datetime.now(UTC)
    event = await EventRepository(session, brand_id).get_or_404(event_id)
    endpoints_repo = WebhookEndpointRepository(session, brand_id)
    if endpoint_id is not None:
        endpoint = await endpoints_repo.get(endpoint_id)
        if endpoint is None:
            raise endpoints_repo.not_found(
                detail=f"No webhook endpoint with id {endpoint_id}.",
                errors=[{"loc": ["body", "endpoint_id"], "msg": "Unknown webhook endpoint."}],
            )
        if endpoint.status != EndpointStatus.ACTIVE:
            raise EndpointDisabled(
                "The webhook endpoint is disabled; enable it before re-sending to it.",
                current_status=endpoint.status,
            )
        targets = [endpoint.id]
    else:
        rows = await session.execute(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.brand_id == brand_id,
                WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
                WebhookEndpoint.event_types.overlap([event.type, EventType.ALL.value]),
            )
        )
        targets = list(rows.scalars())
    if not targets:
        return []
    values = insert(WebhookDelivery).values(
        [
            {
                "id": uuid7(),
                "brand_id": brand_id,
                "event_id": event.id,
                "endpoint_id": target,
                "event_type": event.type,
                "status": DeliveryStatus.PENDING.value,
                "next_attempt_at": now,
            }
            for target in targets
        ]
    )
    stmt = values.on_conflict_do_update(
        constraint="uq_webhook_deliveries_event_endpoint",
        set_={
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            # An attempt in flight loses its claim: its outcome will not be recorded over
            # the new round's.
            "lease_token": None,
            "updated_at": now,
        },
    ).returning(WebhookDelivery)
    result = await session.execute(stmt.execution_options(populate_existing=True))
    deliveries = list(result.scalars())
    defer_job(session, JobName.DELIVER_WEBHOOKS)
    return deliveries
