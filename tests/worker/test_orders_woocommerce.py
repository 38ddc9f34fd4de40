"""WooCommerce order webhooks (REST v3 order shape) through the real inbox processor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.commissions.invariant import check_ledger
from shared.config import Settings
from shared.models import CommissionEntry, Order
from tests.factories import (
    Earner,
    StoreIntegration,
    Tenant,
    click_id_for,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
    make_tracking_link,
    woo_order,
)

# Entries booked in one transaction share created_at: earned first, then by cause.
ENTRY_ORDER = (
    CommissionEntry.created_at,
    case((CommissionEntry.kind == "earned", 0), else_=1),
    CommissionEntry.cause,
)


@pytest.fixture
async def store(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "woocommerce")


@pytest.fixture
async def earner(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> Earner:
    earner = await make_earner(sessionmaker, tenant.brand_id, commission_bps=1200, currency="EUR")
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "LENA12")
    return earner


async def _state(
    sm: async_sessionmaker[AsyncSession], store: StoreIntegration, oid: int
) -> tuple[Order, list[tuple[str, int, str]]]:
    async with sm() as session:
        order = (
            await session.execute(
                select(Order).where(
                    Order.integration_id == store.id, Order.external_order_id == str(oid)
                )
            )
        ).scalar_one()
        rows = await session.execute(
            select(CommissionEntry.kind, CommissionEntry.amount_minor, CommissionEntry.status)
            .where(CommissionEntry.order_id == order.id)
            .order_by(*ENTRY_ORDER)
        )
        return order, [tuple(r) for r in rows.all()]


def _oid() -> int:
    return uuid.uuid4().int % 10**9


async def test_order_created_with_coupon_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = woo_order(oid, line_totals_minor=(6000, 4000), codes=["lena12"], email="Kim@Shop.io")
    assert await deliver_event(sessionmaker, store, "order.created", body) == "handled"
    order, entries = await _state(sessionmaker, store, oid)
    assert order.source == "woocommerce" and order.currency == "EUR"
    assert (order.subtotal_minor, order.total_minor, order.discount_minor) == (10000, 10495, 500)
    assert order.status == "paid" and order.source_status == "processing"
    assert order.discount_codes == ["lena12"] and order.customer_hash is None  # a guest
    assert order.placed_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert [li["title"] for li in order.line_items] == ["Item 0", "Item 1"]
    assert order.collaboration_id == earner.collaboration_id
    assert entries == [("earned", 1200, "pending")]  # 12% of 100.00


async def test_click_id_and_landing_url_from_meta_data(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    link = await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
    clk = click_id_for(settings, link, datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    oid = _oid()
    meta = {
        "_wc_order_attribution_session_entry": f"https://shop.example.com/?vclid={clk}",
        "_wc_order_attribution_referrer": "https://www.tiktok.com/",
    }
    body = woo_order(oid, meta=meta)
    assert await deliver_event(sessionmaker, store, "order.created", body) == "handled"
    order, entries = await _state(sessionmaker, store, oid)
    assert order.click_id == clk and order.referrer == "https://www.tiktok.com/"
    assert order.attribution_rule == "click_id" and len(entries) == 1
    oid = _oid()
    body = woo_order(oid, meta={"_vclid": clk})  # a snippet storing the cookie as order meta
    assert await deliver_event(sessionmaker, store, "order.created", body) == "handled"
    order, _entries = await _state(sessionmaker, store, oid)
    assert order.click_id == clk and order.attribution_rule == "click_id"


async def test_refunds_and_status_changes_arrive_as_order_updated(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    created = woo_order(oid, line_totals_minor=(10000,), total_minor=10000, codes=["LENA12"])
    assert await deliver_event(sessionmaker, store, "order.created", created) == "handled"
    partly = woo_order(
        oid,
        line_totals_minor=(10000,),
        total_minor=10000,
        codes=["LENA12"],
        modified="2026-11-21T09:00:00",
        refunds=[(801, 2500)],
    )
    assert await deliver_event(sessionmaker, store, "order.updated", partly) == "handled"
    order, entries = await _state(sessionmaker, store, oid)
    assert order.refunded_minor == 2500 and order.status == "partially_refunded"
    assert entries == [("earned", 1200, "pending"), ("reversal", -300, "pending")]
    # WooCommerce marks the order refunded; the rest of the money comes back
    full = woo_order(
        oid,
        line_totals_minor=(10000,),
        total_minor=10000,
        codes=["LENA12"],
        status="refunded",
        modified="2026-11-22T09:00:00",
        refunds=[(801, 2500), (802, 7500)],
    )
    assert await deliver_event(sessionmaker, store, "order.updated", full) == "handled"
    # the older partial update delivered again (out of order) changes nothing
    assert await deliver_event(sessionmaker, store, "order.updated", partly) == "handled"
    order, entries = await _state(sessionmaker, store, oid)
    assert order.status == "refunded" and order.refunded_minor == 10000
    assert [(k, a) for k, a, _s in entries] == [
        ("earned", 1200),
        ("reversal", -300),
        ("reversal", -900),
    ]
    assert {s for _k, _a, s in entries} == {"reversed"}
    async with sessionmaker() as session:
        assert (await check_ledger(session, brand_id=tenant.brand_id)).ok


async def test_cancelled_and_deleted(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = woo_order(oid, codes=["LENA12"], status="on-hold")
    assert await deliver_event(sessionmaker, store, "order.created", body) == "handled"
    order, _e = await _state(sessionmaker, store, oid)
    assert order.status == "pending"
    cancelled = woo_order(oid, codes=["LENA12"], status="cancelled", modified="2026-11-20T18:00:00")
    assert await deliver_event(sessionmaker, store, "order.updated", cancelled) == "handled"
    order, entries = await _state(sessionmaker, store, oid)
    assert order.status == "cancelled" and order.cancelled_at is not None
    assert [(k, s) for k, _a, s in entries] == [("earned", "reversed"), ("reversal", "reversed")]
    assert sum(a for _k, a, _s in entries) == 0
    # order.deleted carries only the id: nothing Vouch keeps changes
    assert await deliver_event(sessionmaker, store, "order.deleted", {"id": oid}) == "handled"
    again, _e = await _state(sessionmaker, store, oid)
    assert again.status == "cancelled"


async def test_older_modification_is_ignored(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    stamp = datetime(2026, 11, 20, 15, 0, 5, tzinfo=UTC)
    newer = woo_order(oid, status="completed", modified=(stamp + timedelta(hours=2)).isoformat())
    older = woo_order(oid, status="processing", modified=stamp.isoformat())
    assert await deliver_event(sessionmaker, store, "order.updated", newer) == "handled"
    assert await deliver_event(sessionmaker, store, "order.created", older) == "handled"
    order, _e = await _state(sessionmaker, store, oid)
    assert order.source_status == "completed"
