"""Shopify order webhooks through the real inbox processor: parsing, upserts, out-of-order
updates, refunds (partial, full, before the order, after payout), cancellation, compliance."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.commissions.invariant import check_ledger
from shared.models import AttributionDecision, CommissionEntry, Order, OrderRefund, OutboxEvent
from tests.factories import (
    Earner,
    StoreIntegration,
    Tenant,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
    shopify_order,
    shopify_refund,
)

# Entries booked in one transaction share created_at: earned first, then by cause.
ENTRY_ORDER = (
    CommissionEntry.created_at,
    case((CommissionEntry.kind == "earned", 0), else_=1),
    CommissionEntry.cause,
)


@pytest.fixture
async def store(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "shopify")


@pytest.fixture
async def earner(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> Earner:
    earner = await make_earner(sessionmaker, tenant.brand_id, commission_bps=1000)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "ANNA10")
    return earner


def _oid() -> int:
    return uuid.uuid4().int % 10**12


async def _order(sm: async_sessionmaker[AsyncSession], store: StoreIntegration, oid: int) -> Order:
    async with sm() as session:
        return (
            await session.execute(
                select(Order).where(
                    Order.integration_id == store.id, Order.external_order_id == str(oid)
                )
            )
        ).scalar_one()


async def _entries(sm: async_sessionmaker[AsyncSession], order_id: uuid.UUID) -> list[Any]:
    async with sm() as session:
        rows = await session.execute(
            select(CommissionEntry)
            .where(CommissionEntry.order_id == order_id)
            .order_by(*ENTRY_ORDER)
        )
        return list(rows.scalars())


async def _ledger_ok(sm: async_sessionmaker[AsyncSession], brand_id: uuid.UUID) -> None:
    async with sm() as session:
        report = await check_ledger(session, brand_id=brand_id)
    assert report.ok, report.violations


async def test_order_create_stores_the_normalised_order_without_raw_personal_data(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(
        oid,
        subtotal_minor=12345,
        total_minor=13145,
        codes=["anna10"],
        landing_site="/products/tee?utm_source=instagram",
        email="  Sam.Shopper@Example.COM ",
    )
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.source == "shopify" and order.order_number == f"#{oid % 100000}"
    assert (order.subtotal_minor, order.total_minor, order.discount_minor) == (12345, 13145, 500)
    assert order.currency == "USD" and order.status == "paid" and order.source_status == "paid"
    assert order.discount_codes == ["anna10"]
    assert order.landing_url == "/products/tee?utm_source=instagram"
    assert order.referrer == "https://www.instagram.com/"
    assert order.placed_at.isoformat() == "2026-11-20T15:00:00+00:00"
    assert order.email_hash == hashlib.sha256(b"sam.shopper@example.com").hexdigest()
    assert order.customer_hash and len(order.customer_hash) == 64
    assert order.line_items[0]["sku"] == "TEE-M" and order.line_items[0]["price_minor"] == 12345
    assert "example.com" not in repr(order.__dict__).lower()  # no raw e-mail kept

    # the promo code (case-insensitive) credited the collaboration: 10% of 123.45 = 12.345
    # -> 12.34 (half to even), pending until the hold period passes
    assert order.collaboration_id == earner.collaboration_id
    assert order.attribution_rule == "promo_code"
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor, e.status, e.currency) for e in entries] == [
        ("earned", 1234, "pending", "USD")
    ]
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_same_order_delivered_twice_is_one_order_and_one_earned_entry(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, codes=["ANNA10"])
    for topic in ("orders/create", "orders/paid", "orders/create"):
        assert await deliver_event(sessionmaker, store, topic, body) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert len(await _entries(sessionmaker, order.id)) == 1
    async with sessionmaker() as session:
        decisions = await session.execute(
            select(AttributionDecision).where(AttributionDecision.order_id == order.id)
        )
        assert len(decisions.all()) == 1


async def test_an_older_update_never_overwrites_a_newer_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    newer = shopify_order(
        oid,
        codes=["ANNA10"],
        financial_status="paid",
        updated_at="2026-11-20T11:00:00-05:00",
    )
    older = shopify_order(
        oid,
        codes=["ANNA10"],
        financial_status="pending",
        updated_at="2026-11-20T10:00:05-05:00",
    )
    # the update arrives first, the create (older) a moment later
    assert await deliver_event(sessionmaker, store, "orders/updated", newer) == "handled"
    assert await deliver_event(sessionmaker, store, "orders/create", older) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.status == "paid"
    assert order.source_updated_at.isoformat() == "2026-11-20T16:00:00+00:00"
    # and a newer one still applies
    newest = shopify_order(
        oid,
        codes=["ANNA10"],
        subtotal_minor=20000,
        updated_at="2026-11-20T12:00:00-05:00",
    )
    assert await deliver_event(sessionmaker, store, "orders/updated", newest) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.subtotal_minor == 20000
    # the order was edited upwards: the difference is booked, the invariant holds
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor) for e in entries] == [("earned", 1000), ("adjustment", 1000)]
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_partial_refund_reverses_in_proportion(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, subtotal_minor=10000, total_minor=10800, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    # 27.00 of 108.00 back: a quarter of the commission base (1000) -> 250 reversed
    refund = shopify_refund(oid, 9001, 2700)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.refunded_minor == 2700 and order.status == "partially_refunded"
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor, e.status) for e in entries] == [
        ("earned", 1000, "pending"),
        ("reversal", -250, "pending"),
    ]
    assert entries[1].cause == "refund:9001" and entries[1].refund_id is not None
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_the_same_refund_from_two_events_applies_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, subtotal_minor=10000, total_minor=10000, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    refund = shopify_refund(oid, 9002, 1000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    # orders/updated carries the same refund in its `refunds` list, and a redelivery
    updated = shopify_order(
        oid,
        subtotal_minor=10000,
        total_minor=10000,
        codes=["ANNA10"],
        financial_status="partially_refunded",
        updated_at="2026-11-21T09:00:01-05:00",
        refunds=[refund],
    )
    assert await deliver_event(sessionmaker, store, "orders/updated", updated) == "handled"
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.refunded_minor == 1000
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor) for e in entries] == [("earned", 1000), ("reversal", -100)]
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_full_refund_reverses_the_remainder_and_nothing_stays_payable(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, subtotal_minor=10000, total_minor=10800, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    r1, r2 = shopify_refund(oid, 9101, 2700), shopify_refund(oid, 9102, 8100)
    assert await deliver_event(sessionmaker, store, "refunds/create", r1) == "handled"
    assert await deliver_event(sessionmaker, store, "refunds/create", r2) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.refunded_minor == 10800 and order.status == "refunded"
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor) for e in entries] == [
        ("earned", 1000),
        ("reversal", -250),
        ("reversal", -750),
    ]
    assert {e.status for e in entries} == {"reversed"}
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_refund_before_the_order_is_parked_then_applied(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    refund = shopify_refund(oid, 9201, 5400)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    async with sessionmaker() as session:
        parked = (
            await session.execute(
                select(OrderRefund).where(
                    OrderRefund.integration_id == store.id,
                    OrderRefund.external_order_id == str(oid),
                )
            )
        ).scalar_one()
        assert parked.order_id is None and parked.amount_minor == 5400
        orders = await session.execute(
            select(Order).where(
                Order.integration_id == store.id, Order.external_order_id == str(oid)
            )
        )
        assert orders.first() is None

    body = shopify_order(oid, subtotal_minor=10000, total_minor=10800, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.refunded_minor == 5400 and order.status == "partially_refunded"
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor) for e in entries] == [("earned", 1000), ("reversal", -500)]
    # the parked refund delivered again changes nothing
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    assert len(await _entries(sessionmaker, order.id)) == 2
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_refund_after_payout_books_a_clawback(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, subtotal_minor=10000, total_minor=10000, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order = await _order(sessionmaker, store, oid)
    async with sessionmaker() as session, session.begin():  # the payouts issue paid it
        await session.execute(
            update(CommissionEntry)
            .where(CommissionEntry.order_id == order.id)
            .values(status="paid")
        )
    refund = shopify_refund(oid, 9301, 10000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor, e.status) for e in entries] == [
        ("earned", 1000, "paid"),
        ("clawback", -1000, "approved"),  # carried into the next payout
    ]
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_cancellation_reverses_the_commission(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, codes=["ANNA10"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    cancelled = shopify_order(
        oid,
        codes=["ANNA10"],
        financial_status="voided",
        cancelled_at="2026-11-20T12:00:00-05:00",
        updated_at="2026-11-20T12:00:00-05:00",
    )
    assert await deliver_event(sessionmaker, store, "orders/cancelled", cancelled) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.status == "cancelled" and order.cancelled_at is not None
    entries = await _entries(sessionmaker, order.id)
    assert [(e.kind, e.amount_minor, e.status) for e in entries] == [
        ("earned", 1000, "reversed"),
        ("reversal", -1000, "reversed"),
    ]
    assert entries[1].cause.startswith("order:")
    await _ledger_ok(sessionmaker, tenant.brand_id)


async def test_zero_decimal_currency_converts_exactly(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
    earner: Earner,
) -> None:
    oid = _oid()
    body = shopify_order(oid, currency="JPY", subtotal_minor=4999, total_minor=5499)
    body["subtotal_price"] = body["current_subtotal_price"] = "4999"
    body["total_price"] = "5499.00"  # trailing zeros are exact too
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert (order.currency, order.subtotal_minor, order.total_minor) == ("JPY", 4999, 5499)
    body = shopify_order(_oid(), currency="JPY")
    body["total_price"] = "5499.50"  # half a yen does not exist: refused, not rounded
    status = await deliver_event(sessionmaker, store, "orders/create", body)
    assert status.startswith("failed") and "JPY" in status


async def test_note_attributes_and_landing_site_carry_the_click_id(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    oid = _oid()
    clk = "A" * 48
    body = shopify_order(oid, note_attributes=[{"name": "_vclid", "value": clk}])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    assert (await _order(sessionmaker, store, oid)).click_id == clk
    oid = _oid()
    body = shopify_order(oid, landing_site=f"/collections/all?utm_source=ig&vclid={'B' * 48}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    assert (await _order(sessionmaker, store, oid)).click_id == "B" * 48


async def test_customers_redact_erases_personal_fields_for_good(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    oid, other = _oid(), _oid()
    body = shopify_order(oid, customer_id=777, email="redact.me@example.com")
    kept = shopify_order(other, customer_id=888, email="keep.me@example.com")
    for b in (body, kept):
        assert await deliver_event(sessionmaker, store, "orders/create", b) == "handled"
    redact = {
        "shop_id": 1,
        "shop_domain": "shop.example.com",
        "customer": {"id": 777, "email": "redact.me@example.com", "phone": None},
        "orders_to_redact": [oid],
    }
    assert await deliver_event(sessionmaker, store, "customers/redact", redact) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.redacted_at is not None
    assert (order.customer_hash, order.email_hash, order.landing_url, order.referrer) == (
        None,
        None,
        None,
        None,
    )
    assert (await _order(sessionmaker, store, other)).email_hash is not None
    # a late update of the redacted order does not bring the data back
    late = shopify_order(oid, customer_id=777, updated_at="2026-11-22T10:00:00-05:00")
    assert await deliver_event(sessionmaker, store, "orders/updated", late) == "handled"
    order = await _order(sessionmaker, store, oid)
    assert order.email_hash is None and order.customer_hash is None

    # data requests are recorded for the brand to answer; shop/redact erases the rest
    request = {
        "shop_id": 1,
        "shop_domain": "shop.example.com",
        "customer": {"id": 888, "email": "keep.me@example.com"},
        "orders_requested": [other],
        "data_request": {"id": 4242},
    }
    assert await deliver_event(sessionmaker, store, "customers/data_request", request) == "handled"
    async with sessionmaker() as session:
        event = (
            await session.execute(
                select(OutboxEvent).where(
                    OutboxEvent.brand_id == tenant.brand_id,
                    OutboxEvent.type == "customer.data_requested",
                )
            )
        ).scalar_one()
        assert event.payload["order_ids"] == [str((await _order(sessionmaker, store, other)).id)]
    shop = {"shop_id": 1, "shop_domain": "shop.example.com"}
    assert await deliver_event(sessionmaker, store, "shop/redact", shop) == "handled"
    assert (await _order(sessionmaker, store, other)).email_hash is None


async def test_malformed_payload_fails_the_event_with_a_clear_error(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    body = shopify_order(_oid())
    del body["total_price"]
    status = await deliver_event(sessionmaker, store, "orders/create", body)
    assert status.startswith("failed") and "total_price" in status
    assert (await deliver_event(sessionmaker, store, "orders/create", b"not json")).startswith(
        "failed"
    )
