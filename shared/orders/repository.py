"""Queries over orders, their refunds and attribution decisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import AttributionDecision, CommissionEntry, Order, OrderRefund


class OrderNotFound(NotFound):
    resource = "order"


class OrderRepository(BrandScopedRepository[Order]):
    model = Order
    not_found = OrderNotFound

    def filtered(
        self,
        *,
        campaign_id: uuid.UUID | None = None,
        collaboration_id: uuid.UUID | None = None,
        influencer_id: uuid.UUID | None = None,
        integration_id: uuid.UUID | None = None,
        status: str | None = None,
        placed_from: datetime | None = None,
        placed_to: datetime | None = None,
        attributed: bool | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if campaign_id is not None:
            stmt = stmt.where(Order.campaign_id == campaign_id)
        if collaboration_id is not None:
            stmt = stmt.where(Order.collaboration_id == collaboration_id)
        if influencer_id is not None:
            stmt = stmt.where(Order.influencer_id == influencer_id)
        if integration_id is not None:
            stmt = stmt.where(Order.integration_id == integration_id)
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if placed_from is not None:
            stmt = stmt.where(Order.placed_at >= placed_from)
        if placed_to is not None:
            stmt = stmt.where(Order.placed_at < placed_to)
        if attributed is not None:
            stmt = stmt.where(
                Order.collaboration_id.is_not(None)
                if attributed
                else Order.collaboration_id.is_(None)
            )
        return stmt

    async def refunds(self, order_id: uuid.UUID) -> Sequence[OrderRefund]:
        stmt = (
            select(OrderRefund)
            .where(OrderRefund.order_id == order_id, OrderRefund.brand_id == self.brand_id)
            .order_by(OrderRefund.applied_at, OrderRefund.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def decision(self, order_id: uuid.UUID) -> AttributionDecision | None:
        stmt = select(AttributionDecision).where(
            AttributionDecision.order_id == order_id,
            AttributionDecision.brand_id == self.brand_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def commission_totals(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Sum of each order's ledger entries (what it currently earns)."""
        if not order_ids:
            return {}
        stmt = (
            select(CommissionEntry.order_id, func.sum(CommissionEntry.amount_minor))
            .where(
                CommissionEntry.order_id.in_(order_ids),
                CommissionEntry.brand_id == self.brand_id,
            )
            .group_by(CommissionEntry.order_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return {r[0]: int(r[1]) for r in rows if r[0] is not None}
