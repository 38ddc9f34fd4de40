"""Nothing lost, nothing paid twice: 2,000 orders whose webhooks (creates, updates,
cancellations and refunds, some refunds before their order) are each delivered twice, in
random order, through the real HTTP receiver, while the real worker process
(`python -m services.cli worker`) is SIGKILLed mid-run at least three times and restarted.

Afterwards: exactly 2,000 orders, every inbox event handled, exactly one earned entry per
attributed order (and none for the others), every refund applied exactly once, every order
in its final state, and the ledger invariant holds for every order.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from arq.connections import ArqRedis, create_pool
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.settings import redis_settings
from shared.commissions.invariant import check_ledger
from shared.config import Settings
from shared.jobs import JobName
from shared.models import AttributionDecision, CommissionEntry, Order, WebhookEvent
from tests.factories import (
    Tenant,
    click_id_for,
    make_earner,
    make_integration,
    make_promo,
    make_tracking_link,
    shopify_order,
    shopify_refund,
)

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 2000
COLLABS = 10
KILLS = 3
DEADLINE = 90.0  # seconds for the worker phase; the whole test stays well under a minute


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOUCH_ENV": "test",
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": settings.redis_url or "",
        "VOUCH_LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _handled(sm: async_sessionmaker[AsyncSession], integration_id: uuid.UUID) -> int:
    async with sm() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).where(
                        WebhookEvent.integration_id == integration_id,
                        WebhookEvent.status == "handled",
                    )
                )
            ).scalar_one()
        )


async def test_orders_survive_duplicates_disorder_and_sigkill(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
) -> None:
    started = time.monotonic()
    rng = random.Random(20261123)
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earners = [
        await make_earner(sessionmaker, tenant.brand_id, commission_bps=500 + 100 * i)
        for i in range(COLLABS)
    ]
    links = []
    for i, earner in enumerate(earners):
        await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, f"REL{i}")
        links.append(
            await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
        )

    # --- the orders and every webhook they produce -------------------------------------
    now = datetime.now(UTC).replace(microsecond=0)
    base = uuid.uuid4().int % 10**9 * 10_000
    deliveries: list[tuple[str, bytes]] = []
    expected: dict[str, dict[str, Any]] = {}
    for n in range(ORDERS):
        oid = base + n
        placed = now - timedelta(hours=rng.randint(1, 72))
        subtotal = rng.randint(1000, 50000)
        total = subtotal + 500
        kind = rng.random()
        kw: dict[str, Any] = {
            "subtotal_minor": subtotal,
            "total_minor": total,
            "customer_id": rng.randint(1, 10**9),
            "email": f"shopper{n}@example.com",
            "created_at": placed.isoformat(),
            "updated_at": (placed + timedelta(seconds=1)).isoformat(),
        }
        collab = None
        if kind < 0.45:
            i = rng.randrange(COLLABS)
            kw["codes"] = [f"rel{i}"]
            collab = earners[i].collaboration_id
        elif kind < 0.85:
            i = rng.randrange(COLLABS)
            clicked = placed - timedelta(hours=rng.randint(1, 48))
            kw["landing_site"] = f"/?vclid={click_id_for(settings, links[i], clicked)}"
            collab = earners[i].collaboration_id
        deliveries.append(("orders/create", orjson.dumps(shopify_order(oid, **kw))))
        state = {"collab": collab, "status": "paid", "refunded": 0}
        roll = rng.random()
        if roll < 0.10:  # cancelled later
            cancelled = {
                **kw,
                "financial_status": "voided",
                "cancelled_at": (placed + timedelta(minutes=30)).isoformat(),
                "updated_at": (placed + timedelta(minutes=30)).isoformat(),
            }
            deliveries.append(("orders/cancelled", orjson.dumps(shopify_order(oid, **cancelled))))
            state["status"] = "cancelled"
        elif roll < 0.30:  # partly refunded (the refund may well arrive before the order)
            amount = rng.randint(1, total - 1)
            deliveries.append(("refunds/create", orjson.dumps(shopify_refund(oid, n + 1, amount))))
            state.update(status="partially_refunded", refunded=amount)
        elif roll < 0.35:  # refunded in full, in two refunds
            first = rng.randint(1, total - 1)
            for rid, amount in ((n * 10 + 1, first), (n * 10 + 2, total - first)):
                deliveries.append(
                    ("refunds/create", orjson.dumps(shopify_refund(oid, rid, amount)))
                )
            state.update(status="refunded", refunded=total)
        elif roll < 0.45:  # an update (paid -> paid, a later version)
            later = {**kw, "updated_at": (placed + timedelta(minutes=5)).isoformat()}
            deliveries.append(("orders/updated", orjson.dumps(shopify_order(oid, **later))))
        expected[str(oid)] = state

    requests = []
    for topic, body in deliveries:
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": _sign(store.secret, body),
            "X-Shopify-Shop-Domain": "reliable.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": now.isoformat(),
        }
        # a retry carries a new webhook id and the same event id
        retry = {**headers, "X-Shopify-Webhook-Id": str(uuid.uuid4())}
        requests += [(body, headers), (body, retry)]
    rng.shuffle(requests)

    # --- deliver them while the worker runs and is killed ------------------------------
    url = f"/webhooks/shopify/{store.id}"

    async def post_all() -> None:
        sem = asyncio.Semaphore(64)

        async def one(body: bytes, headers: dict[str, str]) -> None:
            async with sem:
                resp = await client.post(url, content=body, headers=headers)
                assert resp.status_code in (200, 202), resp.text

        for start in range(0, len(requests), 500):
            await asyncio.gather(*(one(b, h) for b, h in requests[start : start + 500]))

    queue: ArqRedis = await create_pool(redis_settings(settings))
    worker = _worker(settings)
    kills = 0
    try:
        poster = asyncio.create_task(post_all())
        events = len(deliveries)
        # kill points: a third, half and two thirds of the events handled
        thresholds = [events * f // 6 for f in (2, 3, 4)][:KILLS]
        deadline = time.monotonic() + DEADLINE
        last, last_change = -1, time.monotonic()
        timeline: list[str] = []
        while time.monotonic() < deadline:
            handled = await _handled(sessionmaker, store.id)
            if handled >= events and poster.done():
                break
            if kills < len(thresholds) and handled >= thresholds[kills]:
                worker.send_signal(signal.SIGKILL)
                await asyncio.to_thread(worker.wait)
                kills += 1
                timeline.append(f"SIGKILL #{kills} at {handled}/{events} events handled")
                worker = _worker(settings)
            if handled != last:
                last, last_change = handled, time.monotonic()
            elif time.monotonic() - last_change > 5:
                # The killed worker's in-flight jobs stay "in progress" in arq until their
                # timeout; an operator (or the sweeper, a minute later) drains what they held.
                await queue.enqueue_job(JobName.PROCESS_WEBHOOK_BATCH.value)
                last_change = time.monotonic()
                timeline.append(f"stalled at {handled}: queued a batch drain")
            await asyncio.sleep(0.2)
        await poster
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(worker.wait, 20)
            except subprocess.TimeoutExpired:
                worker.kill()
        # The killed workers left arq "in progress" markers (they expire only after the job
        # timeout) on jobs whose inbox rows are handled by now; later burst-mode workers in the
        # suite would wait for them. Clear arq's bookkeeping: the inbox in PostgreSQL is the
        # record of truth, and the sweeper re-enqueues anything still unhandled.
        stale = [key async for key in queue.scan_iter(match="arq:in-progress:*")]
        if stale:
            await queue.delete(*stale)
        await queue.delete("arq:queue")
        await queue.aclose()
    print("\n".join([*timeline, f"{time.monotonic() - started:.1f} s in all"]))
    assert kills >= KILLS, f"only {kills} kills: the run finished too early"

    # --- nothing lost, nothing twice ------------------------------------------------------
    async with sessionmaker() as session:
        statuses = dict(
            (
                await session.execute(
                    select(WebhookEvent.status, func.count())
                    .where(WebhookEvent.integration_id == store.id)
                    .group_by(WebhookEvent.status)
                )
            ).all()
        )
        assert statuses == {"handled": len(deliveries)}, statuses
        orders = {
            o.external_order_id: o
            for o in (
                await session.execute(select(Order).where(Order.integration_id == store.id))
            ).scalars()
        }
        assert len(orders) == ORDERS
        decisions = (
            await session.execute(
                select(func.count())
                .select_from(AttributionDecision)
                .join(Order, Order.id == AttributionDecision.order_id)
                .where(Order.integration_id == store.id)
            )
        ).scalar_one()
        assert decisions == ORDERS
        earned = dict(
            (
                await session.execute(
                    select(CommissionEntry.order_id, func.count())
                    .where(
                        CommissionEntry.brand_id == tenant.brand_id,
                        CommissionEntry.kind == "earned",
                    )
                    .group_by(CommissionEntry.order_id)
                )
            ).all()
        )
        report = await check_ledger(session, brand_id=tenant.brand_id)
    for external_id, want in expected.items():
        order = orders[external_id]
        assert order.collaboration_id == want["collab"], external_id
        assert order.status == want["status"], (external_id, order.status, want)
        assert order.refunded_minor == want["refunded"], external_id
        assert earned.get(order.id, 0) == (1 if want["collab"] else 0), external_id
    attributed = sum(1 for w in expected.values() if w["collab"])
    assert sum(earned.values()) == attributed
    assert report.ok and report.orders == ORDERS, report.violations[:5]
    assert time.monotonic() - started < 120
