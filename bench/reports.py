"""Campaign report latency at scale: rollups vs the same report computed from raw tables.

Loads 10M clicks, 1M orders (with their commission ledger entries) and 200k engagement
snapshots across 50 campaigns and 500 influencers (1,000 collaborations, links and posts),
generated server-side with generate_series in chunks, with progress bars. The rollup
triggers are disabled during the bulk load, and the rollups built afterwards with
`rebuild` (what `vouch rollups rebuild` runs); then the incremental path is exercised:
100k more clicks in 5,000-row statements with the triggers on (as the click drain writes
them), caught up by the worker's `process_dirty`.

Then prints, over the same campaigns:
  service   the full campaign report (totals, KPI progress, daily series, four
            breakdowns) from the service function `campaign_report`, 100 requests
  http      the same through the real API (uvicorn subprocess, GET /v1/campaigns/{id}/report
            with an API key), 100 requests, and a bare FastAPI GET for the ratio
  raw       the same report computed from raw tables in the same run: the report code with
            its rollup reads swapped for equivalent aggregations over clicks, orders,
            commission_entries, post_metric_snapshots, post_comments and follower_snapshots
            (`--raw-requests`, default 100); every raw report is checked equal to the rollup one

Servers: embedded PostgreSQL and Redis (fsync off: a throwaway load) unless
--database-url=postgresql://... points at another (e.g. the system one on 127.0.0.1:5432; the
rows stay there). Results also go to bench/results/reports.json.

Usage: python -m bench reports [--clicks=N] [--orders=N] [--snapshots=N] [--requests=N]
                               [--raw-requests=N] [--no-http] [--database-url=URL]
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.harness import uvicorn_command

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "reports.json"
TZ = "Europe/Berlin"
DAYS = 90
CAMPAIGNS = 50
INFLUENCERS = 500
PLATFORMS = ["instagram", "tiktok", "youtube"]
TYPES = ["reel", "video", "post", "story", "short"]
console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _dsn(url: str) -> str:
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)


# ----------------------------------------------------------------------------- loading
class World:
    def __init__(self) -> None:
        self.brand_id = uuid.uuid4()
        self.key = ""
        self.campaigns: list[uuid.UUID] = []
        self.timings: dict[str, float] = {}


async def _setup(conn: asyncpg.Connection, world: World) -> dict[str, list[Any]]:
    """Brand, campaigns, influencers, accounts, collaborations, links, deliverables, posts,
    cost lines and KPI targets (small tables: plain multi-row INSERTs)."""
    from shared.brands.service import KEY_PREFIX, hash_key

    today = datetime.now(UTC).date()
    b = world.brand_id
    await conn.execute(
        "INSERT INTO brands (id, name, default_currency, timezone) VALUES ($1, 'Bench brand', "
        "'EUR', $2)",
        b,
        TZ,
    )
    secret = KEY_PREFIX + uuid.uuid4().hex
    await conn.execute(
        "INSERT INTO api_keys (id, brand_id, name, prefix, key_hash, scopes) "
        "VALUES ($1, $2, 'bench', $3, $4, ARRAY['read','write'])",
        uuid.uuid4(),
        b,
        secret[:14],
        hash_key(secret),
    )
    world.key = secret
    integration = uuid.uuid4()
    await conn.execute(
        "INSERT INTO integrations (id, brand_id, kind, name, signing_secret) "
        "VALUES ($1, $2, 'custom', 'bench store', 'whsec_dGVzdA==')",
        integration,
        b,
    )
    campaigns = [uuid.uuid4() for _ in range(CAMPAIGNS)]
    world.campaigns = campaigns
    start = today - timedelta(days=DAYS)
    await conn.executemany(
        "INSERT INTO campaigns (id, brand_id, name, slug, goal, status, currency, starts_on, "
        "ends_on, budget_minor) VALUES ($1, $2, $3, $4, 'sales', $5, 'EUR', $6, $7, 5000000)",
        [
            (
                c,
                b,
                f"Campaign {i}",
                f"bench-{i}",
                "completed" if i < 40 else "active",
                start + timedelta(days=i % 20),
                today - timedelta(days=1) if i < 40 else today + timedelta(days=30),
            )
            for i, c in enumerate(campaigns)
        ],
    )
    influencers = [uuid.uuid4() for _ in range(INFLUENCERS)]
    accounts = [uuid.uuid4() for _ in range(INFLUENCERS)]
    await conn.executemany(
        "INSERT INTO influencers (id, brand_id, name) VALUES ($1, $2, $3)",
        [(i, b, f"Creator {n}") for n, i in enumerate(influencers)],
    )
    await conn.executemany(
        "INSERT INTO social_accounts (id, brand_id, influencer_id, platform, handle, followers) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (a, b, i, PLATFORMS[n % 3], f"creator{n}", [4_000, 40_000, 400_000, 2_000_000][n % 4])
            for n, (a, i) in enumerate(zip(accounts, influencers, strict=True))
        ],
    )
    # Each influencer works on two campaigns: 1,000 collaborations, 20 per campaign.
    collabs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]] = []
    for n, inf in enumerate(influencers):
        for k in (n % CAMPAIGNS, (n + 25) % CAMPAIGNS):
            collabs.append((uuid.uuid4(), campaigns[k], inf, accounts[n]))
    await conn.executemany(
        "INSERT INTO collaborations (id, brand_id, campaign_id, influencer_id, status, "
        "currency, flat_fee_minor, commission_bps) VALUES ($1, $2, $3, $4, 'active', 'EUR', "
        "$5, 1000)",
        [
            (c, b, camp, inf, 20_000 + (n % 7) * 10_000)
            for n, (c, camp, inf, _a) in enumerate(collabs)
        ],
    )
    links = [uuid.uuid4() for _ in collabs]
    await conn.executemany(
        "INSERT INTO tracking_links (id, brand_id, collaboration_id, code, destination_url) "
        "VALUES ($1, $2, $3, $4, 'https://shop.example.com/')",
        [
            (lk, b, c[0], f"bench{n}x{b.hex[:6]}")
            for n, (lk, c) in enumerate(zip(links, collabs, strict=True))
        ],
    )
    deliverables = [uuid.uuid4() for _ in collabs]
    await conn.executemany(
        "INSERT INTO deliverables (id, brand_id, collaboration_id, type, platform, status) "
        "VALUES ($1, $2, $3, $4, $5, 'published')",
        [
            (d, b, c[0], TYPES[n % len(TYPES)], PLATFORMS[(n // 2) % 3])
            for n, (d, c) in enumerate(zip(deliverables, collabs, strict=True))
        ],
    )
    posts = [uuid.uuid4() for _ in collabs]
    await conn.executemany(
        "INSERT INTO posts (id, brand_id, account_id, platform, external_post_id, content_type, "
        "deliverable_id, campaign_id) VALUES ($1, $2, $3, $4, $5, 'reel', $6, $7)",
        [
            (p, b, c[3], PLATFORMS[(n // 2) % 3], f"bench-post-{n}", d, c[1])
            for n, (p, d, c) in enumerate(zip(posts, deliverables, collabs, strict=True))
        ],
    )
    await conn.executemany(
        "INSERT INTO cost_lines (id, brand_id, campaign_id, collaboration_id, category, "
        "amount_minor, currency, incurred_on) VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7)",
        [(uuid.uuid4(), b, c, None, "agency_fee", 150_000, start) for c in campaigns]
        + [(uuid.uuid4(), b, c[1], c[0], "content_production", 30_000, None) for c in collabs[::5]],
    )
    await conn.executemany(
        "INSERT INTO kpi_targets (id, brand_id, campaign_id, metric, target_value, deadline) "
        "SELECT $1, $2, $3, $4, $5, ends_on FROM campaigns WHERE id = $3",
        [
            (uuid.uuid4(), b, c, metric, value)
            for c in campaigns
            for metric, value in (("clicks", 250_000), ("orders", 20_000), ("roas", 3))
        ],
    )
    return {
        "collabs": [c[0] for c in collabs],
        "collab_campaigns": [c[1] for c in collabs],
        "collab_influencers": [c[2] for c in collabs],
        "links": links,
        "posts": posts,
        "accounts": accounts,
        "integration": [integration],
    }


ROLLUP_TRIGGERS = {
    "clicks": ("insert", "update", "delete"),
    "orders": ("insert", "update", "delete"),
    "commission_entries": ("insert", "delete"),
    "post_metric_snapshots": ("insert", "update", "delete"),
    "post_comments": ("insert", "update", "delete"),
    "follower_snapshots": ("insert", "update", "delete"),
}


async def _triggers(conn: asyncpg.Connection, enable: bool) -> None:
    verb = "ENABLE" if enable else "DISABLE"
    for table, events in ROLLUP_TRIGGERS.items():
        for event in events:
            await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER rollup_mark_{event}")


async def _chunked(
    progress: Progress,
    label: str,
    total: int,
    chunk: int,
    run: Callable[[int, int], Awaitable[None]],
) -> float:
    task = progress.add_task(label, total=total)
    started = time.perf_counter()
    lo = 0
    while lo < total:
        hi = min(lo + chunk, total)
        await run(lo, hi)
        progress.update(task, completed=hi)
        lo = hi
    return time.perf_counter() - started


CLICKS_SQL = """
INSERT INTO clicks (clicked_at, brand_id, link_id, click_id, visitor_hash, device, is_bot,
                    is_unique)
SELECT $1::timestamptz + ((g * 7919) % $6::bigint) * interval '1 second',
       $2,
       ($3::uuid[])[1 + (g * 31 + (g / 1000)) % array_length($3::uuid[], 1)],
       $7::text || g,
       decode(md5(g::text), 'hex'),
       'mobile',
       g % 40 = 0,
       g % 40 <> 0 AND g % 3 <> 0
FROM generate_series($4::bigint, $5::bigint) AS g
"""

ORDERS_SQL = """
INSERT INTO orders (id, brand_id, integration_id, source, external_order_id, status, currency,
                    subtotal_minor, total_minor, refunded_minor, placed_at, source_updated_at,
                    collaboration_id, campaign_id, influencer_id)
SELECT gen_random_uuid(), $2, $3, 'orders', 'bench-' || g,
       CASE WHEN g % 50 = 0 THEN 'cancelled' WHEN g % 97 = 0 THEN 'refunded'
            WHEN g % 31 = 0 THEN 'partially_refunded' ELSE 'paid' END,
       CASE WHEN g % 101 = 0 THEN 'USD' ELSE 'EUR' END,
       2000 + (g * 37) % 18000, 2500 + (g * 37) % 18000,
       CASE WHEN g % 97 = 0 THEN 2500 + (g * 37) % 18000 WHEN g % 31 = 0 THEN 1000 ELSE 0 END,
       $1::timestamptz + ((g * 104729) % $7::bigint) * interval '1 second',
       $1::timestamptz + ((g * 104729) % $7::bigint) * interval '1 second',
       ($4::uuid[])[1 + g % array_length($4::uuid[], 1)],
       ($5::uuid[])[1 + g % array_length($4::uuid[], 1)],
       ($6::uuid[])[1 + g % array_length($4::uuid[], 1)]
FROM generate_series($8::bigint, $9::bigint) AS g
"""

# One earned entry per order that was not cancelled (10 % of the subtotal), and a reversal
# two days later for the refunded part.
ENTRIES_SQL = """
INSERT INTO commission_entries (id, brand_id, kind, status, amount_minor, currency, order_id,
                                collaboration_id, campaign_id, influencer_id, cause, created_at)
SELECT gen_random_uuid(), o.brand_id, 'earned', 'approved', o.subtotal_minor / 10, o.currency,
       o.id, o.collaboration_id, o.campaign_id, o.influencer_id, 'earned',
       o.placed_at + interval '5 minutes'
FROM orders o
WHERE o.brand_id = $1 AND o.status <> 'cancelled'
  AND o.external_order_id >= $2 AND o.external_order_id < $3
UNION ALL
SELECT gen_random_uuid(), o.brand_id, 'reversal', 'approved',
       -(o.subtotal_minor / 10 * least(o.refunded_minor, o.total_minor) / o.total_minor),
       o.currency, o.id, o.collaboration_id, o.campaign_id, o.influencer_id, 'refund:bench',
       least(o.placed_at + interval '2 days', now())
FROM orders o
WHERE o.brand_id = $1 AND o.refunded_minor > 0
  AND o.external_order_id >= $2 AND o.external_order_id < $3
"""

# Per post, readings every ~10.8 hours over 90 days, growing metrics (all reported).
SNAPSHOTS_SQL = """
INSERT INTO post_metric_snapshots (brand_id, post_id, captured_at, likes, comments, shares,
                                   saves, views, impressions, reach)
SELECT $2, p.post_id,
       $1::timestamptz + (s * 38880 + p.n * 7) * interval '1 second',
       s * (20 + p.n % 30), s * (2 + p.n % 4), s * (1 + p.n % 3), s * (p.n % 5),
       s * (400 + p.n % 300), s * (600 + p.n % 500), s * (300 + p.n % 200)
FROM unnest($3::uuid[]) WITH ORDINALITY AS p(post_id, n)
CROSS JOIN generate_series($4::int, $5::int) AS s
"""

COMMENTS_SQL = """
INSERT INTO post_comments (brand_id, post_id, external_id, text, posted_at, sentiment)
SELECT $2, ($3::uuid[])[1 + g % array_length($3::uuid[], 1)], 'c' || g, 'love it',
       $1::timestamptz + ((g * 7919) % $4::bigint) * interval '1 second',
       (ARRAY['positive', 'positive', 'neutral', 'negative', 'unscored'])[1 + g % 5]
FROM generate_series(1, $5::int) AS g
"""

FOLLOWERS_SQL = """
INSERT INTO follower_snapshots (brand_id, account_id, followers, captured_at)
SELECT $2, a.account_id, 10000 + a.n * 10 + s * (5 + a.n % 20),
       $1::timestamptz + s * interval '3 days' + a.n * interval '11 seconds'
FROM unnest($3::uuid[]) WITH ORDINALITY AS a(account_id, n)
CROSS JOIN generate_series(0, 29) AS s
"""


async def load(dsn: str, world: World, clicks: int, orders: int, snapshots: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        for setting in ("max_wal_size = '8GB'", "maintenance_work_mem = '512MB'",
                        "work_mem = '64MB'", "checkpoint_timeout = '30min'"):  # fmt: skip
            await conn.execute(f"ALTER SYSTEM SET {setting}")
        await conn.execute("SELECT pg_reload_conf()")
        ids = await _setup(conn, world)
        t0 = datetime.now(UTC) - timedelta(days=DAYS)
        span = DAYS * 86400 - 3600
        await conn.execute(
            "SELECT vouch_create_click_partitions(date_trunc('month', $1::timestamptz)::date, 5)",
            t0,
        )
        await _triggers(conn, enable=False)
        with _progress() as progress:

            async def click_chunk(lo: int, hi: int) -> None:
                await conn.execute(
                    CLICKS_SQL, t0, world.brand_id, ids["links"], lo, hi - 1, span, "bench"
                )

            world.timings["load_clicks_s"] = await _chunked(
                progress, "clicks", clicks, 500_000, click_chunk
            )

            async def order_chunk(lo: int, hi: int) -> None:
                await conn.execute(
                    ORDERS_SQL, t0, world.brand_id, ids["integration"][0], ids["collabs"],
                    ids["collab_campaigns"], ids["collab_influencers"], span, lo, hi - 1,
                )  # fmt: skip

            world.timings["load_orders_s"] = await _chunked(
                progress, "orders", orders, 100_000, order_chunk
            )
            # external_order_id is 'bench-<n>': entries in ranges of the text order.
            prefixes = [f"bench-{d}" for d in range(1, 10)]
            bounds = ["bench-", *prefixes, "bench-:"]

            async def entry_chunk(lo: int, hi: int) -> None:
                await conn.execute(ENTRIES_SQL, world.brand_id, bounds[lo], bounds[hi])

            world.timings["load_ledger_s"] = await _chunked(
                progress, "commission entries", len(bounds) - 1, 1, entry_chunk
            )
            per_post = max(1, snapshots // len(ids["posts"]))

            async def snapshot_chunk(lo: int, hi: int) -> None:
                await conn.execute(SNAPSHOTS_SQL, t0, world.brand_id, ids["posts"], lo + 1, hi)

            world.timings["load_snapshots_s"] = await _chunked(
                progress, "engagement snapshots", per_post, 20, snapshot_chunk
            )
            task = progress.add_task("comments, followers", total=2)
            started = time.perf_counter()
            await conn.execute(COMMENTS_SQL, t0, world.brand_id, ids["posts"], span, 50_000)
            progress.update(task, completed=1)
            await conn.execute(FOLLOWERS_SQL, t0, world.brand_id, ids["accounts"])
            progress.update(task, completed=2)
            world.timings["load_engagement_extra_s"] = time.perf_counter() - started
        await _triggers(conn, enable=True)
        started = time.perf_counter()
        await conn.execute("ANALYZE")
        world.timings["analyze_s"] = time.perf_counter() - started
        counts = {}
        for table in ("clicks", "orders", "commission_entries", "post_metric_snapshots",
                      "post_comments", "follower_snapshots"):  # fmt: skip
            counts[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE brand_id = $1",  # noqa: S608
                world.brand_id,
            )
        return {"ids": ids, "counts": counts, "t0": t0, "span": span}
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- rollups
async def build_rollups(database_url: str, world: World) -> dict[str, Any]:
    from shared.analytics.rollups import Written, rebuild
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker

    engine = create_engine(Settings(database_url=database_url))
    try:
        with _progress() as progress:
            task = progress.add_task("rebuild rollups (cells)", total=None)

            def step(done: int, total: int, _w: Written) -> None:
                progress.update(task, completed=done, total=total)

            started = time.perf_counter()
            written = await rebuild(
                create_sessionmaker(engine), since=None, brand_id=world.brand_id, on_batch=step
            )
            world.timings["rebuild_s"] = time.perf_counter() - started
        return {
            "links": written.links,
            "sales": written.sales,
            "posts": written.posts,
            "accounts": written.accounts,
        }
    finally:
        await engine.dispose()


async def incremental(database_url: str, world: World, ids: dict[str, Any], n: int) -> None:
    """n more clicks in 5,000-row statements with the triggers on, then with them off (the
    trigger's cost), and the worker step catching the rollups up."""
    from shared.analytics.rollups import DEFAULT_CLAIM, process_dirty
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker

    conn = await asyncpg.connect(_dsn(database_url))
    t0 = datetime.now(UTC) - timedelta(days=3)
    try:
        base = 1

        async def insert(start: int, prefix: str) -> float:
            began = time.perf_counter()
            for lo in range(start, start + n, 5_000):
                await conn.execute(
                    CLICKS_SQL, t0, world.brand_id, ids["links"], lo, lo + 4_999, 2 * 86400,
                    prefix,
                )  # fmt: skip
            return time.perf_counter() - began

        world.timings["insert_100k_clicks_triggers_on_s"] = await insert(base, "inc-on-")
        pending = await conn.fetchval("SELECT count(*) FROM rollup_dirty")
        world.timings["marks_for_100k_clicks"] = float(pending)
        await _triggers(conn, enable=False)
        world.timings["insert_100k_clicks_triggers_off_s"] = await insert(base + n, "inc-off-")
        await _triggers(conn, enable=True)
        # The clicks inserted without marks must still be rolled up: mark their cells by hand
        # (as a rebuild would find them).
        await conn.execute(
            "INSERT INTO rollup_dirty (kind, brand_id, key_id, at) "
            "SELECT DISTINCT 'link', brand_id, link_id, date_bin('15 minutes', clicked_at, "
            "TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM clicks WHERE click_id LIKE 'inc-off-%' "
            "AND brand_id = $1 AND clicked_at >= $2",
            world.brand_id,
            t0,
        )
    finally:
        await conn.close()
    engine = create_engine(Settings(database_url=database_url))
    try:
        sessionmaker = create_sessionmaker(engine)
        began = time.perf_counter()
        marks = 0
        while True:
            async with sessionmaker() as session, session.begin():
                step = await process_dirty(session)
            assert step is not None
            marks += step.marks
            if step.marks < DEFAULT_CLAIM:
                break
        world.timings["incremental_catch_up_s"] = time.perf_counter() - began
        world.timings["incremental_marks"] = float(marks)
    finally:
        await engine.dispose()


async def vacuum(database_url: str, world: World) -> None:
    """What autovacuum does to the rollup tables soon after a rebuild (visibility map, no
    dead rows from the rebuild's delete-and-insert, fresh statistics)."""
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        began = time.perf_counter()
        await conn.execute(
            "VACUUM (ANALYZE) rollup_link_daily, rollup_sales_daily, rollup_post_daily, "
            "rollup_account_daily"
        )
        world.timings["vacuum_rollups_s"] = time.perf_counter() - began
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- raw reads
def raw_sources(tz: str) -> dict[str, str]:
    """Row-level subqueries over raw tables with the columns of each rollup table: the
    report's own aggregations then run over them instead of over the rollups."""
    posts = """
SELECT p.id AS post_id, p.brand_id, p.platform, p.account_id,
       coalesce(dc.campaign_id, p.campaign_id) AS campaign_id,
       coalesce(dc.influencer_id, a.influencer_id) AS influencer_id,
       coalesce(d.type, p.content_type) AS deliverable_type
FROM posts p
LEFT JOIN deliverables d ON d.id = p.deliverable_id
LEFT JOIN collaborations dc ON dc.id = d.collaboration_id
LEFT JOIN social_accounts a ON a.id = p.account_id"""
    lag = "lag({m}, 1, 0::bigint) OVER (PARTITION BY s.post_id ORDER BY s.captured_at)"
    metrics = ["likes", "comments", "shares", "saves", "views", "impressions", "reach"]
    deltas = ", ".join(f"s.{m} - {lag.format(m='s.' + m)} AS {m}" for m in metrics)
    zeros = ", ".join(f"0::bigint AS {m}" for m in metrics)
    return {
        "rollup_link_daily": f"""(
SELECT k.brand_id, (k.clicked_at AT TIME ZONE '{tz}')::date AS day, k.link_id,
       l.collaboration_id, c.campaign_id, c.influencer_id,
       (NOT k.is_bot)::int AS clicks, (NOT k.is_bot AND k.is_unique)::int AS unique_clicks,
       k.is_bot::int AS bot_clicks
FROM clicks k JOIN tracking_links l ON l.id = k.link_id
JOIN collaborations c ON c.id = l.collaboration_id) AS raw_links""",  # noqa: S608 (constant time zone)
        "rollup_sales_daily": f"""(
SELECT o.brand_id, (o.placed_at AT TIME ZONE '{tz}')::date AS day, o.currency,
       c.campaign_id, c.influencer_id, 1 AS orders, o.total_minor AS gross_minor,
       least(o.refunded_minor, o.total_minor) AS refunds_minor,
       0::bigint AS commission_earned_minor, 0::bigint AS commission_reversed_minor
FROM orders o JOIN collaborations c ON c.id = o.collaboration_id WHERE o.status <> 'cancelled'
UNION ALL
SELECT e.brand_id, (e.created_at AT TIME ZONE '{tz}')::date, e.currency, c.campaign_id,
       c.influencer_id, 0, 0, 0, greatest(e.amount_minor, 0), greatest(-e.amount_minor, 0)
FROM commission_entries e JOIN collaborations c ON c.id = e.collaboration_id) AS raw_sales""",  # noqa: S608 (constant time zone)
        "rollup_post_daily": f"""(
WITH p AS ({posts})
SELECT p.brand_id, p.campaign_id, p.influencer_id, p.account_id, p.platform,
       p.deliverable_type, (s.captured_at AT TIME ZONE '{tz}')::date AS day, {deltas},
       0 AS comments_positive, 0 AS comments_neutral, 0 AS comments_negative,
       0 AS comments_unscored
FROM post_metric_snapshots s JOIN p ON p.post_id = s.post_id WHERE p.campaign_id IS NOT NULL
UNION ALL
SELECT p.brand_id, p.campaign_id, p.influencer_id, p.account_id, p.platform,
       p.deliverable_type, (coalesce(c.posted_at, c.created_at) AT TIME ZONE '{tz}')::date,
       {zeros},
       (c.sentiment = 'positive')::int, (c.sentiment = 'neutral')::int,
       (c.sentiment = 'negative')::int, (c.sentiment = 'unscored')::int
FROM post_comments c JOIN p ON p.post_id = c.post_id WHERE p.campaign_id IS NOT NULL)""",  # noqa: S608 (constant time zone)
        "rollup_account_daily": f"""(
SELECT f.brand_id, a.influencer_id, (f.captured_at AT TIME ZONE '{tz}')::date AS day,
       f.followers - lag(f.followers, 1, f.followers)
         OVER (PARTITION BY f.account_id ORDER BY f.captured_at) AS new_followers
FROM follower_snapshots f JOIN social_accounts a ON a.id = f.account_id) AS raw_followers""",  # noqa: S608 (constant time zone)
    }


class RawReads:
    """Swap the report repository's rollup reads for the raw subqueries (while active)."""

    def __init__(self, tz: str) -> None:
        from shared.analytics import repository

        self.repository = repository
        self.original = repository.fetch_rows
        self.sources = raw_sources(tz)

    def __enter__(self) -> RawReads:
        sources = self.sources
        original = self.original

        async def rows(session: Any, sql: str, params: dict[str, Any]) -> Any:
            for table, sub in sources.items():
                sql = sql.replace(table, sub)
            return await original(session, sql, params)

        self.repository.fetch_rows = rows  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self.repository.fetch_rows = self.original  # type: ignore[assignment]


# ----------------------------------------------------------------------------- timing
async def time_service(
    database_url: str, world: World, requests: int, *, raw: bool = False
) -> tuple[list[float], list[dict[str, Any]]]:
    from shared.analytics.reports import campaign_report
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker

    engine = create_engine(Settings(database_url=database_url))
    sessionmaker = create_sessionmaker(engine)
    latencies: list[float] = []
    reports: list[dict[str, Any]] = []
    try:
        for i in range(requests + 3):  # 3 warm-up requests, not counted
            campaign = world.campaigns[i % len(world.campaigns)]
            began = time.perf_counter()
            async with sessionmaker() as session:
                if raw:
                    with RawReads(TZ):
                        report = await campaign_report(session, world.brand_id, campaign)
                else:
                    report = await campaign_report(session, world.brand_id, campaign)
            elapsed = time.perf_counter() - began
            if i >= 3:
                latencies.append(elapsed * 1000)
                if i - 3 < len(world.campaigns):
                    reports.append(report)
    finally:
        await engine.dispose()
    return latencies, reports


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, bool]:
        return {"ok": True}

    return app


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(uvicorn_command(app, port, factory=True), cwd=ROOT, env=env)


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def time_http(urls: Any, world: World, requests: int) -> dict[str, list[float]]:
    env = {
        **os.environ,
        "VOUCH_DATABASE_URL": urls.database_url,
        "VOUCH_REDIS_URL": urls.redis_url,
        "VOUCH_LOG_LEVEL": "WARNING",
    }
    api_port, bare_port = _free_port(), _free_port()
    api = _serve("services.api.main:create_app", api_port, env)
    bare = _serve("bench.reports:bare_app", bare_port, env)
    out: dict[str, list[float]] = {"http": [], "bare": []}
    try:
        _wait(f"http://127.0.0.1:{api_port}/healthz")
        _wait(f"http://127.0.0.1:{bare_port}/bare")
        headers = {"authorization": f"Bearer {world.key}"}
        with httpx.Client(timeout=60) as client:
            for i in range(requests + 3):
                campaign = world.campaigns[i % len(world.campaigns)]
                began = time.perf_counter()
                resp = client.get(
                    f"http://127.0.0.1:{api_port}/v1/campaigns/{campaign}/report",
                    headers=headers,
                )
                elapsed = (time.perf_counter() - began) * 1000
                resp.raise_for_status()
                if i >= 3:
                    out["http"].append(elapsed)
            for i in range(requests + 3):
                began = time.perf_counter()
                client.get(f"http://127.0.0.1:{bare_port}/bare").raise_for_status()
                if i >= 3:
                    out["bare"].append((time.perf_counter() - began) * 1000)
    finally:
        for proc in (api, bare):
            proc.terminate()
            proc.wait(timeout=15)
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "requests": len(values),
        "p50_ms": statistics.median(values),
        "p95_ms": _pct(values, 0.95),
        "max_ms": max(values),
    }


def main(argv: list[str]) -> None:
    opts = {"clicks": 10_000_000, "orders": 1_000_000, "snapshots": 200_000,
            "requests": 100, "raw-requests": 100}  # fmt: skip
    http = True
    database_url: str | None = None
    for arg in argv:
        if arg == "--no-http":
            http = False
        elif arg.startswith("--database-url="):
            database_url = arg.split("=", 1)[1]
        elif arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            if name not in opts:
                sys.exit(f"unknown option --{name}")
            opts[name] = int(value)

    from shared.db.engine import normalize_database_url
    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers, ServerUrls

    data_dir = Path(tempfile.mkdtemp(prefix="vouch-bench-reports-"))
    servers = None
    started = time.perf_counter()
    try:
        if database_url:
            urls = ServerUrls(database_url=normalize_database_url(database_url), redis_url="")
            http = False  # the API needs a Redis URL: use the service figures
        else:
            servers = EmbeddedServers(data_dir, durable=False)
            urls = servers.start()
        upgrade(urls.database_url)
        world = World()
        console.print(
            f"loading {opts['clicks']:,} clicks, {opts['orders']:,} orders, "
            f"{opts['snapshots']:,} snapshots; {CAMPAIGNS} campaigns, {INFLUENCERS} influencers"
        )
        loaded = asyncio.run(
            load(_dsn(urls.database_url), world, opts["clicks"], opts["orders"], opts["snapshots"])
        )
        console.print(f"rows: {loaded['counts']}")
        written = asyncio.run(build_rollups(urls.database_url, world))
        console.print(f"rollup rows: {written}")
        asyncio.run(incremental(urls.database_url, world, loaded["ids"], 100_000))
        asyncio.run(vacuum(urls.database_url, world))

        service, rollup_reports = asyncio.run(
            time_service(urls.database_url, world, opts["requests"])
        )
        raw, raw_reports = asyncio.run(
            time_service(urls.database_url, world, opts["raw-requests"], raw=True)
        )
        mismatches = sum(1 for a, b in zip(rollup_reports, raw_reports, strict=False) if a != b)
        compared = min(len(rollup_reports), len(raw_reports))
        web = time_http(urls, world, opts["requests"]) if http else None

        result: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "rows": loaded["counts"],
            "rollup_rows": written,
            "timings_s": {k: round(v, 3) for k, v in world.timings.items()},
            "service": _summary(service),
            "raw": _summary(raw),
            "raw_vs_rollup_p50": statistics.median(raw) / statistics.median(service),
            "raw_vs_rollup_p95": _pct(raw, 0.95) / _pct(service, 0.95),
            "reports_compared": compared,
            "reports_equal": compared - mismatches,
        }
        if web:
            result["http"] = _summary(web["http"])
            result["bare"] = _summary(web["bare"])
            result["http_vs_bare_p50"] = statistics.median(web["http"]) / statistics.median(
                web["bare"]
            )
        result["total_s"] = round(time.perf_counter() - started, 1)

        console.print()
        for key, value in result["timings_s"].items():
            console.print(f"  {key:36s} {value:10.3f}")
        console.print()
        rows = [("service (rollups)", result["service"]), ("raw tables", result["raw"])]
        if web:
            rows += [
                ("http (rollups, uvicorn)", result["http"]),
                ("bare FastAPI GET", result["bare"]),
            ]
        for label, s in rows:
            console.print(
                f"  {label:26s} n={s['requests']:<4d} p50 {s['p50_ms']:9.2f} ms   "
                f"p95 {s['p95_ms']:9.2f} ms   max {s['max_ms']:9.2f} ms"
            )
        console.print(
            f"  raw / rollup: p50 {result['raw_vs_rollup_p50']:.1f}x, "
            f"p95 {result['raw_vs_rollup_p95']:.1f}x; reports equal: "
            f"{result['reports_equal']}/{result['reports_compared']}"
        )
        if web:
            console.print(f"  http report / bare GET p50: {result['http_vs_bare_p50']:.1f}x")
        console.print(f"  total {result['total_s']} s")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
        if mismatches:
            sys.exit(f"{mismatches} raw reports differ from the rollup ones")
    finally:
        if servers is not None:
            servers.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
