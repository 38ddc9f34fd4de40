"""Vouch's own order format, signed per Standard Webhooks, through the real receiver
(`POST /webhooks/orders/{integration_id}`) and the real inbox processor."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import httpx
import orjson
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.integrations.signatures import Scheme, key_bytes, sign_standard
from shared.models import CommissionEntry, Order, WebhookEvent
from shared.webhooks.processing import process_event
from tests.factories import (
    StoreIntegration,
    Tenant,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
)

# Entries booked in one transaction share created_at: earned first, then by cause.
ENTRY_ORDER = (
    CommissionEntry.created_at,
    case((CommissionEntry.kind == "earned", 0), else_=1),
    CommissionEntry.cause,
)


def _order(order_id: str, **data: Any) -> dict[str, Any]:
    return {
        "type": data.pop("type", "order.created"),
        "timestamp": "2026-11-23T10:00:00Z",
        "data": {
            "id": order_id,
            "number": "A-1001",
            "placed_at": "2026-11-23T09:58:00Z",
            "updated_at": data.pop("updated_at", "2026-11-23T10:00:00Z"),
            "currency": "EUR",
            "subtotal": "90.00",
            "discounts": "10.00",
            "total": "99.00",
            "status": "paid",
            "discount_codes": ["MILA10"],
            "landing_url": "https://shop.example.com/p?utm_source=ig",
            "customer": {"id": "c_42", "email": "Mila.Buyer@example.com"},
            "line_items": [
                {"id": "1", "sku": "TEE-M", "title": "Tee", "quantity": 2, "price": "45.00"}
            ],
            **data,
        },
    }


async def _post(
    client: httpx.AsyncClient, store: StoreIntegration, body: dict[str, Any], msg_id: str
) -> httpx.Response:
    raw = orjson.dumps(body)
    ts = int(time.time())
    signature = sign_standard(key_bytes(Scheme.STANDARD, store.secret), msg_id, ts, raw)
    return await client.post(
        f"/webhooks/orders/{store.id}",
        content=raw,
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature,
        },
    )


async def _process_all(sm: async_sessionmaker[AsyncSession], store: StoreIntegration) -> None:
    import services.worker.jobs.orders  # noqa: F401

    async with sm() as session:
        ids = (
            (
                await session.execute(
                    select(WebhookEvent.id)
                    .where(
                        WebhookEvent.integration_id == store.id, WebhookEvent.status == "pending"
                    )
                    .order_by(WebhookEvent.received_at)
                )
            )
            .scalars()
            .all()
        )
    for event_id in ids:
        async with sm() as session, session.begin():
            await process_event(session, event_id, max_attempts=5)


async def test_signed_order_and_refund_through_the_receiver(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "custom")
    earner = await make_earner(sessionmaker, tenant.brand_id, commission_bps=1000, currency="EUR")
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "MILA10")
    order_id = uuid.uuid4().hex[:10]
    for msg_id, body in (
        ("msg_1", _order(order_id)),
        ("msg_1", _order(order_id)),  # the sender's retry: deduplicated by webhook-id
        (
            "msg_2",
            {
                "type": "refund.created",
                "timestamp": "2026-11-24T10:00:00Z",
                "data": {"order_id": order_id, "id": "r1", "amount_minor": 2475, "currency": "EUR"},
            },
        ),
    ):
        resp = await _post(client, store, body, msg_id)
        assert resp.status_code in (200, 202), resp.text
    await _process_all(sessionmaker, store)
    async with sessionmaker() as session:
        order = (
            await session.execute(select(Order).where(Order.integration_id == store.id))
        ).scalar_one()
        entries = (
            await session.execute(
                select(CommissionEntry.kind, CommissionEntry.amount_minor)
                .where(CommissionEntry.order_id == order.id)
                .order_by(*ENTRY_ORDER)
            )
        ).all()
    assert order.source == "orders" and order.order_number == "A-1001"
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (9000, 1000, 9900)
    assert order.email_hash == hashlib.sha256(b"mila.buyer@example.com").hexdigest()
    assert order.refunded_minor == 2475 and order.status == "partially_refunded"
    # 10% of 90.00 = 900; a quarter of the total refunded -> 225 reversed
    assert [tuple(e) for e in entries] == [("earned", 900), ("reversal", -225)]


async def test_bare_data_minor_units_and_validation(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "custom")
    bare = _order("bare-1")["data"] | {
        "subtotal_minor": 1234,
        "total_minor": 1500,
        "customer": {"id": "c1", "email_hash": "A" * 64},
    }
    assert await deliver_event(sessionmaker, store, "order", bare) == "handled"
    async with sessionmaker() as session:
        order = (
            await session.execute(select(Order).where(Order.integration_id == store.id))
        ).scalar_one()
    assert (order.subtotal_minor, order.total_minor) == (1234, 1500)
    assert order.email_hash == "a" * 64
    bad = _order("bad-1")
    bad["data"]["status"] = "shipped"
    status = await deliver_event(sessionmaker, store, "order", bad)
    assert status.startswith("failed") and "data.status" in status
    bad = _order("bad-2")
    bad["data"]["customer"] = {"email_hash": "not-a-hash"}
    status = await deliver_event(sessionmaker, store, "order", bad)
    assert status.startswith("failed") and "email_hash" in status
