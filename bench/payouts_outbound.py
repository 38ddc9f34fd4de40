"""Outbound webhook delivery throughput, and payout creation over a large ledger.

    python -m bench payouts [--events=3000] [--concurrency=20] [--influencers=500]
                            [--entries=20] [--database-url=... --redis-url=...]

What runs (2 cores: the figures are shared by the receiver, the worker and PostgreSQL):
- PostgreSQL: embedded and durable (fsync on, as `vouch up` runs it) in a temporary
  directory, or the servers given by --database-url/--redis-url.
- A receiver: uvicorn (uvloop + httptools, one process) with one POST route that reads the
  body and answers 204, counting requests and distinct webhook-ids (GET /stats).

Figures printed:
1. Delivery: --events outbox events for one subscribed endpoint, then `deliver_webhooks`
   (the worker job, in this process, production Policy, outbound_concurrency=--concurrency)
   until every delivery is `delivered`: deliveries/s including fan-out, claims, signing,
   the HTTP round trips, attempt rows and commits. The bare comparison, measured in the same
   run against the same receiver: an httpx client posting the same bodies with the same
   concurrency and nothing else (no database, no signing). Reported only if the receiver saw
   every event id exactly once.
2. Payouts: --influencers influencers with --entries approved ledger entries each (inserted
   in bulk), then one `create_payouts` call in one transaction (as POST /v1/payouts runs it):
   seconds, payouts/s and entries/s; then every payout through processing -> paid; then
   `check_payouts` over all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.harness import Procs, free_port, uvicorn_command, wait_http

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the receiver (own process)
_seen: set[str] = set()
_requests = 0


async def _hook(request: Request) -> Response:
    global _requests
    await request.body()
    _requests += 1
    _seen.add(request.headers.get("webhook-id", ""))
    return Response(status_code=204)


async def _stats(_: Request) -> JSONResponse:
    return JSONResponse({"requests": _requests, "distinct": len(_seen)})


async def _reset(_: Request) -> JSONResponse:
    global _requests
    _requests = 0
    _seen.clear()
    return JSONResponse({})


receiver_app = Starlette(
    routes=[
        Route("/hook", _hook, methods=["POST"]),
        Route("/stats", _stats),
        Route("/reset", _reset, methods=["POST"]),
    ]
)


# ---------------------------------------------------------------- 1. delivery
async def _bare(url: str, bodies: list[bytes], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=15, trust_env=False) as client:

        async def one(i: int, body: bytes) -> None:
            async with sem:
                resp = await client.post(url, content=body, headers={"webhook-id": f"bare-{i}"})
                resp.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
        return time.perf_counter() - t0


async def delivery(db_url: str, base: str, events: int, concurrency: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from services.worker.jobs.outbound import deliver_webhooks
    from shared.brands.service import create_brand
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.events import record_event
    from shared.models import WebhookDelivery
    from shared.outbound.delivery import envelope, open_http_client
    from shared.outbound.service import create_endpoint

    settings = Settings(
        env="test", database_url=db_url, outbound_concurrency=concurrency, log_level="WARNING"
    )
    engine = create_engine(settings)
    sm = create_sessionmaker(engine)
    async with sm() as session, session.begin():
        brand = await create_brand(session, f"bench-{uuid.uuid4().hex[:6]}")
        await create_endpoint(
            session, brand.id, url=f"{base}/hook", event_types=["*"], allow_private=True
        )
    payload = {"payout_id": str(uuid.uuid4()), "amount_minor": 12345, "currency": "EUR"}
    async with sm() as session, session.begin():
        for i in range(events):
            await record_event(session, brand.id, "payout.paid", payload | {"n": i})
    http = open_http_client(settings)
    ctx: Any = {"settings": settings, "sessionmaker": sm, "http": http}
    t0 = time.perf_counter()
    while True:
        await deliver_webhooks(ctx)
        async with sm() as session:
            left = (
                await session.execute(
                    select(func.count()).where(
                        WebhookDelivery.brand_id == brand.id,
                        WebhookDelivery.status != "delivered",
                    )
                )
            ).scalar_one()
            done = (
                await session.execute(
                    select(func.count()).where(WebhookDelivery.brand_id == brand.id)
                )
            ).scalar_one()
        if done == events and left == 0:
            break
    vouch_s = time.perf_counter() - t0
    await http.aclose()
    async with httpx.AsyncClient(trust_env=False) as c:
        stats = (await c.get(f"{base}/stats")).json()
        await c.post(f"{base}/reset")
    complete = stats["requests"] == events and stats["distinct"] == events
    from datetime import UTC, datetime

    body = envelope("payout.paid", datetime.now(UTC), payload | {"n": 0})
    bare_s = await _bare(f"{base}/hook", [body] * events, concurrency)
    await engine.dispose()
    return {
        "events": events,
        "concurrency": concurrency,
        "every_event_once": complete,
        "vouch_deliveries_per_s": round(events / vouch_s, 1) if complete else None,
        "bare_posts_per_s": round(events / bare_s, 1),
        "ratio_vs_bare": round(bare_s / vouch_s, 3) if complete else None,
    }


# ---------------------------------------------------------------- 2. payouts
SEED = """
WITH inf AS (
    INSERT INTO influencers (id, brand_id, name)
    SELECT gen_random_uuid(), :brand, 'Bench creator ' || g FROM generate_series(1, :n) g
    RETURNING id
), camp AS (
    INSERT INTO campaigns (id, brand_id, name, slug, goal, currency)
    VALUES (gen_random_uuid(), :brand, 'Bench', :slug, 'sales', 'EUR') RETURNING id
), col AS (
    INSERT INTO collaborations (id, brand_id, campaign_id, influencer_id, status, currency)
    SELECT gen_random_uuid(), :brand, camp.id, inf.id, 'active', 'EUR' FROM inf, camp
    RETURNING id, campaign_id, influencer_id
)
INSERT INTO commission_entries (id, brand_id, kind, status, amount_minor, currency,
    collaboration_id, campaign_id, influencer_id, reason)
SELECT gen_random_uuid(), :brand, 'adjustment', 'approved',
       CASE WHEN e % 10 = 0 THEN -150 ELSE 100 + e END, 'EUR',
       col.id, col.campaign_id, col.influencer_id, 'bench'
FROM col, generate_series(1, :m) e
"""


async def payouts(db_url: str, influencers: int, entries: int) -> dict[str, Any]:
    from sqlalchemy import select, text

    from shared.brands.service import create_brand
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.models import Payout
    from shared.payouts.check import check_payouts
    from shared.payouts.service import create_payouts, mark_paid, mark_processing

    engine = create_engine(Settings(env="test", database_url=db_url))
    sm = create_sessionmaker(engine)
    async with sm() as session, session.begin():
        brand = await create_brand(session, f"bench-{uuid.uuid4().hex[:6]}")
        await session.execute(
            text(SEED),
            {"brand": brand.id, "n": influencers, "m": entries, "slug": uuid.uuid4().hex},
        )
    t0 = time.perf_counter()
    async with sm() as session, session.begin():
        run = await create_payouts(session, brand.id, request_key="bench")
    create_s = time.perf_counter() - t0
    async with sm() as session:
        ids = list(
            (await session.execute(select(Payout.id).where(Payout.brand_id == brand.id))).scalars()
        )
    t0 = time.perf_counter()
    for pid in ids:
        async with sm() as session, session.begin():
            await mark_processing(session, brand.id, pid)
        async with sm() as session, session.begin():
            await mark_paid(session, brand.id, pid)
    lifecycle_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with sm() as session:
        report = await check_payouts(session, brand.id)
    check_s = time.perf_counter() - t0
    await engine.dispose()
    total_entries = influencers * entries
    return {
        "influencers": influencers,
        "entries": total_entries,
        "payouts_created": len(run.payouts),
        "create_seconds": round(create_s, 3),
        "create_payouts_per_s": round(len(run.payouts) / create_s, 1),
        "create_entries_per_s": round(total_entries / create_s, 1),
        "processing_then_paid_per_s": round(len(ids) / lifecycle_s, 1),
        "check_seconds": round(check_s, 3),
        "check_ok": report.ok,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench payouts")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--influencers", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)

    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers

    servers = None
    if args.database_url:
        db_url = args.database_url
    else:
        servers = EmbeddedServers(Path(tempfile.mkdtemp(prefix="vouch-bench-")), durable=True)
        db_url = servers.start().database_url
    procs = Procs()
    results: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        upgrade(db_url)
        port = free_port()
        procs.start(uvicorn_command("bench.payouts_outbound:receiver_app", port), {**os.environ})
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/stats")
        results["delivery"] = asyncio.run(delivery(db_url, base, args.events, args.concurrency))
        print(json.dumps(results["delivery"], indent=2), flush=True)
        results["payouts"] = asyncio.run(payouts(db_url, args.influencers, args.entries))
        print(json.dumps(results["payouts"], indent=2), flush=True)
        out = ROOT / "bench" / "results" / "payouts_outbound.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        procs.stop()
        if servers is not None:
            servers.destroy()
