"""Queries over payouts and their items, scoped to one brand."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import CommissionEntry, Payout, PayoutItem


class PayoutNotFound(NotFound):
    resource = "payout"


class PayoutRepository(BrandScopedRepository[Payout]):
    model = Payout
    not_found = PayoutNotFound

    def filtered(
        self,
        *,
        status: str | None = None,
        influencer_id: uuid.UUID | None = None,
        currency: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if status is not None:
            stmt = stmt.where(Payout.status == status)
        if influencer_id is not None:
            stmt = stmt.where(Payout.influencer_id == influencer_id)
        if currency is not None:
            stmt = stmt.where(Payout.currency == currency)
        if created_from is not None:
            stmt = stmt.where(Payout.created_at >= created_from)
        if created_to is not None:
            stmt = stmt.where(Payout.created_at < created_to)
        return stmt

    async def transition(
        self, id_: uuid.UUID, *, to: str, sources: tuple[str, ...], values: dict[str, Any]
    ) -> Payout | None:
        """Move the payout in one statement; None when missing or not in `sources`."""
        stmt = (
            update(Payout)
            .where(Payout.id == id_, Payout.brand_id == self.brand_id, Payout.status.in_(sources))
            .values(status=to, **values)
            .returning(Payout)
            .execution_options(populate_existing=True)
        )
        row: Payout | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row

    async def current_status(self, id_: uuid.UUID) -> str | None:
        stmt = select(Payout.status).where(Payout.id == id_, Payout.brand_id == self.brand_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def items(self, payout_id: uuid.UUID) -> list[dict[str, Any]]:
        """The payout's items with what they pay for (entry kind, order): ledger entries oldest
        first, then flat fees."""
        stmt = (
            select(
                PayoutItem.id,
                PayoutItem.kind,
                PayoutItem.entry_id,
                PayoutItem.collaboration_id,
                PayoutItem.amount_minor,
                PayoutItem.released_at,
                CommissionEntry.kind.label("entry_kind"),
                CommissionEntry.status.label("entry_status"),
                CommissionEntry.order_id,
                CommissionEntry.collaboration_id.label("entry_collaboration_id"),
                CommissionEntry.created_at.label("entry_created_at"),
            )
            .outerjoin(CommissionEntry, CommissionEntry.id == PayoutItem.entry_id)
            .where(PayoutItem.brand_id == self.brand_id, PayoutItem.payout_id == payout_id)
            .order_by(PayoutItem.kind, CommissionEntry.created_at, PayoutItem.id)
        )
        out: list[dict[str, Any]] = []
        for row in (await self.session.execute(stmt)).mappings():
            item = dict(row)
            item["collaboration_id"] = item["collaboration_id"] or item["entry_collaboration_id"]
            del item["entry_collaboration_id"]
            out.append(item)
        return out
