"""`vouch payouts check`: every payout equals the sum of what it holds, and the ledger agrees.

Checked, for every payout (optionally of one brand):
- amount = commission + flat fees, and each equals the sum of its items of that kind
  (including released items: a failed payout still records what it held);
- a live payout (pending, processing, paid) holds exactly the entries its live items name:
  same count and same sum of `commission_entries.payout_id = payout`;
- a paid payout's entries are all `paid`; a failed payout holds no entry and no live item;
- no entry points at a payout that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import CommissionEntry, Payout, PayoutItem
from shared.models.commissions import EntryStatus
from shared.models.payouts import PayoutItemKind, PayoutStatus


@dataclass(frozen=True, slots=True)
class Finding:
    brand_id: uuid.UUID
    payout_id: uuid.UUID | None
    problem: str


@dataclass(frozen=True, slots=True)
class Report:
    payouts_checked: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


async def check_payouts(session: AsyncSession, brand_id: uuid.UUID | None = None) -> Report:
    def scoped(model: type[Payout] | type[CommissionEntry]) -> list[ColumnElement[bool]]:
        return [] if brand_id is None else [model.brand_id == brand_id]

    findings: list[Finding] = []
    commission_items = func.coalesce(
        func.sum(PayoutItem.amount_minor).filter(
            PayoutItem.kind == PayoutItemKind.COMMISSION.value
        ),
        0,
    )
    fee_items = func.coalesce(
        func.sum(PayoutItem.amount_minor).filter(PayoutItem.kind == PayoutItemKind.FLAT_FEE.value),
        0,
    )
    totals = (
        select(
            Payout.id,
            Payout.brand_id,
            Payout.amount_minor,
            Payout.commission_minor,
            Payout.flat_fee_minor,
            Payout.item_count,
            commission_items.label("items_commission"),
            fee_items.label("items_fee"),
            func.count(PayoutItem.id).label("item_rows"),
        )
        .outerjoin(PayoutItem, PayoutItem.payout_id == Payout.id)
        .where(*scoped(Payout))
        .group_by(Payout.id)
    ).subquery()
    checked = (
        await session.execute(select(func.count()).select_from(Payout).where(*scoped(Payout)))
    ).scalar_one()
    bad_totals = await session.execute(
        select(totals).where(
            or_(
                totals.c.amount_minor != totals.c.items_commission + totals.c.items_fee,
                totals.c.commission_minor != totals.c.items_commission,
                totals.c.flat_fee_minor != totals.c.items_fee,
                totals.c.item_count != totals.c.item_rows,
            )
        )
    )
    for row in bad_totals:
        findings.append(
            Finding(
                row.brand_id,
                row.id,
                f"amount {row.amount_minor} (commission {row.commission_minor}, flat fees "
                f"{row.flat_fee_minor}, {row.item_count} items) but its items sum to "
                f"{row.items_commission} + {row.items_fee} over {row.item_rows} items",
            )
        )

    held = (
        select(
            CommissionEntry.payout_id,
            func.count().label("n"),
            func.sum(CommissionEntry.amount_minor).label("total"),
            func.count().filter(CommissionEntry.status != EntryStatus.PAID.value).label("unpaid"),
        )
        .where(CommissionEntry.payout_id.is_not(None), *scoped(CommissionEntry))
        .group_by(CommissionEntry.payout_id)
    ).subquery()
    live = (
        select(
            PayoutItem.payout_id,
            func.count().label("n"),
            func.sum(PayoutItem.amount_minor).label("total"),
        )
        .where(
            PayoutItem.kind == PayoutItemKind.COMMISSION.value,
            PayoutItem.released_at.is_(None),
        )
        .group_by(PayoutItem.payout_id)
    ).subquery()
    rows = await session.execute(
        select(
            Payout.id,
            Payout.brand_id,
            Payout.status,
            func.coalesce(held.c.n, 0).label("held_n"),
            func.coalesce(held.c.total, 0).label("held_total"),
            func.coalesce(held.c.unpaid, 0).label("held_unpaid"),
            func.coalesce(live.c.n, 0).label("live_n"),
            func.coalesce(live.c.total, 0).label("live_total"),
        )
        .outerjoin(held, held.c.payout_id == Payout.id)
        .outerjoin(live, live.c.payout_id == Payout.id)
        .where(
            *scoped(Payout),
            or_(
                func.coalesce(held.c.n, 0) != func.coalesce(live.c.n, 0),
                func.coalesce(held.c.total, 0) != func.coalesce(live.c.total, 0),
                and_(Payout.status == PayoutStatus.PAID.value, held.c.unpaid > 0),
                and_(Payout.status == PayoutStatus.FAILED.value, func.coalesce(held.c.n, 0) > 0),
            ),
        )
    )
    for row in rows:
        if row.status == PayoutStatus.PAID.value and row.held_unpaid:
            findings.append(
                Finding(row.brand_id, row.id, f"paid, but {row.held_unpaid} of its entries are not")
            )
        if row.held_n != row.live_n or row.held_total != row.live_total:
            findings.append(
                Finding(
                    row.brand_id,
                    row.id,
                    f"{row.status}: the ledger has {row.held_n} entries ({row.held_total}) held "
                    f"by it, its live items name {row.live_n} ({row.live_total})",
                )
            )

    orphans = await session.execute(
        select(CommissionEntry.brand_id, CommissionEntry.payout_id, func.count())
        .outerjoin(Payout, Payout.id == CommissionEntry.payout_id)
        .where(
            CommissionEntry.payout_id.is_not(None), Payout.id.is_(None), *scoped(CommissionEntry)
        )
        .group_by(CommissionEntry.brand_id, CommissionEntry.payout_id)
    )
    for brand, payout_id, count in orphans:
        findings.append(Finding(brand, payout_id, f"{count} entries point at a missing payout"))
    return Report(int(checked), findings)
