"""Engagement: events processed per second by one worker, and campaign recommendation
latency over a roster of 50,000 accounts.

    python -m bench engagement [--events=3000] [--accounts=50000] [--requests=100]
                               [--database-url=... --redis-url=...]

Servers: embedded PostgreSQL and Redis, durable (fsync and AOF on, as `vouch up` runs them),
in a temporary directory, migrated with the real migrations; or the ones given by flags.

1. Worker throughput. A brand with 1,000 roster accounts and an engagement integration;
   --events inbox rows of Vouch's engagement format (one post with a metrics snapshot, three
   comments and the account's follower reading each; half of them new snapshots of posts
   already seen), inserted with COPY and queued exactly as the receiver does. One stock arq
   Worker (production WorkerSettings, crons off, burst) then drains the queue: the inbox jobs
   (parse, match, snapshot, sentiment, follower history) and the signal recomputes they defer.
   Printed: events/s until the last event was handled, and events/s until the queue was
   empty (every touched account's signals recomputed too).
2. Recommendation latency. A second brand with --accounts social accounts (about 0.7
   influencer per account), audience distributions, niches, rate cards, computed signals
   for 90% of them, roster benchmark medians, 300 earlier collaborations with orders and
   deliverables (past performance), and a campaign with a target audience, interests and a
   budget (50 influencers already in it). The real API (`python -m services.cli api`,
   uvicorn, one process) answers `GET /v1/campaigns/{id}/recommendations` --requests times,
   sequentially, cycling through four variants (defaults; platform=instagram; weights
   overridden; include_existing=true with limit=50). Printed: p50/p95/p99/max in ms (target
   p95 < 300 ms) and the latency of a bare FastAPI GET on the same uvicorn options in the same
   run, for the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bench.harness import Procs, free_port, uvicorn_command, vouch_env, wait_http

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "b" * 64
NICHES = ["running", "fitness", "food", "travel", "beauty", "tech", "gaming", "parenting"]
PLATFORMS = ["instagram", "instagram", "instagram", "tiktok", "tiktok", "youtube"]
COUNTRIES = ["DE", "AT", "CH", "FR", "US", "GB", "ES", "IT"]
COMMENTS = [
    "Love this!",
    "Where can I buy it?",
    "So good 😍",
    "Not my style, sorry",
    "Que lindo",
    "Great tips, thanks",
    "nice",
    "This broke after a week",
]

bare_app = FastAPI()


@bare_app.get("/bare")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _pg(database_url: str) -> Any:
    import asyncpg

    from shared.db.engine import normalize_database_url

    return await asyncpg.connect(normalize_database_url(database_url).replace("+asyncpg", ""))


def _settings(database_url: str, redis_url: str) -> Any:
    from shared.config import Settings

    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        env="production",
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
    )


async def _brand(database_url: str, name: str) -> tuple[uuid.UUID, str]:
    from shared.brands.service import create_brand, issue_key
    from shared.db.engine import create_engine, create_sessionmaker

    engine = create_engine(_settings(database_url, "redis://unused"))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            brand = await create_brand(session, name)
            key = await issue_key(session, brand.id, name="bench")
            return brand.id, key.secret
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------ roster generation
def _audience(rng: random.Random) -> tuple[str, str, str, str]:
    young = rng.randint(10, 70)
    age = {
        "13-17": rng.randint(0, 10),
        "18-24": young,
        "25-34": min(90 - young, rng.randint(10, 40)),
    }
    female = rng.randint(20, 90)
    c1, c2 = rng.sample(COUNTRIES, 2)
    top = rng.randint(30, 80)
    countries = {c1: top, c2: rng.randint(0, 100 - top)}
    langs = {"de" if c1 in ("DE", "AT", "CH") else "en": rng.randint(50, 95)}
    return (
        json.dumps(age),
        json.dumps({"female": female, "male": 100 - female}),
        json.dumps(countries),
        json.dumps(langs),
    )


async def seed_roster(
    database_url: str, brand_id: uuid.UUID, accounts: int, rng: random.Random, *, signals: bool
) -> list[tuple[uuid.UUID, uuid.UUID, str, str, int]]:
    """`accounts` social accounts on ~0.7 x as many influencers, with COPY. Returns
    (influencer id, account id, platform, handle, followers) per account."""
    from shared.db.base import uuid7

    influencers: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    out: list[tuple[uuid.UUID, uuid.UUID, str, str, int]] = []
    n = 0
    while len(rows) < accounts:
        n += 1
        inf_id = uuid7()
        rate = rng.randint(50, 5000) * 100
        influencers.append(
            (
                inf_id,
                brand_id,
                f"Creator {n}",
                rng.sample(NICHES, rng.randint(1, 3)),
                json.dumps({"post": rate, "reel": rate * 2, "story": rate // 2}),
                "EUR",
                "active",
            )
        )
        for platform in rng.sample(
            sorted(set(PLATFORMS)), min(rng.choice((1, 1, 2)), accounts - len(rows))
        ):
            followers = int(min(5e7, rng.lognormvariate(9.8, 1.5)))
            handle = f"c{n}_{platform}"
            age, gender, countries, langs = _audience(rng)
            acc_id = uuid7()
            rows.append(
                (
                    acc_id,
                    brand_id,
                    inf_id,
                    platform,
                    handle,
                    followers,
                    rng.randint(0, 4000) if rng.random() < 0.3 else None,
                    age,
                    gender,
                    countries,
                    langs,
                )
            )
            out.append((inf_id, acc_id, platform, handle, followers))
    conn = await _pg(database_url)
    try:
        await conn.copy_records_to_table(
            "influencers",
            columns=["id", "brand_id", "name", "niches", "rate_card", "rate_currency", "status"],
            records=influencers,
        )
        await conn.execute(
            "UPDATE influencers i SET max_followers = 0 WHERE brand_id = $1", brand_id
        )
        await conn.copy_records_to_table(
            "social_accounts",
            columns=[
                "id",
                "brand_id",
                "influencer_id",
                "platform",
                "handle",
                "followers",
                "sponsored_share_bps",
                "audience_age",
                "audience_gender",
                "audience_countries",
                "audience_languages",
            ],
            records=rows,
        )
        if signals:
            sig = []
            for _, acc_id, _, _, followers in out:
                if rng.random() < 0.1:
                    continue
                base = 0.06 if followers < 100_000 else 0.02
                sig.append(
                    (
                        acc_id,
                        brand_id,
                        datetime.now(UTC),
                        max(0.0005, rng.gauss(base, base / 2)),
                        12,
                        rng.randint(20, 100),
                        json.dumps([]),
                        rng.random() * 0.6,
                    )
                )
            await conn.copy_records_to_table(
                "account_signals",
                columns=[
                    "account_id",
                    "brand_id",
                    "computed_at",
                    "engagement_rate",
                    "sample_size",
                    "authenticity_score",
                    "authenticity_reasons",
                    "sponsored_share",
                ],
                records=sig,
            )
        await conn.execute("ANALYZE influencers; ANALYZE social_accounts; ANALYZE account_signals")
    finally:
        await conn.close()
    return out


# --------------------------------------------------------------------- 1. worker throughput
async def _integration(database_url: str, brand_id: uuid.UUID) -> uuid.UUID:
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.integrations.service import create_integration

    engine = create_engine(_settings(database_url, "redis://unused"))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            issued = await create_integration(
                session, brand_id, kind="engagement", name="Bench engagement"
            )
            return issued.integration.id
    finally:
        await engine.dispose()


Known = tuple[str, str, str, datetime, str]  # external id, platform, handle, posted, type


def _body(rng: random.Random, post: Known, i: int, captured: datetime) -> bytes:
    ext, platform, handle, posted, kind = post
    likes = rng.randint(50, 5000)
    body = {
        "captured_at": captured.isoformat(),
        "account": {
            "platform": platform,
            "handle": handle,
            "followers": rng.randint(5_000, 200_000),
        },
        "posts": [
            {
                "external_post_id": ext,
                "post_url": f"https://www.instagram.com/p/{ext}/?igsh=bench",
                "posted_at": posted.isoformat(),
                "content_type": kind,
                "caption": f"Training log {ext} #running #ad",
                "metrics": {
                    "likes": likes,
                    "comments": likes // 40,
                    "shares": likes // 30,
                    "saves": likes // 25,
                    "views": likes * 12,
                    "reach": likes * 9,
                },
                "comments": [
                    {"id": f"{ext}-{i}-{k}", "text": rng.choice(COMMENTS)} for k in range(3)
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def first_sync(
    rng: random.Random, roster: list[tuple[uuid.UUID, uuid.UUID, str, str, int]], n: int
) -> tuple[list[Known], list[bytes]]:
    """`n` posts across the roster and one delivery each (an integration's first sync)."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    posts: list[Known] = []
    for i in range(n):
        _, _, platform, handle, _ = rng.choice(roster)
        kind = rng.choice(["post", "reel", "video"])
        posts.append((f"p{i}", platform, handle, start + timedelta(minutes=30 * i), kind))
    bodies = [_body(rng, p, i, p[3] + timedelta(hours=1)) for i, p in enumerate(posts)]
    return posts, bodies


def steady_state(
    rng: random.Random,
    roster: list[tuple[uuid.UUID, uuid.UUID, str, str, int]],
    posts: list[Known],
    n: int,
    new_share: float = 0.1,
) -> list[bytes]:
    """`n` deliveries: a new snapshot of a known post, or (`new_share`) a new post."""
    start = datetime(2026, 10, 15, tzinfo=UTC)
    bodies = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        if rng.random() < new_share:
            _, _, platform, handle, _ = rng.choice(roster)
            post: Known = (f"n{i}", platform, handle, at, rng.choice(["post", "reel", "video"]))
            posts.append(post)
        else:
            post = rng.choice(posts)
        bodies.append(_body(rng, post, n + i, at + timedelta(seconds=30)))
    return bodies


async def queue_events(
    database_url: str,
    redis_url: str,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID,
    bodies: list[bytes],
) -> None:
    import redis.asyncio as aioredis

    from shared.db.base import uuid7
    from shared.webhooks.queue import enqueue_events

    ids = [uuid7() for _ in bodies]
    now = datetime.now(UTC)
    conn = await _pg(database_url)
    try:
        await conn.copy_records_to_table(
            "webhook_events",
            columns=[
                "id",
                "brand_id",
                "integration_id",
                "source",
                "topic",
                "external_id",
                "source_timestamp",
                "headers",
                "body",
            ],
            records=[
                (i, brand_id, integration_id, "engagement", "engagement", f"msg_{i}", now, "{}", b)
                for i, b in zip(ids, bodies, strict=True)
            ],
        )
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_url)
    try:
        for start in range(0, len(ids), 1000):
            await enqueue_events(client, ids[start : start + 1000])
    finally:
        await client.aclose()


async def drain(
    database_url: str, redis_url: str, integration_id: uuid.UUID, events: int
) -> tuple[float, float | None]:
    """A stock arq Worker (production settings, crons off, burst) until the queue is empty.
    Returns (seconds until the queue was empty, seconds until every event left `pending`),
    the latter polled every 50 ms on a separate connection."""
    from arq.worker import Worker

    from services.worker.settings import worker_settings

    kwargs = worker_settings(_settings(database_url, redis_url)) | {
        "burst": True,
        "handle_signals": False,
        "cron_jobs": [],
    }
    worker = Worker(**kwargs)
    conn = await _pg(database_url)
    t0 = time.perf_counter()
    done_at: list[float] = []

    async def watch() -> None:
        while True:
            left = await conn.fetchval(
                "SELECT count(*) FROM webhook_events WHERE integration_id = $1 "
                "AND status = 'pending'",
                integration_id,
            )
            if left == 0:
                done_at.append(time.perf_counter() - t0)
                return
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        await worker.main()
    finally:
        elapsed = time.perf_counter() - t0
        await worker.close()
        await asyncio.wait_for(watcher, 5)
        await conn.close()
    return elapsed, (done_at[0] if done_at else None)


async def drain_results(
    database_url: str, integration_id: uuid.UUID, brand_id: uuid.UUID
) -> dict[str, Any]:
    conn = await _pg(database_url)
    try:
        statuses = {
            r[0]: int(r[1])
            for r in await conn.fetch(
                "SELECT status, count(*) FROM webhook_events WHERE integration_id = $1 GROUP BY 1",
                integration_id,
            )
        }
        stale = await conn.fetchval(
            "SELECT count(DISTINCT account_id) FROM account_signal_marks WHERE brand_id = $1",
            brand_id,
        )
        computed = await conn.fetchval(
            "SELECT count(*) FROM account_signals WHERE brand_id = $1 AND computed_at IS NOT NULL",
            brand_id,
        )
        posts = await conn.fetchval("SELECT count(*) FROM posts WHERE brand_id = $1", brand_id)
        snapshots = await conn.fetchval(
            "SELECT count(*) FROM post_metric_snapshots WHERE brand_id = $1", brand_id
        )
    finally:
        await conn.close()
    return {
        "statuses": statuses,
        "stale_signals": int(stale),
        "accounts_computed": int(computed),
        "posts": int(posts),
        "snapshots": int(snapshots),
    }


# ----------------------------------------------------------------- 2. recommendation latency
async def seed_campaign(
    database_url: str,
    brand_id: uuid.UUID,
    roster: list[tuple[uuid.UUID, uuid.UUID, str, str, int]],
    rng: random.Random,
) -> uuid.UUID:
    from shared.db.base import uuid7
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.engagement.signals import refresh_benchmarks

    campaign_id, earlier_id = uuid7(), uuid7()
    influencers = list(dict.fromkeys(r[0] for r in roster))
    members = rng.sample(influencers, 50)
    alumni = rng.sample([i for i in influencers if i not in set(members)], 300)
    integration = uuid7()
    conn = await _pg(database_url)
    try:
        await conn.execute(
            "INSERT INTO integrations (id, brand_id, kind, name, currency, signing_secret) "
            "VALUES ($1, $2, 'custom', 'Bench store', 'EUR', 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==')",
            integration,
            brand_id,
        )
        await conn.execute(
            "INSERT INTO campaigns (id, brand_id, name, slug, goal, currency, budget_minor, "
            "target_audience, status) VALUES ($1, $2, 'Spring run', 'spring-run', 'sales', "
            "'EUR', 5000000, $3, 'active'), ($4, $2, 'Winter', 'winter', 'sales', 'EUR', NULL, "
            "'{}', 'completed')",
            campaign_id,
            brand_id,
            json.dumps(
                {
                    "age_min": 18,
                    "age_max": 24,
                    "genders": ["female"],
                    "countries": ["DE", "AT"],
                    "languages": ["de"],
                    "interests": ["running", "fitness"],
                }
            ),
            earlier_id,
        )
        collabs = [(uuid7(), brand_id, campaign_id, i, "EUR", "prospect", None) for i in members]
        past = [
            (uuid7(), brand_id, earlier_id, i, "EUR", "completed", rng.randint(100, 3000) * 100)
            for i in alumni
        ]
        await conn.copy_records_to_table(
            "collaborations",
            columns=[
                "id",
                "brand_id",
                "campaign_id",
                "influencer_id",
                "currency",
                "status",
                "flat_fee_minor",
            ],
            records=collabs + past,
        )
        now = datetime.now(UTC)
        orders, deliverables = [], []
        for cid, _, _, inf, _, _, _ in past:
            for _ in range(rng.randint(0, 30)):
                subtotal = rng.randint(20, 200) * 100
                orders.append(
                    (
                        uuid7(),
                        brand_id,
                        integration,
                        "orders",
                        f"o{uuid.uuid4().hex}",
                        "paid",
                        "EUR",
                        subtotal,
                        subtotal,
                        now,
                        now,
                        cid,
                        earlier_id,
                        inf,
                    )
                )
            for _ in range(2):
                deliverables.append(
                    (
                        uuid7(),
                        brand_id,
                        cid,
                        "post",
                        "instagram",
                        rng.choice(["published", "missed"]),
                    )
                )
        await conn.copy_records_to_table(
            "orders",
            columns=[
                "id",
                "brand_id",
                "integration_id",
                "source",
                "external_order_id",
                "status",
                "currency",
                "subtotal_minor",
                "total_minor",
                "placed_at",
                "source_updated_at",
                "collaboration_id",
                "campaign_id",
                "influencer_id",
            ],
            records=orders,
        )
        await conn.copy_records_to_table(
            "deliverables",
            columns=["id", "brand_id", "collaboration_id", "type", "platform", "status"],
            records=deliverables,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    engine = create_engine(_settings(database_url, "redis://unused"))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await refresh_benchmarks(session, brand_id)
    finally:
        await engine.dispose()
    return campaign_id


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_requests(base: str, key: str, paths: list[str], n: int) -> tuple[list[float], Any]:
    headers = {"Authorization": f"Bearer {key}"}
    times: list[float] = []
    last: Any = None
    with httpx.Client(base_url=base, headers=headers, timeout=30, trust_env=False) as http:
        for i in range(5):  # warm-up: connections, plans, caches
            http.get(paths[i % len(paths)]).raise_for_status()
        for i in range(n):
            t0 = time.perf_counter()
            resp = http.get(paths[i % len(paths)])
            times.append((time.perf_counter() - t0) * 1000)
            resp.raise_for_status()
            last = resp.json() if i == 0 else last
    return times, last


# ------------------------------------------------------------------------------------ main
def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench engagement")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument(
        "--part", choices=["all", "worker", "recommend"], default="all", help="what to measure"
    )
    args = parser.parse_args(argv)

    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers

    tmp = Path(tempfile.mkdtemp(prefix="vouch-bench-"))
    servers = None
    if args.database_url and args.redis_url:
        db_url, redis_url = args.database_url, args.redis_url
    else:
        servers = EmbeddedServers(tmp / "servers", durable=True)
        urls = servers.start()
        db_url, redis_url = urls.database_url, urls.redis_url
    procs = Procs()
    rng = random.Random(11)
    r: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        upgrade(db_url)
        if args.part != "recommend":
            r.update(measure_worker(db_url, redis_url, rng, args))
        if args.part != "worker":
            r.update(measure_recommendations(db_url, redis_url, rng, args, procs))
        report(r)
    finally:
        procs.stop()
        if servers is not None:
            servers.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def measure_worker(
    db_url: str, redis_url: str, rng: random.Random, args: argparse.Namespace
) -> dict[str, Any]:
    r: dict[str, Any] = {}
    # -- 1. worker throughput
    brand_id, _ = run(_brand(db_url, "Bench engagement"))
    roster = run(seed_roster(db_url, brand_id, 1_000, rng, signals=False))
    posts, warm = first_sync(rng, roster, args.posts)
    sync_integration = run(_integration(db_url, brand_id))
    run(queue_events(db_url, redis_url, brand_id, sync_integration, warm))
    seconds, handled_seconds = run(drain(db_url, redis_url, sync_integration, len(warm)))
    res = run(drain_results(db_url, sync_integration, brand_id))
    r["first_sync"] = {
        "events": len(warm),
        "seconds_to_empty_queue": seconds,
        "handled_seconds": handled_seconds,
        **res,
    }
    integration_id = run(_integration(db_url, brand_id))
    bodies = steady_state(rng, roster, posts, args.events)
    run(queue_events(db_url, redis_url, brand_id, integration_id, bodies))
    seconds, handled_seconds = run(drain(db_url, redis_url, integration_id, args.events))
    res = run(drain_results(db_url, integration_id, brand_id))
    r["worker"] = {
        "events": args.events,
        "body_bytes": statistics.mean(len(b) for b in bodies),
        "seconds_to_empty_queue": seconds,
        "handled_seconds": handled_seconds,
        **res,
    }
    return r


def measure_recommendations(
    db_url: str, redis_url: str, rng: random.Random, args: argparse.Namespace, procs: Procs
) -> dict[str, Any]:
    r: dict[str, Any] = {}
    # -- 2. recommendation latency
    brand2, key = run(_brand(db_url, "Bench roster"))
    t0 = time.perf_counter()
    roster2 = run(seed_roster(db_url, brand2, args.accounts, rng, signals=True))
    campaign_id = run(seed_campaign(db_url, brand2, roster2, rng))
    r["seed_seconds"] = time.perf_counter() - t0
    env = vouch_env(db_url, redis_url, SECRET_KEY)
    api_port, bare_port = free_port(), free_port()
    procs.start([sys.executable, "-m", "services.cli", "api"], {**env, "VOUCH_PORT": str(api_port)})
    procs.start(uvicorn_command("bench.engagement:bare_app", bare_port), env)
    api, bare_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
    wait_http(f"{api}/readyz", status=200)
    wait_http(f"{bare_base}/bare", status=200)
    base = f"/v1/campaigns/{campaign_id}/recommendations"
    paths = [
        base,
        base + "?platform=instagram",
        base + "?weight_engagement=3&weight_authenticity=2&weight_cost=0",
        base + "?include_existing=true&limit=50",
    ]
    times, sample = time_requests(api, key, paths, args.requests)
    bare_times, _ = time_requests(bare_base, key, ["/bare"], args.requests)
    r["recommendations"] = {
        "accounts": args.accounts,
        "influencers": len({x[0] for x in roster2}),
        "candidates": sample["candidates"],
        "requests": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": _pct(times, 95),
        "p99_ms": _pct(times, 99),
        "max_ms": max(times),
        "bare_p50_ms": statistics.median(bare_times),
        "bare_p95_ms": _pct(bare_times, 95),
        "top": [(i["name"], i["score"]) for i in sample["items"][:3]],
    }
    return r


def report(r: dict[str, Any]) -> None:
    lines = [f"machine      {r['cpus']} CPUs; PostgreSQL and Redis embedded, durable"]
    for key, label in (
        ("first_sync", "first sync (every delivery a new post)"),
        ("worker", "steady state (new snapshots of known posts, 10% new posts)"),
    ):
        if key not in r:
            continue
        w = r[key]
        handled = w["statuses"].get("handled", 0)
        hs = w["handled_seconds"] or float("nan")
        lines += [
            f"worker       {label}: {w['events']:,} engagement events (1 post, snapshot, "
            "3 comments, follower reading each), one arq worker process",
            f"             {handled / hs:,.0f} events/s until no event was pending ({hs:.2f} s; "
            f"statuses {w['statuses']})",
            f"             {w['events'] / w['seconds_to_empty_queue']:,.0f} events/s until the "
            f"queue was empty, signal recomputes included ({w['seconds_to_empty_queue']:.2f} s; "
            f"{w['accounts_computed']} accounts computed, {w['stale_signals']} stale left; "
            f"{w['posts']} posts, {w['snapshots']} snapshots in total)",
        ]
    rec = r.get("recommendations")
    lines += (
        []
        if rec is None
        else [
            f"recommend    {rec['accounts']:,} accounts / {rec['influencers']:,} influencers "
            f"({rec['candidates']:,} scored per request), {rec['requests']} sequential requests "
            "over HTTP",
            f"             p50 {rec['p50_ms']:.1f} ms  p95 {rec['p95_ms']:.1f} ms  p99 "
            f"{rec['p99_ms']:.1f} ms  max {rec['max_ms']:.1f} ms  (target p95 < 300 ms: "
            f"{'met' if rec['p95_ms'] < 300 else 'MISSED'})",
            f"             bare FastAPI GET same run: p50 {rec['bare_p50_ms']:.2f} ms, p95 "
            f"{rec['bare_p95_ms']:.2f} ms (ratio p50 {rec['p50_ms'] / rec['bare_p50_ms']:.0f}x)",
            f"             top 3: {rec['top']}",
            f"seeding      {r['seed_seconds']:.1f} s",
        ]
    )
    print("\n".join(lines))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "engagement.json").write_text(json.dumps(r, indent=2, default=str))
