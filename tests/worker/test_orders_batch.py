"""Order events processed as the worker processes them: many claimed together, applied in one
set-based pass (shared/orders/handlers.py, a batch handler), with one bad event failing alone."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.commissions.invariant import check_ledger
from shared.models import CommissionEntry, Order, WebhookEvent
from shared.orders import handlers
from shared.orders.handlers import register_order_handlers
from tests.factories import (
    StoreIntegration,
    Tenant,
    insert_webhook_event,
    make_earner,
    make_integration,
    make_promo,
    process_together,
    shopify_order,
    shopify_refund,
)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every apply_events call the handler makes."""
    sizes: list[int] = []
    real = handlers.apply_events

    async def spy(session: AsyncSession, items: Any, keys: Any) -> Any:
        sizes.append(len(items))
        return await real(session, items, keys)

    monkeypatch.setattr(handlers, "apply_events", spy)
    return sizes


async def _process_together(
    sm: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]
) -> dict[str, int]:
    register_order_handlers()
    return await process_together(sm, ids)


async def _event(
    sm: async_sessionmaker[AsyncSession], store: StoreIntegration, topic: str, body: object
) -> uuid.UUID:
    return await insert_webhook_event(sm, store, topic=topic, body=orjson.dumps(body))


async def test_a_claimed_batch_is_applied_in_one_pass_with_the_same_result(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, batches: list[int]
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "BATCH")
    base = uuid.uuid4().int % 10**10
    ids = []
    for n in range(20):
        body = shopify_order(base + n, codes=["BATCH"], subtotal_minor=10000, total_minor=10000)
        ids.append(await _event(sessionmaker, store, "orders/create", body))
    # in the same batch: a refund whose order comes later in it, the same order twice (an
    # older version after a newer one), and a cancellation of an order of the batch
    late = base + 100
    ids.append(await _event(sessionmaker, store, "refunds/create", shopify_refund(late, 1, 5000)))
    newer = shopify_order(
        late,
        codes=["BATCH"],
        subtotal_minor=10000,
        total_minor=10000,
        updated_at="2026-11-21T00:00:00Z",
    )
    older = shopify_order(late, codes=["BATCH"], subtotal_minor=10000, total_minor=10000)
    ids.append(await _event(sessionmaker, store, "orders/updated", newer))
    ids.append(await _event(sessionmaker, store, "orders/create", older))
    cancel = shopify_order(
        base,
        codes=["BATCH"],
        subtotal_minor=10000,
        total_minor=10000,
        financial_status="voided",
        cancelled_at="2026-11-20T18:00:00Z",
        updated_at="2026-11-20T18:00:00Z",
    )
    ids.append(await _event(sessionmaker, store, "orders/cancelled", cancel))

    assert await _process_together(sessionmaker, ids) == {
        "handled": len(ids),
        "ignored": 0,
        "failed": 0,
        "dead": 0,
    }
    assert batches == [len(ids)]  # one pass for the whole batch
    async with sessionmaker() as session:
        orders = {
            o.external_order_id: o
            for o in (
                await session.execute(select(Order).where(Order.integration_id == store.id))
            ).scalars()
        }
        earned = (
            await session.execute(
                select(func.count()).where(
                    CommissionEntry.brand_id == tenant.brand_id, CommissionEntry.kind == "earned"
                )
            )
        ).scalar_one()
        report = await check_ledger(session, brand_id=tenant.brand_id)
    assert len(orders) == 21 and earned == 21
    assert orders[str(late)].refunded_minor == 5000
    assert orders[str(late)].source_updated_at.isoformat() == "2026-11-21T00:00:00+00:00"
    assert orders[str(base)].status == "cancelled"
    assert report.ok, report.violations


async def test_one_bad_event_fails_alone(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, batches: list[int]
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    base = uuid.uuid4().int % 10**10
    good = [
        await _event(sessionmaker, store, "orders/create", shopify_order(base + n))
        for n in range(5)
    ]
    unparsable = await _event(sessionmaker, store, "orders/create", {"id": base + 50})
    # parses, but no bigint holds it: the database refuses the batch, then this event alone
    huge = shopify_order(base + 51)
    huge["total_price"] = "99999999999999999999.00"
    unstorable = await _event(sessionmaker, store, "orders/create", huge)
    nul = shopify_order(base + 52, codes=["NUL\x00CODE"])
    nul["line_items"][0]["title"] = "Tee\x00"
    cleaned = await _event(sessionmaker, store, "orders/create", nul)

    counts = await _process_together(sessionmaker, [unparsable, *good, unstorable, cleaned])
    assert counts == {"handled": 6, "ignored": 0, "failed": 2, "dead": 0}
    # the unparsable event fails the batch before it is applied; then each event alone (the
    # unparsable one again fails before applying anything, the unstorable one in the database)
    assert batches == [1, 1, 1, 1, 1, 1, 1]
    async with sessionmaker() as session:
        rows = dict(
            (
                await session.execute(
                    select(WebhookEvent.id, WebhookEvent.status).where(
                        WebhookEvent.integration_id == store.id
                    )
                )
            ).all()
        )
        stored = (
            await session.execute(
                select(Order.external_order_id, Order.discount_codes).where(
                    Order.integration_id == store.id
                )
            )
        ).all()
    assert rows[unparsable] == "failed" and rows[unstorable] == "failed"
    assert {r for r in rows.values()} == {"handled", "failed"}
    assert len(stored) == 6
    assert dict((k, v) for k, v in stored)[str(base + 52)] == ["NULCODE"]
