"""Queries over the inbox for the API (the worker's claim queries live in processing.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import defer

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import WebhookEvent


class WebhookEventNotFound(NotFound):
    resource = "webhook event"


class WebhookEventRepository(BrandScopedRepository[WebhookEvent]):
    model = WebhookEvent
    not_found = WebhookEventNotFound

    def filtered(
        self,
        *,
        status: str | None = None,
        integration_id: uuid.UUID | None = None,
        source: str | None = None,
        topic: str | None = None,
    ) -> Select[Any]:
        """Without the raw body (it can be 1 MiB per row)."""
        stmt = self.scoped().options(defer(WebhookEvent.body))
        if status is not None:
            stmt = stmt.where(WebhookEvent.status == status)
        if integration_id is not None:
            stmt = stmt.where(WebhookEvent.integration_id == integration_id)
        if source is not None:
            stmt = stmt.where(WebhookEvent.source == source)
        if topic is not None:
            stmt = stmt.where(WebhookEvent.topic == topic)
        return stmt

    async def reset_to_pending(
        self, id_: uuid.UUID, allowed_from: tuple[str, ...]
    ) -> WebhookEvent | None:
        stmt = (
            update(WebhookEvent)
            .where(
                WebhookEvent.id == id_,
                WebhookEvent.brand_id == self.brand_id,
                WebhookEvent.status.in_(allowed_from),
            )
            .values(
                status="pending", attempts=0, last_error=None, next_attempt_at=None, handled_at=None
            )
            .returning(WebhookEvent)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        row: WebhookEvent | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row

    async def current_status(self, id_: uuid.UUID) -> str | None:
        stmt = select(WebhookEvent.status).where(
            WebhookEvent.id == id_, WebhookEvent.brand_id == self.brand_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
