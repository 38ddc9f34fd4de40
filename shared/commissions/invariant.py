"""The ledger invariant, checked over every order (`vouch ledger check`, and the tests):

- every order has exactly one attribution decision;
- an attributed order has exactly one earned entry, and the sum of its entries equals the
  commission due on its net amount (shared/commissions/ledger.py: commission_due), all in the
  order's currency;
- an order nobody was credited for has no entries;
- an order's refunded amount equals the sum of the refunds applied to it.

Orders are read in keyset pages by id, so the check runs in constant memory on any size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commissions.ledger import VOID_STATUSES, Amounts, commission_due

PAGE = 5000

_PAGE_SQL = """
SELECT o.id, o.brand_id, o.subtotal_minor, o.total_minor, o.refunded_minor, o.status,
       d.order_id IS NOT NULL AS decided, d.collaboration_id, d.commission_bps,
       d.commission_fixed_minor,
       coalesce(e.total, 0), coalesce(e.earned, 0), coalesce(e.n, 0),
       coalesce(e.same_currency, true), coalesce(r.total, 0)
FROM orders o
LEFT JOIN attribution_decisions d ON d.order_id = o.id
LEFT JOIN LATERAL (
    SELECT sum(amount_minor) AS total, count(*) FILTER (WHERE kind = 'earned') AS earned,
           count(*) AS n, bool_and(currency = o.currency) AS same_currency
    FROM commission_entries WHERE order_id = o.id
) e ON true
LEFT JOIN LATERAL (
    SELECT sum(amount_minor) AS total FROM order_refunds WHERE order_id = o.id
) r ON true
WHERE o.id > :after {brand_filter}
ORDER BY o.id
LIMIT :limit
"""


@dataclass(frozen=True, slots=True)
class Violation:
    order_id: uuid.UUID
    brand_id: uuid.UUID
    problem: str


@dataclass(slots=True)
class LedgerReport:
    orders: int = 0
    attributed: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


async def check_ledger(
    session: AsyncSession, *, brand_id: uuid.UUID | None = None, page: int = PAGE
) -> LedgerReport:
    report = LedgerReport()
    sql = text(_PAGE_SQL.format(brand_filter="AND o.brand_id = :brand" if brand_id else ""))
    after = uuid.UUID(int=0)
    while True:
        params: dict[str, object] = {"after": after, "limit": page}
        if brand_id is not None:
            params["brand"] = brand_id
        rows = (await session.execute(sql, params)).all()
        for row in rows:
            report.orders += 1
            order_id, brand, subtotal, total, refunded, status = row[:6]
            decided, collab, bps, fixed = row[6:10]
            booked, earned, count, same_currency, refunds = row[10:]
            problems: list[str] = []
            if not decided:
                problems.append("no attribution decision")
            if collab is not None:
                report.attributed += 1
                due = commission_due(
                    Amounts(subtotal, total, refunded, status in VOID_STATUSES), bps, fixed
                )
                if earned != 1:
                    problems.append(f"{earned} earned entries (expected exactly 1)")
                if booked != due:
                    problems.append(f"entries sum to {booked}, commission due is {due}")
            elif count:
                problems.append(f"{count} entries on an order nobody was credited for")
            if not same_currency:
                problems.append("entries in a currency other than the order's")
            if refunds != refunded:
                problems.append(f"refunded_minor {refunded} but applied refunds sum to {refunds}")
            report.violations += [Violation(order_id, brand, p) for p in problems]
        if len(rows) < page:
            return report
        after = rows[-1][0]
