"""Payouts as CSV for finance teams: one row per payout, amounts in minor units and as a
decimal string in the currency's own exponent (2 for EUR, 0 for JPY, 3 for KWD)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Influencer, Payout
from shared.orders.money import exponent

COLUMNS = (
    "payout_id",
    "created_at",
    "status",
    "influencer_id",
    "influencer_name",
    "currency",
    "amount_minor",
    "amount",
    "commission_minor",
    "flat_fee_minor",
    "item_count",
    "external_reference",
    "processing_at",
    "paid_at",
    "failed_at",
    "failure_reason",
)
BATCH_SIZE = 1000
_FORMULA_STARTS = frozenset("=+-@\t\r")


def decimal_amount(amount_minor: int, currency: str) -> str:
    return str(Decimal(amount_minor).scaleb(-exponent(currency)))


def _text(value: str | None) -> str:
    # Free text starting with = + - @ is a formula to a spreadsheet (CSV injection).
    if not value:
        return ""
    return "'" + value if value[:1] in _FORMULA_STARTS else value


def _time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _row(payout: Payout, name: str) -> list[str]:
    return [
        str(payout.id),
        _time(payout.created_at),
        payout.status,
        str(payout.influencer_id),
        _text(name),
        payout.currency,
        str(payout.amount_minor),
        decimal_amount(payout.amount_minor, payout.currency),
        str(payout.commission_minor),
        str(payout.flat_fee_minor),
        str(payout.item_count),
        _text(payout.external_reference),
        _time(payout.processing_at),
        _time(payout.paid_at),
        _time(payout.failed_at),
        _text(payout.failure_reason),
    ]


def _lines(rows: Iterable[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return buf.getvalue()


async def export_chunks(
    session: AsyncSession, stmt: Select[Any], *, batch_size: int = BATCH_SIZE
) -> AsyncIterator[str]:
    """`stmt` (a brand-scoped select of Payout) as CSV text, header first, oldest first, in
    keyset batches. Run it in a REPEATABLE READ transaction for one consistent snapshot."""
    yield _lines([list(COLUMNS)])
    query = stmt.add_columns(Influencer.name).join(
        Influencer, Influencer.id == Payout.influencer_id
    )
    after: tuple[datetime, Any] | None = None
    while True:
        page = query
        if after is not None:
            page = page.where(
                (Payout.created_at > after[0])
                | ((Payout.created_at == after[0]) & (Payout.id > after[1]))
            )
        rows = (
            await session.execute(page.order_by(Payout.created_at, Payout.id).limit(batch_size))
        ).all()
        if not rows:
            return
        yield _lines(_row(payout, name) for payout, name in rows)
        if len(rows) < batch_size:
            return
        last = rows[-1][0]
        after = (last.created_at, last.id)
