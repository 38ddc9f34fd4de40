"""End-to-end attribution throughput: orders attributed per second by one worker process.

    python -m bench attribution [--orders=10000] [--runs=3] [--warmup=2000] [--batch-size=N]
                                [--database-url=... --redis-url=...]

What runs (2 cores: the worker, PostgreSQL and Redis share them):
- PostgreSQL and Redis: embedded and durable (fsync and AOF on, as `vouch up` runs them) in a
  temporary directory, or the servers given; migrated with the real migrations.
- One real worker process, `python -m services.cli worker`, with the production
  WorkerSettings (VOUCH_WEBHOOK_BATCH_SIZE from --batch-size, else the default).
- A brand with a Shopify integration and 20 active collaborations, each with a promo code
  and a tracking link.

Per run, --orders Shopify `orders/create` deliveries (REST Order bodies, ~2 KB, with
customer, e-mail, browser IP and user agent as real ones carry): 40% use a collaboration's
promo code, 40% land with a genuine `vclid`, 20% carry neither (attribution still looks for
the same shopper's earlier clicks, by customer and by visitor hash). The inbox rows are
written first (not timed: that is the intake's job, measured by `bench webhooks`), then their
jobs are queued exactly as the intake queues them (one `process_webhook_event` per event,
shared/webhooks/queue.py) and the clock runs until every event is handled: parsed, order
upserted, attribution decided and stored, ledger entry booked, event marked handled,
committed. A warm-up batch runs first (plans, caches and statistics settle; not counted).
Printed: orders/s per run, then checks (every event handled, one order and one
decision each, one earned entry per attributed order, the ledger invariant).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.harness import vouch_env

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-attribution-secret-key-0123456789abcdef"  # noqa: S105 - a bench fixture
COLLABS = 20
TARGET = 1000  # orders/s, one worker process, 2 cores


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def order_body(
    rng: random.Random, n: int, seq: int, now: datetime, codes: list[str], clicks: list[str]
) -> bytes:
    oid = 7_000_000_000 + seq * 1_000_000 + n
    placed = now - timedelta(minutes=rng.randint(1, 600))
    subtotal = rng.randint(1500, 40000)
    kind = n % 5
    landing = "/collections/all"
    discount_codes: list[dict[str, str]] = []
    if kind in (0, 1):
        discount_codes = [{"code": rng.choice(codes), "amount": "5.00", "type": "fixed_amount"}]
    elif kind in (2, 3):
        landing = f"/products/tee?utm_source=instagram&vclid={rng.choice(clicks)}"
    email = f"shopper{seq}-{n}@example.com"
    body = {
        "id": oid,
        "name": f"#{oid % 100000}",
        "email": email,
        "created_at": placed.isoformat(),
        "updated_at": (placed + timedelta(seconds=2)).isoformat(),
        "processed_at": placed.isoformat(),
        "cancelled_at": None,
        "currency": "USD",
        "financial_status": "paid",
        "subtotal_price": f"{subtotal / 100:.2f}",
        "current_subtotal_price": f"{subtotal / 100:.2f}",
        "total_price": f"{(subtotal + 695) / 100:.2f}",
        "total_discounts": "5.00" if discount_codes else "0.00",
        "discount_codes": discount_codes,
        "landing_site": landing,
        "referring_site": "https://www.instagram.com/",
        "note_attributes": [],
        "browser_ip": f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "client_details": {"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"},
        "customer": {"id": rng.randint(1, 10**9), "email": email, "first_name": "Sam"},
        "line_items": [
            {
                "id": oid * 10 + i,
                "product_id": 7000 + i,
                "variant_id": 8000 + i,
                "sku": f"SKU-{i}",
                "title": f"Product {i}",
                "quantity": 1,
                "price": f"{subtotal / 200:.2f}",
            }
            for i in range(2)
        ],
        "refunds": [],
    }
    return orjson.dumps(body)


async def seed(db_url: str) -> dict[str, Any]:
    from shared.brands import service as brands
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.integrations.service import create_integration
    from shared.links.clickid import ClickIds
    from shared.models import Campaign, Collaboration, Influencer, PromoCode, TrackingLink

    engine = create_engine(Settings(database_url=db_url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            brand = await brands.create_brand(session, "Bench brand")
            issued = await create_integration(session, brand.id, kind="shopify", name="bench")
            codes, links = [], []
            for i in range(COLLABS):
                campaign = Campaign(
                    brand_id=brand.id,
                    name=f"Bench {i}",
                    slug=f"bench-{i}",
                    goal="sales",
                    currency="USD",
                    status="active",
                )
                influencer = Influencer(
                    brand_id=brand.id, name=f"Creator {i}", email=f"creator{i}@example.com"
                )
                session.add_all([campaign, influencer])
                await session.flush()
                collab = Collaboration(
                    brand_id=brand.id,
                    campaign_id=campaign.id,
                    influencer_id=influencer.id,
                    status="active",
                    currency="USD",
                    commission_bps=800 + 50 * i,
                )
                session.add(collab)
                await session.flush()
                code = f"CREATOR{i}"
                link = TrackingLink(
                    brand_id=brand.id,
                    collaboration_id=collab.id,
                    code=f"bench{i}{uuid.uuid4().hex[:6]}",
                    destination_url="https://shop.example.com/",
                )
                session.add_all(
                    [PromoCode(brand_id=brand.id, collaboration_id=collab.id, code=code), link]
                )
                await session.flush()
                codes.append(code.lower())
                links.append(link.id)
        ids = ClickIds(SECRET_KEY.encode())
        now_ms = int(time.time() * 1000)
        clicks = [
            ids.issue(ClickIds.prefix(link), now_ms - random.randint(3_600_000, 5 * 86_400_000))
            for link in links
            for _ in range(10)
        ]
        return {
            "brand_id": brand.id,
            "integration_id": issued.integration.id,
            "codes": codes,
            "clicks": clicks,
        }
    finally:
        await engine.dispose()


async def insert_events(db_url: str, seed_: dict[str, Any], bodies: list[bytes]) -> list[uuid.UUID]:
    from shared.config import Settings
    from shared.db.base import uuid7
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.models import WebhookEvent

    engine = create_engine(Settings(database_url=db_url))
    try:
        rows = [
            {
                "id": uuid7(),
                "brand_id": seed_["brand_id"],
                "integration_id": seed_["integration_id"],
                "source": "shopify",
                "topic": "orders/create",
                "external_id": f"bench-{uuid.uuid4()}",
                "headers": {"x-shopify-topic": "orders/create"},
                "body": body,
            }
            for body in bodies
        ]
        async with create_sessionmaker(engine)() as session, session.begin():
            for start in range(0, len(rows), 2000):
                await session.execute(WebhookEvent.__table__.insert(), rows[start : start + 2000])
        return [r["id"] for r in rows]
    finally:
        await engine.dispose()


async def enqueue_and_wait(
    db_url: str, redis_url: str, integration_id: uuid.UUID, ids: list[uuid.UUID], total: int
) -> dict[str, Any]:
    from arq.connections import RedisSettings, create_pool
    from sqlalchemy import func, select

    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.models import WebhookEvent
    from shared.webhooks.queue import enqueue_events

    engine = create_engine(Settings(database_url=db_url))
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    sm = create_sessionmaker(engine)

    async def handled() -> int:
        async with sm() as session:
            return int(
                (
                    await session.execute(
                        select(func.count()).where(
                            WebhookEvent.integration_id == integration_id,
                            WebhookEvent.status.in_(("handled", "failed", "dead")),
                        )
                    )
                ).scalar_one()
            )

    try:
        before = await handled()
        started = time.perf_counter()
        for start in range(0, len(ids), 1000):
            await enqueue_events(redis, ids[start : start + 1000])
        enqueued = time.perf_counter() - started
        while True:
            done = await handled()
            if done >= total:
                break
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        return {
            "orders": done - before,
            "seconds": seconds,
            "per_s": (done - before) / seconds,
            "enqueue_seconds": enqueued,
        }
    finally:
        await redis.aclose()
        await engine.dispose()


async def verify(db_url: str, seed_: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from shared.commissions.invariant import check_ledger
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.models import AttributionDecision, CommissionEntry, Order, WebhookEvent

    engine = create_engine(Settings(database_url=db_url))
    try:
        async with create_sessionmaker(engine)() as session:

            async def scalar(stmt: Any) -> int:
                return int((await session.execute(stmt)).scalar_one())

            brand = seed_["brand_id"]
            statuses = dict(
                (
                    await session.execute(
                        select(WebhookEvent.status, func.count())
                        .where(WebhookEvent.brand_id == brand)
                        .group_by(WebhookEvent.status)
                    )
                ).all()
            )
            report = await check_ledger(session, brand_id=brand)
            return {
                "events": statuses,
                "orders": await scalar(select(func.count()).where(Order.brand_id == brand)),
                "attributed": await scalar(
                    select(func.count()).where(
                        Order.brand_id == brand, Order.collaboration_id.is_not(None)
                    )
                ),
                "decisions": await scalar(
                    select(func.count()).where(AttributionDecision.brand_id == brand)
                ),
                "earned": await scalar(
                    select(func.count()).where(
                        CommissionEntry.brand_id == brand, CommissionEntry.kind == "earned"
                    )
                ),
                "ledger_ok": report.ok,
                "violations": len(report.violations),
            }
    finally:
        await engine.dispose()


def wait_worker(redis_url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the worker exited during startup")
        if client.get("vouch:worker:heartbeat"):
            return
        time.sleep(0.1)
    raise RuntimeError("the worker did not start")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench attribution")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=2000, help="Orders processed first, not measured."
    )
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)

    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers

    tmp = Path(tempfile.mkdtemp(prefix="vouch-bench-attr-"))
    servers = None
    if args.database_url and args.redis_url:
        db_url, redis_url = args.database_url, args.redis_url
    else:
        servers = EmbeddedServers(tmp / "servers", durable=True)
        urls = servers.start()
        db_url, redis_url = urls.database_url, urls.redis_url
    worker: subprocess.Popen[bytes] | None = None
    r: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "orders_per_run": args.orders,
        "runs": [],
        "loadavg_before": os.getloadavg()[0],
    }
    try:
        upgrade(db_url)
        seed_ = run(seed(db_url))
        env = vouch_env(db_url, redis_url, SECRET_KEY)
        if args.batch_size:
            env["VOUCH_WEBHOOK_BATCH_SIZE"] = str(args.batch_size)
        from shared.config import Settings

        r["batch_size"] = args.batch_size or Settings().webhook_batch_size
        worker = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"], env=env, cwd=ROOT
        )
        wait_worker(redis_url, worker)
        rng = random.Random(11)
        now = datetime.now(UTC)
        total = 0
        sizes = ([args.warmup] if args.warmup else []) + [args.orders] * args.runs
        for seq, size in enumerate(sizes):
            bodies = [
                order_body(rng, n, seq, now, seed_["codes"], seed_["clicks"]) for n in range(size)
            ]
            ids = run(insert_events(db_url, seed_, bodies))
            total += len(ids)
            res = run(enqueue_and_wait(db_url, redis_url, seed_["integration_id"], ids, total))
            warm = args.warmup and seq == 0
            if not warm:
                r["runs"].append(res)
            print(
                f"{'warm-up' if warm else 'run'}: {res['orders']:,} orders in "
                f"{res['seconds']:.2f} s = {res['per_s']:,.0f} orders/s",
                flush=True,
            )
        r["warmup_orders"] = args.warmup
        r["checks"] = run(verify(db_url, seed_))
        r["loadavg_after"] = os.getloadavg()[0]
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if servers is not None:
            servers.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    report(r)


def report(r: dict[str, Any]) -> None:
    best = max(x["per_s"] for x in r["runs"])
    median = statistics.median(x["per_s"] for x in r["runs"])
    r["median_per_s"] = median
    c = r["checks"]
    print(
        "\n".join(
            [
                f"machine: {r['cpus']} CPUs; one worker process (`vouch worker`), inbox batch "
                f"size {r['batch_size']}; durable embedded PostgreSQL + Redis on the same cores; "
                f"1-min load average {r['loadavg_before']:.1f} before, "
                f"{r['loadavg_after']:.1f} after (other processes share the CPUs)",
                "end to end   "
                + ", ".join(f"{x['per_s']:,.0f}" for x in r["runs"])
                + f" orders/s (median {median:,.0f}, best {best:,.0f}; target >= {TARGET:,})",
                f"checks       events {c['events']}; orders {c['orders']:,}; decisions "
                f"{c['decisions']:,}; attributed {c['attributed']:,}; earned entries "
                f"{c['earned']:,}; ledger invariant {'ok' if c['ledger_ok'] else 'VIOLATED'}",
            ]
        )
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "attribution.json").write_text(json.dumps(r, indent=2, default=str))
    expected = r["orders_per_run"] * len(r["runs"]) + r["warmup_orders"]
    if not (
        c["ledger_ok"]
        and c["orders"] == expected
        and c["decisions"] == expected
        and c["earned"] == c["attributed"]
        and c["events"] == {"handled": expected}
    ):
        raise SystemExit("the checks failed")
