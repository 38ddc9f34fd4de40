"""Queries over commission entries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import CommissionEntry


class CommissionEntryNotFound(NotFound):
    resource = "commission entry"


class CommissionEntryRepository(BrandScopedRepository[CommissionEntry]):
    model = CommissionEntry
    not_found = CommissionEntryNotFound

    def filtered(
        self,
        *,
        influencer_id: uuid.UUID | None = None,
        campaign_id: uuid.UUID | None = None,
        collaboration_id: uuid.UUID | None = None,
        order_id: uuid.UUID | None = None,
        status: str | None = None,
        kind: str | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if influencer_id is not None:
            stmt = stmt.where(CommissionEntry.influencer_id == influencer_id)
        if campaign_id is not None:
            stmt = stmt.where(CommissionEntry.campaign_id == campaign_id)
        if collaboration_id is not None:
            stmt = stmt.where(CommissionEntry.collaboration_id == collaboration_id)
        if order_id is not None:
            stmt = stmt.where(CommissionEntry.order_id == order_id)
        if status is not None:
            stmt = stmt.where(CommissionEntry.status == status)
        if kind is not None:
            stmt = stmt.where(CommissionEntry.kind == kind)
        return stmt
