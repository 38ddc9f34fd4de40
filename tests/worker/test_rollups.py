"""Daily rollups: triggers mark what raw writes touch, the worker recomputes exactly those
cells, and `rebuild` (the same recompute over everything) gives the same rows."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.jobs.rollups import refresh_rollups
from shared.analytics.rollups import rebuild
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.models import AccountDaily, LinkDaily, PostDaily, SalesDaily
from tests.factories import (
    ReportCollab,
    Tenant,
    add_clicks,
    add_comment,
    add_followers,
    add_order,
    add_post,
    add_reversal,
    add_snapshot,
    make_report_campaign,
    make_report_collab,
    make_tenant,
    run_rollups,
    set_brand,
    update_order,
)

SM = async_sessionmaker[AsyncSession]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def rows_of(sessionmaker: SM, brand_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every rollup row of the brand, in a stable order (comparable across runs)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with sessionmaker() as session:
        for model in (LinkDaily, SalesDaily, PostDaily, AccountDaily):
            table = model.__table__
            rows = (await session.execute(select(table).where(table.c.brand_id == brand_id))).all()
            out[table.name] = sorted(
                (dict(r._mapping) for r in rows), key=lambda d: str(sorted(d.items()))
            )
    return out


async def link_days(sessionmaker: SM, link_id: uuid.UUID) -> dict[date, tuple[int, int, int]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                LinkDaily.day, LinkDaily.clicks, LinkDaily.unique_clicks, LinkDaily.bot_clicks
            ).where(LinkDaily.link_id == link_id)
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def sales_days(
    sessionmaker: SM, collab_id: uuid.UUID
) -> dict[tuple[date, str], tuple[int, ...]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                SalesDaily.day,
                SalesDaily.currency,
                SalesDaily.orders,
                SalesDaily.gross_minor,
                SalesDaily.refunds_minor,
                SalesDaily.commission_earned_minor,
                SalesDaily.commission_reversed_minor,
            ).where(SalesDaily.collaboration_id == collab_id)
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


async def setup(sessionmaker: SM, tenant: Tenant, tz: str = "UTC") -> ReportCollab:
    await set_brand(sessionmaker, tenant.brand_id, timezone=tz)
    campaign = await make_report_campaign(sessionmaker, tenant.brand_id)
    return await make_report_collab(sessionmaker, tenant.brand_id, campaign)


async def test_clicks_roll_up_by_the_brands_local_day(sessionmaker: SM, tenant: Tenant) -> None:
    rc = await setup(sessionmaker, tenant, "America/New_York")  # UTC-5 in March before DST
    await add_clicks(
        sessionmaker,
        rc,
        [utc(2026, 3, 1, 4, 59), utc(2026, 3, 1, 5, 0), utc(2026, 3, 1, 5, 30)],
    )
    await add_clicks(sessionmaker, rc, [utc(2026, 3, 1, 6)], unique=False)
    await add_clicks(sessionmaker, rc, [utc(2026, 3, 1, 7)], bot=True)
    await run_rollups(sessionmaker)
    # 04:59Z is 23:59 on Feb 28 in New York; 05:00Z is midnight of Mar 1.
    assert await link_days(sessionmaker, rc.link_id) == {
        date(2026, 2, 28): (1, 1, 0),
        date(2026, 3, 1): (3, 2, 1),
    }


async def test_dst_day_boundaries(sessionmaker: SM, tenant: Tenant) -> None:
    rc = await setup(sessionmaker, tenant, "Europe/Berlin")
    # 2026-03-29: clocks go 02:00 -> 03:00; the local day is 23 hours, 22:00Z..22:00Z.
    await add_clicks(
        sessionmaker,
        rc,
        [utc(2026, 3, 28, 22, 59), utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 21, 59),
         utc(2026, 3, 29, 22, 0)],
    )  # fmt: skip
    await run_rollups(sessionmaker)
    assert await link_days(sessionmaker, rc.link_id) == {
        date(2026, 3, 28): (1, 1, 0),  # 23:59 CET
        date(2026, 3, 29): (2, 2, 0),  # 00:00 CET .. 23:59 CEST
        date(2026, 3, 30): (1, 1, 0),  # 00:00 CEST
    }


async def test_late_click_updates_its_own_day_only(sessionmaker: SM, tenant: Tenant) -> None:
    rc = await setup(sessionmaker, tenant)
    await add_clicks(sessionmaker, rc, [utc(2026, 5, 10, 12), utc(2026, 5, 12, 12)])
    await run_rollups(sessionmaker)
    before = await link_days(sessionmaker, rc.link_id)
    # A click from two days ago arrives late (a reclaimed stream entry).
    await add_clicks(sessionmaker, rc, [utc(2026, 5, 10, 23, 59)])
    await run_rollups(sessionmaker)
    after = await link_days(sessionmaker, rc.link_id)
    assert after[date(2026, 5, 10)] == (2, 2, 0)
    assert after[date(2026, 5, 12)] == before[date(2026, 5, 12)] == (1, 1, 0)


async def test_sales_refunds_cancellations_currencies_and_ledger(
    sessionmaker: SM, tenant: Tenant
) -> None:
    rc = await setup(sessionmaker, tenant, "Asia/Tokyo")  # UTC+9
    day = date(2026, 6, 1)
    a = await add_order(sessionmaker, rc, utc(2026, 5, 31, 15, 0), 10_000, commission_minor=1_000)
    await add_order(sessionmaker, rc, utc(2026, 6, 1, 14, 59), 5_000, refunded_minor=2_000)
    await add_order(sessionmaker, rc, utc(2026, 6, 1, 3), 7_000, status="cancelled")
    await add_order(sessionmaker, rc, utc(2026, 6, 1, 3), 3_000, currency="EUR")
    # Over-refunded (shipping refunded twice by the store): capped at the total.
    await add_order(sessionmaker, rc, utc(2026, 6, 1, 4), 1_000, refunded_minor=1_500)
    await run_rollups(sessionmaker)
    assert await sales_days(sessionmaker, rc.collaboration_id) == {
        (day, "USD"): (3, 16_000, 3_000, 1_000, 0),
        (day, "EUR"): (1, 3_000, 0, 0, 0),
    }
    # A refund of order a, booked (reversal) the next local day.
    await update_order(sessionmaker, a, refunded_minor=4_000, status="partially_refunded")
    await add_reversal(sessionmaker, rc, a, -400, utc(2026, 6, 1, 16))  # June 2 in Tokyo
    await run_rollups(sessionmaker)
    got = await sales_days(sessionmaker, rc.collaboration_id)
    assert got[(day, "USD")] == (3, 16_000, 7_000, 1_000, 0)
    assert got[(date(2026, 6, 2), "USD")] == (0, 0, 0, 0, 400)
    # Cancelling the order takes it out of the counts altogether.
    await update_order(sessionmaker, a, status="cancelled")
    await run_rollups(sessionmaker)
    got = await sales_days(sessionmaker, rc.collaboration_id)
    assert got[(day, "USD")] == (2, 6_000, 3_000, 1_000, 0)


async def test_an_order_moved_to_another_day_or_collaboration(
    sessionmaker: SM, tenant: Tenant
) -> None:
    rc = await setup(sessionmaker, tenant)
    other = await make_report_collab(sessionmaker, tenant.brand_id, rc.campaign_id)
    order = await add_order(sessionmaker, rc, utc(2026, 7, 1, 12), 2_500)
    await run_rollups(sessionmaker)
    # The store corrects the order's date; then attribution moves it.
    await update_order(sessionmaker, order, placed_at=utc(2026, 7, 3, 12))
    await run_rollups(sessionmaker)
    assert await sales_days(sessionmaker, rc.collaboration_id) == {
        (date(2026, 7, 3), "USD"): (1, 2_500, 0, 0, 0)
    }
    await update_order(sessionmaker, order, collaboration_id=other.collaboration_id)
    await run_rollups(sessionmaker)
    assert await sales_days(sessionmaker, rc.collaboration_id) == {}
    assert await sales_days(sessionmaker, other.collaboration_id) == {
        (date(2026, 7, 3), "USD"): (1, 2_500, 0, 0, 0)
    }


async def post_rows(sessionmaker: SM, post_id: uuid.UUID) -> dict[date, dict[str, int]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(PostDaily).where(PostDaily.post_id == post_id))
        return {
            r.day: {
                k: getattr(r, k)
                for k in (
                    "likes",
                    "views",
                    "impressions",
                    "reach",
                    "comments_positive",
                    "comments_negative",
                    "comments_unscored",
                )
            }
            for r in rows.scalars()
        }


async def test_post_deltas_with_a_late_snapshot_and_a_dropped_metric(
    sessionmaker: SM, tenant: Tenant
) -> None:
    rc = await setup(sessionmaker, tenant)
    post = await add_post(sessionmaker, rc)
    b = tenant.brand_id
    await add_snapshot(sessionmaker, b, post, utc(2026, 8, 1, 10), likes=10, impressions=100)
    await add_snapshot(sessionmaker, b, post, utc(2026, 8, 1, 20), likes=15, impressions=150)
    # The platform stops reporting impressions; views appear.
    await add_snapshot(sessionmaker, b, post, utc(2026, 8, 3, 9), likes=40, views=500)
    await run_rollups(sessionmaker)
    assert await post_rows(sessionmaker, post) == {
        date(2026, 8, 1): {"likes": 15, "views": 0, "impressions": 150, "reach": 0,
                           "comments_positive": 0, "comments_negative": 0,
                           "comments_unscored": 0},
        date(2026, 8, 3): {"likes": 25, "views": 500, "impressions": 0, "reach": 0,
                           "comments_positive": 0, "comments_negative": 0,
                           "comments_unscored": 0},
    }  # fmt: skip
    # A reading of Aug 2 arrives late: Aug 2 gets its growth, Aug 3 keeps the rest.
    await add_snapshot(sessionmaker, b, post, utc(2026, 8, 2, 12), likes=30, impressions=170)
    await add_comment(sessionmaker, b, post, utc(2026, 8, 2, 13), "positive")
    await add_comment(sessionmaker, b, post, utc(2026, 8, 2, 14), "negative")
    await add_comment(sessionmaker, b, post, utc(2026, 8, 3, 1), "unscored")
    await run_rollups(sessionmaker)
    rows = await post_rows(sessionmaker, post)
    assert rows[date(2026, 8, 2)] == {
        "likes": 15, "views": 0, "impressions": 20, "reach": 0,
        "comments_positive": 1, "comments_negative": 1, "comments_unscored": 0,
    }  # fmt: skip
    assert rows[date(2026, 8, 3)]["likes"] == 10
    assert rows[date(2026, 8, 3)]["comments_unscored"] == 1
    # Over all days: the latest value of each metric.
    assert sum(r["likes"] for r in rows.values()) == 40
    assert sum(r["impressions"] for r in rows.values()) == 170


async def test_posts_follow_their_links(sessionmaker: SM, tenant: Tenant) -> None:
    rc = await setup(sessionmaker, tenant)
    loose = await add_post(sessionmaker, rc, via="none")
    await add_snapshot(sessionmaker, tenant.brand_id, loose, utc(2026, 8, 1, 10), likes=5)
    await run_rollups(sessionmaker)
    assert await post_rows(sessionmaker, loose) == {}  # in no campaign: in no report
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE posts SET campaign_id = :c WHERE id = :p"),
            {"c": rc.campaign_id, "p": loose},
        )
    await run_rollups(sessionmaker)
    assert (await post_rows(sessionmaker, loose))[date(2026, 8, 1)]["likes"] == 5


async def test_new_followers_start_from_the_first_reading(sessionmaker: SM, tenant: Tenant) -> None:
    rc = await setup(sessionmaker, tenant)
    await add_followers(sessionmaker, rc, utc(2026, 9, 1, 8), 20_100)
    await add_followers(sessionmaker, rc, utc(2026, 9, 1, 20), 20_150)
    await add_followers(sessionmaker, rc, utc(2026, 9, 4, 8), 20_400)
    await run_rollups(sessionmaker)
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AccountDaily.day, AccountDaily.followers, AccountDaily.new_followers)
                .where(AccountDaily.account_id == rc.account_id)
                .order_by(AccountDaily.day)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (date(2026, 9, 1), 20_150, 50),
        (date(2026, 9, 4), 20_400, 250),
    ]


async def test_a_time_zone_change_rebuilds_the_brand(
    sessionmaker: SM, tenant: Tenant, settings: Settings
) -> None:
    rc = await setup(sessionmaker, tenant)
    await add_clicks(sessionmaker, rc, [utc(2026, 10, 5, 2)])
    await run_rollups(sessionmaker)
    assert await link_days(sessionmaker, rc.link_id) == {date(2026, 10, 5): (1, 1, 0)}
    await set_brand(sessionmaker, tenant.brand_id, timezone="America/Los_Angeles")
    ctx: Any = {"settings": settings, "sessionmaker": sessionmaker}
    result = await refresh_rollups(ctx)
    assert result["rebuilt_brands"] >= 1
    assert await link_days(sessionmaker, rc.link_id) == {date(2026, 10, 4): (1, 1, 0)}


async def test_rebuild_since_a_date_leaves_earlier_rows_alone(
    sessionmaker: SM, tenant: Tenant
) -> None:
    rc = await setup(sessionmaker, tenant)
    await add_clicks(sessionmaker, rc, [utc(2026, 4, 1, 12), utc(2026, 4, 20, 12)])
    await run_rollups(sessionmaker)
    before = await rows_of(sessionmaker, tenant.brand_id)
    # Damage both days, then rebuild from Apr 10 on: only Apr 20 is repaired.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE rollup_link_daily SET clicks = 99 WHERE link_id = :l"), {"l": rc.link_id}
        )
    await rebuild(sessionmaker, since=date(2026, 4, 10), brand_id=tenant.brand_id)
    days = await link_days(sessionmaker, rc.link_id)
    assert days[date(2026, 4, 1)][0] == 99
    assert days[date(2026, 4, 20)] == (1, 1, 0)
    await rebuild(sessionmaker, since=None, brand_id=tenant.brand_id)
    assert await rows_of(sessionmaker, tenant.brand_id) == before


# ----------------------------------------------------------------------------- property
# A random history of raw writes (each with a random time over five days), with incremental
# refreshes at random points between them; at the end, the rows the incremental runs left
# must equal a rebuild from scratch, and the click and sales rows an independent oracle.
TZS = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Europe/Berlin"]
BASE = utc(2026, 3, 27)  # spans the 2026-03-29 European DST change

minute = st.integers(min_value=0, max_value=5 * 24 * 60 - 1)
event = st.one_of(
    st.tuples(st.just("click"), st.integers(0, 1), minute, st.booleans(), st.booleans()),
    st.tuples(
        st.just("order"),
        st.integers(0, 1),
        minute,
        st.integers(0, 50_000),
        st.sampled_from(["paid", "pending", "cancelled", "refunded"]),
        st.sampled_from(["USD", "USD", "EUR"]),
    ),
    st.tuples(st.just("refund"), st.integers(0, 10), st.integers(0, 50_000), minute),
    st.tuples(st.just("move"), st.integers(0, 10), minute),
    st.tuples(st.just("snapshot"), st.integers(0, 1), minute, st.integers(0, 1000)),
    st.tuples(
        st.just("comment"), st.integers(0, 1), minute, st.sampled_from(["positive", "negative"])
    ),
    st.tuples(st.just("followers"), st.integers(0, 1), minute, st.integers(0, 100_000)),
    st.just(("refresh",)),
)


async def _history(url: str, redis_url: str, tz: str, events: list[tuple[Any, ...]]) -> None:
    settings = Settings(env="test", database_url=url, redis_url=redis_url)
    engine = create_engine(settings)
    sm = create_sessionmaker(engine)
    try:
        tenant = await make_tenant(sm, "Property brand")
        await set_brand(sm, tenant.brand_id, timezone=tz)
        campaign = await make_report_campaign(sm, tenant.brand_id)
        collabs = [await make_report_collab(sm, tenant.brand_id, campaign) for _ in range(2)]
        posts = [await add_post(sm, c) for c in collabs]
        orders: list[tuple[uuid.UUID, int]] = []  # (order id, total)
        order_state: dict[uuid.UUID, dict[str, Any]] = {}
        clicks: list[tuple[int, datetime, bool, bool]] = []
        seen_snapshots: set[tuple[int, datetime]] = set()
        seen_followers: set[tuple[int, datetime]] = set()
        for ev in events:
            kind = ev[0]
            if kind == "click":
                _, who, m, bot, unique = ev
                at = BASE + timedelta(minutes=m)
                await add_clicks(sm, collabs[who], [at], bot=bot, unique=unique)
                clicks.append((who, at, bot, unique))
            elif kind == "order":
                _, who, m, total, status, currency = ev
                at = BASE + timedelta(minutes=m)
                oid = await add_order(
                    sm, collabs[who], at, total, status=status, currency=currency,
                    refunded_minor=total if status == "refunded" else 0,
                    commission_minor=total // 10,
                )  # fmt: skip
                orders.append((oid, total))
                order_state[oid] = {"who": who, "at": at, "total": total, "status": status,
                                    "currency": currency,
                                    "refunded": total if status == "refunded" else 0}  # fmt: skip
            elif kind == "refund" and orders:
                _, i, amount, m = ev
                oid, total = orders[i % len(orders)]
                await update_order(sm, oid, refunded_minor=amount)
                order_state[oid]["refunded"] = amount
                st_ = order_state[oid]
                await add_reversal(
                    sm, collabs[st_["who"]], oid, -(amount // 10),
                    BASE + timedelta(minutes=m), currency=st_["currency"],
                )  # fmt: skip
            elif kind == "move" and orders:
                _, i, m = ev
                oid, _total = orders[i % len(orders)]
                at = BASE + timedelta(minutes=m)
                await update_order(sm, oid, placed_at=at)
                order_state[oid]["at"] = at
            elif kind == "snapshot":
                _, who, m, likes = ev
                at = BASE + timedelta(minutes=m)
                if (who, at) not in seen_snapshots:
                    seen_snapshots.add((who, at))
                    await add_snapshot(
                        sm, tenant.brand_id, posts[who], at, likes=likes, views=likes * 3
                    )
            elif kind == "comment":
                _, who, m, label = ev
                await add_comment(
                    sm, tenant.brand_id, posts[who], BASE + timedelta(minutes=m), label
                )
            elif kind == "followers":
                _, who, m, n = ev
                at = BASE + timedelta(minutes=m)
                if (who, at) not in seen_followers:
                    seen_followers.add((who, at))
                    await add_followers(sm, collabs[who], at, n)
            elif kind == "refresh":
                await run_rollups(sm)
        await run_rollups(sm)
        incremental = await rows_of(sm, tenant.brand_id)
        await rebuild(sm, since=None, brand_id=tenant.brand_id)
        rebuilt = await rows_of(sm, tenant.brand_id)
        assert incremental == rebuilt

        # Oracle for clicks and orders, straight from the event list.
        zone = ZoneInfo(tz)
        expect_links: dict[tuple[uuid.UUID, date], list[int]] = defaultdict(lambda: [0, 0, 0])
        for who, at, bot, unique in clicks:
            cell = expect_links[(collabs[who].link_id, at.astimezone(zone).date())]
            if bot:
                cell[2] += 1
            else:
                cell[0] += 1
                cell[1] += 1 if unique else 0
        got_links = {
            (r["link_id"], r["day"]): [r["clicks"], r["unique_clicks"], r["bot_clicks"]]
            for r in incremental["rollup_link_daily"]
        }
        assert got_links == dict(expect_links)
        expect_orders: dict[tuple[uuid.UUID, date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for s in order_state.values():
            if s["status"] == "cancelled":
                continue
            cell = expect_orders[
                (collabs[s["who"]].collaboration_id, s["at"].astimezone(zone).date(), s["currency"])
            ]
            cell[0] += 1
            cell[1] += s["total"]
            cell[2] += min(s["refunded"], s["total"])
        got_orders = {
            (r["collaboration_id"], r["day"], r["currency"]): [
                r["orders"],
                r["gross_minor"],
                r["refunds_minor"],
            ]
            for r in incremental["rollup_sales_daily"]
            if r["orders"] or r["gross_minor"] or r["refunds_minor"]
        }
        assert got_orders == {k: v for k, v in expect_orders.items() if any(v)}
    finally:
        await engine.dispose()


async def test_rebuild_equals_incremental(settings: Settings) -> None:
    url, redis_url = settings.database_url or "", settings.redis_url or ""

    @hsettings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(tz=st.sampled_from(TZS), events=st.lists(event, min_size=1, max_size=25))
    def check(tz: str, events: list[tuple[Any, ...]]) -> None:
        asyncio.run(_history(url, redis_url, tz, events))

    # Hypothesis drives a synchronous test; each example runs on its own event loop (and
    # engine) in a worker thread, away from the suite's loop.
    await asyncio.to_thread(check)


async def test_cli_rebuild(sessionmaker: SM, tenant: Tenant, settings: Settings) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    rc = await setup(sessionmaker, tenant)
    await add_clicks(sessionmaker, rc, [utc(2026, 4, 2, 12)] * 3)
    await run_rollups(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("DELETE FROM rollup_link_daily WHERE link_id = :l"), {"l": rc.link_id}
        )
    env = {
        **os.environ,
        "VOUCH_ENV": "test",
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": settings.redis_url or "",
    }

    def vouch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "rollups", "rebuild", *args],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = await asyncio.to_thread(vouch, "--since", "2026-04-01", "--brand", str(tenant.brand_id))
    assert done.returncode == 0, done.stderr
    assert "rollup rows written: links 1" in done.stdout
    assert await link_days(sessionmaker, rc.link_id) == {date(2026, 4, 2): (3, 3, 0)}
    bad = await asyncio.to_thread(vouch, "--since", "April")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


async def test_the_worker_runs_the_refresh(
    sessionmaker: SM, tenant: Tenant, settings: Settings
) -> None:
    from arq.connections import create_pool
    from arq.worker import Worker

    from services.worker.settings import CRON_JOBS, FUNCTIONS, redis_settings, worker_settings
    from shared.jobs import JobName

    assert JobName.REFRESH_ROLLUPS in {f.name for f in FUNCTIONS}
    assert "cron:refresh_rollups" in {c.name for c in CRON_JOBS}
    rc = await setup(sessionmaker, tenant)
    await add_clicks(sessionmaker, rc, [utc(2026, 6, 6, 6)] * 2)
    queue = await create_pool(redis_settings(settings))
    try:
        job = await queue.enqueue_job(JobName.REFRESH_ROLLUPS.value)
        assert job is not None
        kwargs = worker_settings(settings) | {
            "burst": True,
            "handle_signals": False,
            "cron_jobs": [],
        }
        worker = Worker(**kwargs)
        try:
            await worker.main()
        finally:
            await worker.close()
    finally:
        await queue.aclose()
    assert await link_days(sessionmaker, rc.link_id) == {date(2026, 6, 6): (2, 2, 0)}
