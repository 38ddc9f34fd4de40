"""Queries over integrations."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, exists, select, update

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import Integration, WebhookEvent


class IntegrationNotFound(NotFound):
    resource = "integration"


class IntegrationRepository(BrandScopedRepository[Integration]):
    model = Integration
    not_found = IntegrationNotFound

    def filtered(self, *, kind: str | None = None, status: str | None = None) -> Select[Any]:
        stmt = self.scoped()
        if kind is not None:
            stmt = stmt.where(Integration.kind == kind)
        if status is not None:
            stmt = stmt.where(Integration.status == status)
        return stmt

    async def transition(
        self, id_: uuid.UUID, to: str, allowed_from: tuple[str, ...]
    ) -> Integration | None:
        """`UPDATE ... WHERE status IN (allowed_from) RETURNING`: None if the row is missing,
        another brand's or in a status the move is not allowed from."""
        stmt = (
            update(Integration)
            .where(
                Integration.id == id_,
                Integration.brand_id == self.brand_id,
                Integration.status.in_(allowed_from),
            )
            .values(status=to)
            .returning(Integration)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        row: Integration | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row

    async def current_status(self, id_: uuid.UUID) -> str | None:
        stmt = select(Integration.status).where(
            Integration.id == id_, Integration.brand_id == self.brand_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def has_events(self, id_: uuid.UUID) -> bool:
        stmt = select(exists().where(WebhookEvent.integration_id == id_))
        return bool((await self.session.execute(stmt)).scalar_one())
