"""Queries over webhook endpoints, deliveries, attempts and the outbox, scoped to one brand."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint

# Retryable deliveries of a disabled endpoint wait here, out of the due-scan's way (the claim
# walks `ix_webhook_deliveries_due` by time; parked rows sort last and are never due). Enabling
# the endpoint makes them due at once.
PARKED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
_RETRYABLE = ("pending", "failed")


async def park_deliveries(session: AsyncSession, endpoint_ids: Collection[uuid.UUID]) -> None:
    if endpoint_ids:
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id.in_(endpoint_ids),
                WebhookDelivery.status.in_(_RETRYABLE),
                WebhookDelivery.lease_token.is_(None),
            )
            .values(next_attempt_at=PARKED_UNTIL)
        )


async def unpark_deliveries(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status.in_(_RETRYABLE),
            WebhookDelivery.next_attempt_at == PARKED_UNTIL,
        )
        .values(next_attempt_at=now)
    )


class WebhookEndpointNotFound(NotFound):
    resource = "webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    resource = "webhook delivery"


class EventNotFound(NotFound):
    resource = "event"


class WebhookEndpointRepository(BrandScopedRepository[WebhookEndpoint]):
    model = WebhookEndpoint
    not_found = WebhookEndpointNotFound

    def filtered(self, *, status: str | None = None) -> Select[Any]:
        stmt = self.scoped()
        if status is not None:
            stmt = stmt.where(WebhookEndpoint.status == status)
        return stmt

    async def set_status(
        self,
        id_: uuid.UUID,
        *,
        to: str,
        sources: tuple[str, ...],
        reason: str | None,
        now: datetime,
    ) -> WebhookEndpoint | None:
        """The transition in one statement; None when the row is missing or not in `sources`."""
        disabling = to == "disabled"
        stmt = (
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == id_,
                WebhookEndpoint.brand_id == self.brand_id,
                WebhookEndpoint.status.in_(sources),
            )
            .values(
                status=to,
                disabled_reason=reason if disabling else None,
                disabled_at=now if disabling else None,
                # Re-enabling starts a fresh health record: 3 more days before auto-disable.
                **({} if disabling else {"failing_since": None}),
            )
            .returning(WebhookEndpoint)
            .execution_options(populate_existing=True)
        )
        row: WebhookEndpoint | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is not None and disabling:
            await park_deliveries(self.session, [id_])
        elif row is not None:
            await unpark_deliveries(self.session, id_, now)
        return row

    async def current_status(self, id_: uuid.UUID) -> str | None:
        stmt = select(WebhookEndpoint.status).where(
            WebhookEndpoint.id == id_, WebhookEndpoint.brand_id == self.brand_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class WebhookDeliveryRepository(BrandScopedRepository[WebhookDelivery]):
    model = WebhookDelivery
    not_found = WebhookDeliveryNotFound

    def filtered(
        self,
        *,
        endpoint_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if endpoint_id is not None:
            stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
        if event_id is not None:
            stmt = stmt.where(WebhookDelivery.event_id == event_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return stmt

    def attempts(self, delivery_id: uuid.UUID) -> Select[Any]:
        return select(WebhookDeliveryAttempt).where(
            WebhookDeliveryAttempt.brand_id == self.brand_id,
            WebhookDeliveryAttempt.delivery_id == delivery_id,
        )


class EventRepository(BrandScopedRepository[OutboxEvent]):
    model = OutboxEvent
    not_found = EventNotFound

    def filtered(self, *, type_: str | None = None) -> Select[Any]:
        stmt = self.scoped()
        if type_ is not None:
            stmt = stmt.where(OutboxEvent.type == type_)
        return stmt
