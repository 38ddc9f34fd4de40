"""The commission ledger: arithmetic, planning, the approval cron, append-only and unique
rules held by the schema, the invariant check, and concurrent events on one order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.context import WorkerContext
from services.worker.jobs.orders import approve_commissions
from shared.commissions.invariant import check_ledger
from shared.commissions.ledger import Amounts, BookedEntry, Step, Terms, commission_due, plan
from shared.config import Settings
from shared.models import CommissionEntry, Order
from tests.factories import (
    StoreIntegration,
    Tenant,
    deliver_event,
    insert_webhook_event,
    make_earner,
    make_integration,
    make_promo,
    shopify_order,
    shopify_refund,
)


def _oid() -> int:
    return uuid.uuid4().int % 10**12


def _now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


@pytest.mark.parametrize(
    ("amounts", "bps", "fixed", "due"),
    [
        (Amounts(12345, 13145, 0, False), 1000, None, 1234),  # 1234.5 -> even
        (Amounts(12355, 13145, 0, False), 1000, None, 1236),  # 1235.5 -> even
        (Amounts(10000, 10800, 2700, False), 1000, None, 750),  # a quarter refunded
        (Amounts(10000, 10800, 10800, False), 1000, 300, 0),  # fully refunded
        (Amounts(10000, 10800, 20000, False), 1000, 300, 0),  # over-refunded is full
        (Amounts(10000, 10800, 100, False), None, 300, 300),  # fixed survives partial
        (Amounts(10000, 10800, 0, True), 1000, 300, 0),  # cancelled
        (Amounts(0, 0, 0, False), 1000, 250, 250),  # a free order still earns the fixed part
        (Amounts(4999, 5499, 0, False), 333, None, 166),  # JPY, no decimals: 166.467
    ],
)
def test_commission_due(amounts: Amounts, bps: int | None, fixed: int | None, due: int) -> None:
    assert commission_due(amounts, bps, fixed) == due


def test_plan_books_differences_and_skips_known_causes() -> None:
    terms = Terms(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 1000, None)
    gross = Amounts(10000, 10000, 0, False)
    first = plan(
        terms,
        [],
        [
            Step("earned", gross, earned=True),
            Step("refund:1", Amounts(10000, 10000, 3333, False)),
            Step("order:t1", Amounts(10000, 10000, 3333, False)),
        ],
    )
    assert [(e.kind, e.amount_minor, e.cause) for e in first.entries] == [
        ("earned", 1000, "earned"),
        ("reversal", -333, "refund:1"),
    ]
    booked = [
        BookedEntry(e.kind.value, e.status.value, e.amount_minor, e.cause) for e in first.entries
    ]
    again = plan(terms, booked, [Step("refund:1", Amounts(10000, 10000, 3333, False))])
    assert again.entries == [] and not again.reverse_existing
    paid = [BookedEntry("earned", "paid", 1000, "earned")]
    clawback = plan(terms, paid, [Step("refund:2", Amounts(10000, 10000, 10000, False))])
    assert [(e.kind, e.amount_minor, e.status) for e in clawback.entries] == [
        ("clawback", -1000, "approved")
    ]
    in_payout = [BookedEntry("earned", "approved", 1000, "earned", in_payout=True)]
    held = plan(terms, in_payout, [Step("order:t9", Amounts(10000, 10000, 0, True))])
    assert [(e.kind, e.status) for e in held.entries] == [("clawback", "approved")]
    assert not held.reverse_existing


def _ctx(settings: Settings, sm: async_sessionmaker[AsyncSession]) -> WorkerContext:
    return {"settings": settings, "sessionmaker": sm}


async def _entries(
    sm: async_sessionmaker[AsyncSession], order_ids: list[uuid.UUID]
) -> list[CommissionEntry]:
    async with sm() as session:
        rows = await session.execute(
            select(CommissionEntry).where(CommissionEntry.order_id.in_(order_ids))
        )
        return list(rows.scalars())


async def _order_id(
    sm: async_sessionmaker[AsyncSession], store: StoreIntegration, oid: int
) -> uuid.UUID:
    async with sm() as session:
        return (
            await session.execute(
                select(Order.id).where(
                    Order.integration_id == store.id, Order.external_order_id == str(oid)
                )
            )
        ).scalar_one()


async def test_approval_cron_approves_only_paid_orders_past_their_hold(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    held = await make_earner(sessionmaker, tenant.brand_id, hold_days=14)
    await make_promo(sessionmaker, tenant.brand_id, held.collaboration_id, "HOLD14")
    old, recent, unpaid, refunded = _oid(), _oid(), _oid(), _oid()
    orders = [
        (old, _now(-timedelta(days=20)), "paid"),
        (recent, _now(-timedelta(days=3)), "paid"),
        (unpaid, _now(-timedelta(days=20)), "pending"),
        (refunded, _now(-timedelta(days=20)), "paid"),
    ]
    for oid, placed, financial in orders:
        body = shopify_order(
            oid,
            codes=["HOLD14"],
            created_at=placed,
            updated_at=placed,
            financial_status=financial,
            subtotal_minor=10000,
            total_minor=10000,
        )
        assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    refund = shopify_refund(refunded, 1, 10000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    # partially refunded and past the hold: both entries approved together
    partial = shopify_refund(old, 2, 2500)
    assert await deliver_event(sessionmaker, store, "refunds/create", partial) == "handled"

    assert await approve_commissions(_ctx(settings, sessionmaker)) >= 2
    ids = {oid: await _order_id(sessionmaker, store, oid) for oid, _p, _f in orders}
    status = {
        (e.order_id, e.kind): e.status for e in await _entries(sessionmaker, list(ids.values()))
    }
    assert status[(ids[old], "earned")] == "approved"
    assert status[(ids[old], "reversal")] == "approved"
    assert status[(ids[recent], "earned")] == "pending"
    assert status[(ids[unpaid], "earned")] == "pending"
    assert status[(ids[refunded], "earned")] == "reversed"
    # idempotent: a second run approves nothing of these
    await approve_commissions(_ctx(settings, sessionmaker))
    after = {
        (e.order_id, e.kind): e.status for e in await _entries(sessionmaker, list(ids.values()))
    }
    assert after == status
    # a refund after approval reverses with an approved entry (the next payout nets it)
    late = shopify_refund(old, 3, 2500)
    assert await deliver_event(sessionmaker, store, "refunds/create", late) == "handled"
    entries = [e for e in await _entries(sessionmaker, [ids[old]]) if e.cause == "refund:3"]
    assert [(e.kind, e.amount_minor, e.status) for e in entries] == [("reversal", -250, "approved")]


async def test_entries_are_append_only_and_one_earned_per_order(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "APPEND")
    oid = _oid()
    body = shopify_order(oid, codes=["APPEND"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order_id = await _order_id(sessionmaker, store, oid)
    [earned] = await _entries(sessionmaker, [order_id])
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(CommissionEntry)
                .where(CommissionEntry.id == earned.id)
                .values(amount_minor=999_999)
            )
    async with sessionmaker() as session, session.begin():  # status may move
        await session.execute(
            update(CommissionEntry).where(CommissionEntry.id == earned.id).values(status="approved")
        )
    with pytest.raises(IntegrityError, match="uq_commission_entries_earned"):
        async with sessionmaker() as session, session.begin():
            await session.execute(
                insert(CommissionEntry).values(
                    brand_id=tenant.brand_id,
                    kind="earned",
                    amount_minor=1,
                    currency="USD",
                    order_id=order_id,
                    collaboration_id=earner.collaboration_id,
                    campaign_id=earner.campaign_id,
                    influencer_id=earner.influencer_id,
                    cause="earned-again",
                )
            )


async def test_ledger_check_finds_a_booking_that_breaks_the_invariant(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "CHECKME")
    oid = _oid()
    body = shopify_order(oid, codes=["CHECKME"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    async with sessionmaker() as session:
        assert (await check_ledger(session, brand_id=tenant.brand_id)).ok
    order_id = await _order_id(sessionmaker, store, oid)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            insert(CommissionEntry).values(
                brand_id=tenant.brand_id,
                kind="adjustment",
                amount_minor=5,
                currency="USD",
                order_id=order_id,
                collaboration_id=earner.collaboration_id,
                campaign_id=earner.campaign_id,
                influencer_id=earner.influencer_id,
                cause="hand-made",
            )
        )
    async with sessionmaker() as session:
        report = await check_ledger(session, brand_id=tenant.brand_id)
    assert [v.order_id for v in report.violations] == [order_id]
    assert "commission due is 1000" in report.violations[0].problem


async def test_concurrent_events_for_one_order_serialize(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """Refunds of one order processed by four processors at once: each applied once, the
    ledger exact (the per-order advisory lock serializes them)."""
    import services.worker.jobs.orders  # noqa: F401
    from shared.webhooks.processing import process_event

    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "RACE")
    oid = _oid()
    body = shopify_order(oid, codes=["RACE"], subtotal_minor=10000, total_minor=10000)
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    import orjson

    events = [
        await insert_webhook_event(
            sessionmaker,
            store,
            topic="refunds/create",
            body=orjson.dumps(shopify_refund(oid, 100 + i, 1000)),
        )
        for i in range(4)
    ]

    async def run(event_id: uuid.UUID) -> None:
        async with sessionmaker() as session, session.begin():
            await process_event(session, event_id, max_attempts=5)

    await asyncio.gather(*(run(e) for e in events))
    order_id = await _order_id(sessionmaker, store, oid)
    entries = await _entries(sessionmaker, [order_id])
    assert sorted(e.amount_minor for e in entries) == [-100, -100, -100, -100, 1000]
    async with sessionmaker() as session:
        assert (await check_ledger(session, brand_id=tenant.brand_id)).ok
