"""Engagement ingestion and signal recomputes in batches: a claimed inbox batch is ingested
as one unit (merged per post, set-based writes in a global lock order), and one recompute job
computes many stale accounts in one transaction. Each test compares the batched result with
the one-at-a-time result, or runs batches against each other on real connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from arq.connections import ArqRedis, create_pool
from arq.constants import default_queue_name
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import shared.engagement.handlers  # noqa: F401  (registers the engagement handlers)
from services.worker.jobs import engagement as engagement_jobs
from services.worker.jobs.engagement import recompute_account_signals, sweep_stale_signals
from services.worker.settings import redis_settings
from shared.config import Settings
from shared.engagement.service import signals_job_id
from shared.engagement.signals import is_stale, recompute, recompute_many
from shared.models import (
    AccountFeatures,
    AccountSignals,
    FollowerSnapshot,
    Post,
    PostComment,
    PostMetricSnapshot,
    SocialAccount,
    WebhookEvent,
)
from tests.factories import (
    StoreIntegration,
    Tenant,
    deliver_engagement,
    engagement_post,
    insert_webhook_event,
    make_influencer,
    make_integration,
    process_together,
)


def _at(day: int, hour: int = 12) -> str:
    return datetime(2026, 11, day, hour, tzinfo=UTC).isoformat()


async def _events(
    sessionmaker: async_sessionmaker[AsyncSession],
    integration: StoreIntegration,
    bodies: Sequence[dict[str, Any] | bytes],
) -> list[uuid.UUID]:
    ids = []
    for body in bodies:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        ids.append(
            await insert_webhook_event(
                sessionmaker, integration, source="engagement", topic="engagement", body=raw
            )
        )
    return ids


async def _statuses(
    sessionmaker: async_sessionmaker[AsyncSession], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(WebhookEvent.id, WebhookEvent.status, WebhookEvent.last_error).where(
                WebhookEvent.id.in_(list(ids))
            )
        )
        return {r.id: (r.status, r.last_error) for r in rows}


async def _roster(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, *handles: str
) -> dict[str, uuid.UUID]:
    await make_influencer(
        sessionmaker,
        tenant.brand_id,
        accounts=[{"platform": "instagram", "handle": h, "followers": 20_000} for h in handles],
    )
    async with sessionmaker() as session:
        rows = await session.execute(
            select(SocialAccount.handle, SocialAccount.id).where(
                SocialAccount.brand_id == tenant.brand_id
            )
        )
        return {r.handle: r.id for r in rows}


def _history(handle: str) -> list[dict[str, Any]]:
    """Four deliveries touching the same posts: a new post and its caption edit (adding
    #ad), a late older snapshot, a repeated comment, an unmatched post, follower readings."""
    account = {"platform": "instagram", "handle": handle}
    return [
        {
            "account": {**account, "followers": 20_000},
            "captured_at": _at(2),
            "posts": [
                engagement_post(
                    "B1",
                    caption="Morning run",
                    metrics={"likes": 100, "comments": 4},
                    comments=[{"id": "c1", "text": "Love this!"}],
                )
            ],
        },
        {
            "account": {**account, "followers": 21_000},
            "captured_at": _at(4),
            "posts": [
                engagement_post(
                    "B1",
                    caption="Morning run #ad",
                    metrics={"likes": 300, "views": 9_000},
                    comments=[
                        {"id": "c1", "text": "Love this!"},
                        {"id": "c2", "text": "This broke after a week, awful"},
                    ],
                ),
                engagement_post("B2", metrics={"likes": 50}),
            ],
        },
        {  # late: an older reading of B1 must not overwrite the newer values
            "account": account,
            "captured_at": _at(3),
            "posts": [{"external_post_id": "B1", "metrics": {"likes": 200, "saves": 7}}],
        },
        {  # somebody else's post mentioning nobody on the roster
            "account": {"platform": "instagram", "handle": "stranger"},
            "captured_at": _at(3),
            "posts": [
                engagement_post("B3", metrics={"likes": 9}, comments=[{"id": "s1", "text": "ok"}])
            ],
        },
    ]


async def _state(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID
) -> dict[str, Any]:
    """What ingestion stored for a brand, without ids."""
    async with sessionmaker() as session:
        posts = {
            p.external_post_id: (
                p.caption,
                p.disclosed,
                p.sponsored,
                p.account_id is not None,
                p.likes,
                p.saves,
                p.views,
                p.comments_positive,
                p.comments_negative,
                p.metrics_captured_at,
            )
            for p in (
                await session.execute(select(Post).where(Post.brand_id == brand_id))
            ).scalars()
        }
        snapshots = (
            await session.execute(
                select(func.count()).where(PostMetricSnapshot.brand_id == brand_id)
            )
        ).scalar_one()
        comments = sorted(
            (
                await session.execute(
                    select(PostComment.external_id, PostComment.sentiment).where(
                        PostComment.brand_id == brand_id
                    )
                )
            ).all()
        )
        followers = sorted(
            (
                await session.execute(
                    select(FollowerSnapshot.captured_at, FollowerSnapshot.followers).where(
                        FollowerSnapshot.brand_id == brand_id,
                        # the deliveries' readings, not the one the roster took on creation
                        FollowerSnapshot.captured_at < datetime(2026, 11, 20, tzinfo=UTC),
                    )
                )
            ).all()
        )
    return {"posts": posts, "snapshots": snapshots, "comments": comments, "followers": followers}


async def test_a_batch_stores_what_the_deliveries_store_one_at_a_time(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, other_tenant: Tenant
) -> None:
    one = await _roster(sessionmaker, tenant, "batch.runner")
    two = await _roster(sessionmaker, other_tenant, "batch.runner")
    solo_integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    for body in _history("batch.runner"):
        assert await deliver_engagement(sessionmaker, solo_integration, body) == "handled"

    batch_integration = await make_integration(sessionmaker, other_tenant.brand_id, "engagement")
    ids = await _events(sessionmaker, batch_integration, _history("batch.runner"))
    assert await process_together(sessionmaker, ids) == {
        "handled": 4,
        "ignored": 0,
        "failed": 0,
        "dead": 0,
    }

    # Folded by the recompute (the unmatched B3 is folded at ingestion).
    for account_id in (one["batch.runner"], two["batch.runner"]):
        async with sessionmaker() as session, session.begin():
            await recompute(session, account_id)
    solo, batched = (
        await _state(sessionmaker, tenant.brand_id),
        await _state(sessionmaker, other_tenant.brand_id),
    )
    assert batched == solo
    b1 = batched["posts"]["B1"]
    assert b1[:4] == ("Morning run #ad", True, True, True)
    assert (b1[4], b1[5], b1[6]) == (300, 7, 9_000)  # likes/views of day 4, saves of day 3
    assert batched["snapshots"] == 5  # B1 three times, B2 and B3 once
    assert [c[0] for c in batched["comments"]] == ["c1", "c2", "s1"]
    assert [f[1] for f in batched["followers"]] == [20_000, 21_000]
    assert batched["posts"]["B3"][3] is False and batched["posts"]["B3"][4] == 9


async def test_a_bad_delivery_in_a_batch_fails_alone_naming_the_field(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    await _roster(sessionmaker, tenant, "bad.batch")
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    account = {"platform": "instagram", "handle": "bad.batch"}
    good = {"account": account, "posts": [engagement_post("G1", metrics={"likes": 1})]}
    bad = {"account": account, "posts": [engagement_post("G2", posted_at="yesterday")]}
    ids = await _events(sessionmaker, integration, [good, bad, b"not json"])
    counts = await process_together(sessionmaker, ids)
    assert counts["handled"] == 1 and counts["failed"] == 2
    statuses = await _statuses(sessionmaker, ids)
    assert statuses[ids[0]] == ("handled", None)
    assert statuses[ids[1]][0] == "failed" and "posts[0].posted_at" in (statuses[ids[1]][1] or "")
    assert statuses[ids[2]][0] == "failed" and "not JSON" in (statuses[ids[2]][1] or "")


async def test_concurrent_batches_creating_the_same_posts_in_opposite_orders_never_deadlock(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """Two inbox batches on two connections, each carrying the same 30 new posts (one per
    delivery) in opposite orders. One at a time per delivery, the inserts interleave and
    wait on each other in a cycle; in key order they cannot."""
    await _roster(sessionmaker, tenant, "race.runner")
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    account = {"platform": "instagram", "handle": "race.runner"}

    def body(n: int, day: int) -> dict[str, Any]:
        return {
            "account": account,
            "captured_at": _at(day),
            "posts": [
                engagement_post(
                    f"R{n}",
                    metrics={"likes": n * day},
                    comments=[{"id": f"R{n}-{day}", "text": "nice"}],
                )
            ],
        }

    first = await _events(sessionmaker, integration, [body(n, 5) for n in range(30)])
    second = await _events(sessionmaker, integration, [body(n, 6) for n in reversed(range(30))])
    results = await asyncio.gather(
        process_together(sessionmaker, first), process_together(sessionmaker, second)
    )
    assert [r["handled"] for r in results] == [30, 30], results
    statuses = await _statuses(sessionmaker, [*first, *second])
    assert {s for s, _ in statuses.values()} == {"handled"}, statuses
    async with sessionmaker() as session:
        posts = (
            await session.execute(
                select(Post.external_post_id, Post.likes).where(Post.brand_id == tenant.brand_id)
            )
        ).all()
        snapshots = (
            await session.execute(
                select(func.count()).where(PostMetricSnapshot.brand_id == tenant.brand_id)
            )
        ).scalar_one()
        comments = (
            await session.execute(
                select(func.count()).where(PostComment.brand_id == tenant.brand_id)
            )
        ).scalar_one()
    assert sorted(p[0] for p in posts) == sorted(f"R{n}" for n in range(30))  # once each
    assert snapshots == 60 and comments == 60


# ------------------------------------------------------------------------------ recomputes
@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_settings(settings))
    yield pool
    await pool.aclose()


async def _three_accounts(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> list[uuid.UUID]:
    handles = ["many.a", "many.b", "many.c"]
    accounts = await _roster(sessionmaker, tenant, *handles)
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    for n, handle in enumerate(handles):
        posts = [
            engagement_post(
                f"{handle}-{k}",
                posted_at=_at(1 + k),
                caption="#ad" if k == n else "plain",
                metrics={"likes": 100 * (n + 1) + k, "comments": 5 + k},
                comments=[{"id": f"{handle}-{k}", "text": "Love it" if k else "Meh"}],
            )
            for k in range(4)
        ]
        body = {
            "account": {"platform": "instagram", "handle": handle, "followers": 10_000 + n},
            "captured_at": _at(10),
            "posts": posts,
        }
        assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    return [accounts[h] for h in handles]


async def test_recompute_many_equals_one_account_at_a_time(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    ids = await _three_accounts(sessionmaker, tenant)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        together = await recompute_many(session, ids, now=now)
        assert await is_stale(session, ids) == set()
    assert set(together) == set(ids)
    for account_id in ids:
        async with sessionmaker() as session, session.begin():
            alone = await recompute(session, account_id, force=True, now=now)
        assert alone == together[account_id]
    rates = [together[a].engagement_rate for a in ids]
    assert len(set(rates)) == 3 and all(r is not None for r in rates)
    # Nothing changed since: no work without `force`.
    async with sessionmaker() as session, session.begin():
        assert await recompute_many(session, ids, now=now) == {}


async def test_a_job_recomputes_other_stale_accounts_and_drops_their_queued_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    settings: Settings,
    queue: ArqRedis,
) -> None:
    first, *others = await _three_accounts(sessionmaker, tenant)
    for account_id in others:
        job = await queue.enqueue_job(
            "recompute_account_signals",
            str(account_id),
            _job_id=signals_job_id(account_id),
            _defer_by=60,
        )
        assert job is not None
    queued = {m.decode() for m in await queue.zrange(default_queue_name, 0, -1)}
    assert {signals_job_id(a) for a in others} <= queued

    ctx: Any = {"sessionmaker": sessionmaker, "settings": settings, "redis": queue}
    assert await recompute_account_signals(ctx, str(first)) is True
    async with sessionmaker() as session:
        assert await is_stale(session, [first, *others]) == set()
    queued = {m.decode() for m in await queue.zrange(default_queue_name, 0, -1)}
    assert not {signals_job_id(a) for a in others} & queued
    # Its own account is up to date now: a second run has nothing to do.
    assert await recompute_account_signals(ctx, str(first)) is False


async def test_a_batch_that_meets_a_roster_writers_lock_yields_and_goes_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    settings: Settings,
    queue: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A roster writer (here: a transaction holding one account's features row, as an import
    updating that account does) must never be the victim of a deadlock with a recompute
    batch: the batch gives up its locks within YIELD_AFTER_MS and recomputes one account per
    transaction, waiting like any single writer."""
    ctx: Any = {"sessionmaker": sessionmaker, "settings": settings, "redis": queue}
    await sweep_stale_signals(ctx)  # earlier tests' stale accounts: this batch holds ours
    first, held, third = await _three_accounts(sessionmaker, tenant)
    holder = sessionmaker()
    await holder.begin()
    await holder.execute(
        select(AccountFeatures.account_id)
        .where(AccountFeatures.account_id == held)
        .with_for_update()
    )

    async def release() -> None:
        await asyncio.sleep(1.0)
        await holder.commit()
        await holder.close()

    calls: list[tuple[int, int, bool]] = []
    real = engagement_jobs._recompute

    async def spy(ctx: Any, accounts: list[uuid.UUID], others: int, **kw: Any) -> set[uuid.UUID]:
        calls.append((len(accounts), others, kw["yielding"]))
        return await real(ctx, accounts, others, **kw)

    monkeypatch.setattr(engagement_jobs, "_recompute", spy)
    releasing = asyncio.create_task(release())
    assert await recompute_account_signals(ctx, str(first)) is True
    await releasing
    # the batch (its account and up to 99 other stale ones) gave up; then its own account
    # alone; the others stay stale for their own jobs or the sweeper
    assert calls[:2] == [(1, 99, True), (1, 0, False)], calls
    async with sessionmaker() as session:
        assert await is_stale(session, [first, held, third]) == {held, third}
    await sweep_stale_signals(ctx)
    async with sessionmaker() as session:
        assert await is_stale(session, [first, held, third]) == set()
        computed = (
            await session.execute(
                select(func.count()).where(
                    AccountSignals.account_id.in_([first, held, third]),
                    AccountSignals.computed_at.is_not(None),
                )
            )
        ).scalar_one()
    assert computed == 3
