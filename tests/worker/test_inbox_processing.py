"""The inbox processor: handlers in savepoints, retries to dead letters, replay, batches with
SKIP LOCKED, the sweeper, and a stock arq worker running the intake's jobs.

Each test registers its handler for a topic of its own, so it only ever sees its own events.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arq.connections import ArqRedis, create_pool
from arq.worker import Worker
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.context import WorkerContext
from services.worker.jobs.webhooks import (
    process_webhook_batch,
    process_webhook_event,
    sweep_webhook_events,
)
from services.worker.settings import redis_settings, worker_settings
from shared.config import Settings
from shared.events import record_event
from shared.models import OutboxEvent, WebhookEvent
from shared.webhooks.processing import backoff, claim, process_claimed, process_event
from shared.webhooks.queue import enqueue_events
from shared.webhooks.registry import handlers_registered
from tests.factories import StoreIntegration, Tenant, insert_webhook_event, make_integration
from tests.problems import assert_problem


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_settings(settings))
    yield pool
    await pool.aclose()


@pytest.fixture
def ctx(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], queue: ArqRedis
) -> WorkerContext:
    return {"settings": settings, "sessionmaker": sessionmaker, "redis": queue}


@pytest.fixture
async def shop(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "shopify")


@pytest.fixture
def topic() -> str:
    return f"test/{uuid.uuid4().hex[:12]}"


async def effect(session: AsyncSession, event: WebhookEvent) -> None:
    """An idempotent effect in the handler's transaction: one outbox row per event."""
    await record_event(
        session, event.brand_id, "test.handled", {"event": str(event.id)}, dedupe_key=str(event.id)
    )


async def effects(sessionmaker: async_sessionmaker[AsyncSession], event_id: uuid.UUID) -> int:
    async with sessionmaker() as session:
        n = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.dedupe_key == str(event_id))
        )
    return int(n or 0)


async def load(sessionmaker: async_sessionmaker[AsyncSession], event_id: uuid.UUID) -> WebhookEvent:
    async with sessionmaker() as session:
        event = await session.get(WebhookEvent, event_id)
    assert event is not None
    return event


async def test_handled_in_the_same_transaction_as_the_effect(
    ctx: WorkerContext,
    shop: StoreIntegration,
    topic: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    event_id = await insert_webhook_event(sessionmaker, shop, topic=topic)
    seen: list[bytes] = []

    async def handler(session: AsyncSession, event: WebhookEvent) -> None:
        seen.append(event.body)
        await effect(session, event)

    with handlers_registered("shopify", [topic], handler):
        result = await process_webhook_event(ctx, str(event_id))
        assert result["handled"] >= 1
        await process_webhook_event(ctx, str(event_id))  # arq ran it twice: a no-op
    assert seen == [b"{}"]
    event = await load(sessionmaker, event_id)
    assert event.status == "handled" and event.handled_at is not None and event.attempts == 0
    assert await effects(sessionmaker, event_id) == 1


async def test_unknown_topic_is_ignored(
    ctx: WorkerContext, shop: StoreIntegration, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    event_id = await insert_webhook_event(sessionmaker, shop, topic="app/uninstalled")
    async with sessionmaker() as session, session.begin():
        assert await process_event(session, event_id, max_attempts=5) == "ignored"
    event = await load(sessionmaker, event_id)
    assert event.status == "ignored" and event.handled_at is None


async def test_failures_back_off_then_dead_after_max_attempts_keeping_bookkeeping(
    shop: StoreIntegration,
    topic: str,
    tenant: Tenant,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    event_id = await insert_webhook_event(
        sessionmaker,
        shop,
        topic=topic,
        headers={"x-shopify-topic": topic, "x-shopify-hmac-sha256": "c2lnbmF0dXJl"},
    )

    async def broken(session: AsyncSession, event: WebhookEvent) -> None:
        await effect(session, event)  # written, then rolled back with the savepoint
        raise ValueError(f"cannot parse order in {event.id}")

    now = datetime.now(UTC)
    with handlers_registered("shopify", [topic], broken):
        for attempt in range(1, 6):
            async with sessionmaker() as session, session.begin():
                status = await process_event(session, event_id, max_attempts=5, now=now)
            event = await load(sessionmaker, event_id)
            assert event.attempts == attempt
            assert event.last_error == f"ValueError: cannot parse order in {event_id}"
            if attempt < 5:
                assert status == "failed" and event.status == "failed"
                assert event.next_attempt_at == now + backoff(attempt)
                async with sessionmaker() as session, session.begin():  # not due yet: skipped
                    assert await process_event(session, event_id, max_attempts=5, now=now) is None
                now = event.next_attempt_at
            else:
                assert status == "dead" and event.status == "dead"
                assert event.next_attempt_at is None
        async with sessionmaker() as session, session.begin():  # dead is never claimed
            later = now + timedelta(days=1)
            assert await process_event(session, event_id, max_attempts=5, now=later) is None
    assert await effects(sessionmaker, event_id) == 0
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [60, 240, 960, 3600, 3600]
    # the dead letter, listed with its error and without signature headers or body
    listed = await client.get(
        "/v1/webhook-events",
        headers=tenant.headers,
        params={"status": "dead", "integration_id": str(shop.id)},
    )
    [item] = listed.json()["items"]
    assert item["id"] == str(event_id) and item["attempts"] == 5
    assert item["last_error"].startswith("ValueError")
    assert item["headers"] == {"x-shopify-topic": topic}
    assert "body" not in item


async def test_replay_dead_then_handled_idempotently(
    ctx: WorkerContext,
    shop: StoreIntegration,
    topic: str,
    tenant: Tenant,
    other_tenant: Tenant,
    client: httpx.AsyncClient,
    queue: ArqRedis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    event_id = await insert_webhook_event(
        sessionmaker, shop, topic=topic, status="dead", attempts=5, last_error="boom"
    )
    url = f"/v1/webhook-events/{event_id}"
    # another brand's event is 404 everywhere
    assert_problem(await client.get(url, headers=other_tenant.headers), 404)
    assert_problem(await client.post(f"{url}/replay", headers=other_tenant.headers), 404)
    assert (await load(sessionmaker, event_id)).status == "dead"

    resp = await client.post(f"{url}/replay", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["attempts"], body["last_error"]) == ("pending", 0, None)
    assert await queue.zscore("arq:queue", str(event_id)) is not None
    problem = assert_problem(await client.post(f"{url}/replay", headers=tenant.headers), 409)
    assert problem["current_status"] == "pending" and problem["requested_status"] == "pending"

    with handlers_registered("shopify", [topic], effect):
        await process_webhook_event(ctx, str(event_id))
        assert (await load(sessionmaker, event_id)).status == "handled"
        # replaying a handled event runs the idempotent handler again: no second effect
        resp = await client.post(f"{url}/replay", headers=tenant.headers)
        assert resp.status_code == 200 and resp.json()["status"] == "pending"
        await process_webhook_event(ctx, str(event_id))
    assert (await load(sessionmaker, event_id)).status == "handled"
    assert await effects(sessionmaker, event_id) == 1
    detail = await client.get(url, headers=tenant.headers, params={"include_body": True})
    assert detail.json()["body"] == "{}" and detail.json()["body_encoding"] == "utf-8"
    assert (await client.get(url, headers=tenant.headers)).json()["body"] is None
    assert_problem(
        await client.get(f"/v1/webhook-events/{uuid.uuid4()}", headers=tenant.headers), 404
    )


async def test_list_filters_and_keyset_pages(
    shop: StoreIntegration,
    tenant: Tenant,
    other_tenant: Tenant,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await insert_webhook_event(sessionmaker, shop, status="failed") for _ in range(5)]
    await insert_webhook_event(sessionmaker, shop, status="handled")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"status": "failed", "integration_id": str(shop.id)}
        params["limit"] = 2
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/v1/webhook-events", headers=tenant.headers, params=params)
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [str(i) for i in reversed(ids)]
    theirs = await client.get(
        "/v1/webhook-events", headers=other_tenant.headers, params={"integration_id": str(shop.id)}
    )
    assert theirs.json()["items"] == []


async def test_two_processors_never_handle_the_same_event(
    ctx: WorkerContext,
    shop: StoreIntegration,
    topic: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await insert_webhook_event(sessionmaker, shop, topic=topic) for _ in range(60)]
    # SKIP LOCKED: while one transaction holds a batch, another claims a disjoint one
    async with sessionmaker() as a, a.begin(), sessionmaker() as b, b.begin():
        first = {e.id for e in await claim(a, limit=30)}
        second = {e.id for e in await claim(b, limit=30)}
        assert first and second and not first & second
    calls: Counter[uuid.UUID] = Counter()

    async def slow(session: AsyncSession, event: WebhookEvent) -> None:
        calls[event.id] += 1
        await asyncio.sleep(0.001)
        await effect(session, event)

    small = {**ctx, "settings": ctx["settings"].model_copy(update={"webhook_batch_size": 7})}
    with handlers_registered("shopify", [topic], slow):
        await asyncio.gather(
            *(process_webhook_event(small, str(i)) for i in ids[:4]),  # type: ignore[arg-type]
            process_webhook_batch(small),  # type: ignore[arg-type]
        )
    assert set(calls) == set(ids) and set(calls.values()) == {1}
    async with sessionmaker() as session:
        statuses = await session.scalars(
            select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))
        )
        assert set(statuses) == {"handled"}


async def test_deep_queue_is_drained_in_batches_and_their_jobs_dropped(
    ctx: WorkerContext,
    shop: StoreIntegration,
    topic: str,
    queue: ArqRedis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await insert_webhook_event(sessionmaker, shop, topic=topic) for _ in range(25)]
    assert await enqueue_events(queue, ids) == 25
    assert await enqueue_events(queue, ids) == 0  # already queued: not twice
    with handlers_registered("shopify", [topic], effect):
        await process_webhook_event(ctx, str(ids[0]))  # one job handles the whole backlog
    async with sessionmaker() as session:
        statuses = await session.scalars(
            select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))
        )
        assert set(statuses) == {"handled"}
    still_queued = [i for i in ids[1:] if await queue.zscore("arq:queue", str(i)) is not None]
    assert still_queued == []
    assert not await queue.exists(*[f"arq:job:{i}" for i in ids[1:]])


async def test_sweeper_requeues_stale_pending_and_due_failed_events(
    ctx: WorkerContext,
    shop: StoreIntegration,
    queue: ArqRedis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    stale = await insert_webhook_event(sessionmaker, shop, received_at=now - timedelta(minutes=2))
    fresh = await insert_webhook_event(sessionmaker, shop)
    due = await insert_webhook_event(
        sessionmaker, shop, status="failed", attempts=1, next_attempt_at=now - timedelta(seconds=1)
    )
    waiting = await insert_webhook_event(
        sessionmaker, shop, status="failed", attempts=1, next_attempt_at=now + timedelta(minutes=5)
    )
    handled = await insert_webhook_event(
        sessionmaker, shop, status="handled", received_at=now - timedelta(hours=1)
    )
    await queue.zrem("arq:queue", *[str(i) for i in (stale, fresh, due, waiting, handled)])
    result = await sweep_webhook_events(ctx)
    assert result["queued"] >= 2
    in_queue = {
        i
        for i in (stale, fresh, due, waiting, handled)
        if await queue.zscore("arq:queue", str(i)) is not None
    }
    assert in_queue == {stale, due}
    again = await sweep_webhook_events(ctx)  # found again, but already queued
    assert again["stale"] >= 2
    assert await enqueue_events(queue, [stale, due]) == 0


async def test_stock_arq_worker_runs_the_intake_jobs(
    settings: Settings,
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    topic: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A webhook through the receiver, its job queued by the intake's script, run by a real
    arq Worker with the production WorkerSettings."""
    body = b'{"id": 820982911946154508, "total_price": "97.34"}'
    digest = hmac.new(shop.secret.encode(), body, hashlib.sha256).digest()
    resp = await client.post(
        f"/webhooks/shopify/{shop.id}",
        content=body,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        },
    )
    assert resp.status_code == 200, resp.text
    event_id = uuid.UUID(resp.json()["id"])
    with handlers_registered("shopify", [topic], effect):
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
    event = await load(sessionmaker, event_id)
    assert event.status == "handled"
    assert await effects(sessionmaker, event_id) == 1


async def test_failed_handler_bookkeeping_survives_in_a_batch(
    ctx: WorkerContext,
    shop: StoreIntegration,
    topic: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """One failing event in a batch: its savepoint is rolled back, the others commit."""
    ids = [await insert_webhook_event(sessionmaker, shop, topic=topic) for _ in range(5)]
    bad = ids[2]

    async def picky(session: AsyncSession, event: WebhookEvent) -> None:
        await effect(session, event)
        if event.id == bad:
            async with sessionmaker() as s, s.begin():  # prove the row is locked by us
                locked = await s.execute(
                    select(WebhookEvent.id)
                    .where(WebhookEvent.id == bad)
                    .with_for_update(skip_locked=True)
                )
                assert locked.first() is None
            raise RuntimeError("bad payload")

    with handlers_registered("shopify", [topic], picky):
        await process_webhook_event(ctx, str(ids[0]))
    for event_id in ids:
        event = await load(sessionmaker, event_id)
        if event_id == bad:
            assert (event.status, event.attempts) == ("failed", 1)
            assert await effects(sessionmaker, event_id) == 0
        else:
            assert event.status == "handled"
            assert await effects(sessionmaker, event_id) == 1
    async with sessionmaker() as session, session.begin():  # tidy: not due for the sweeper
        await session.execute(
            update(WebhookEvent).where(WebhookEvent.id == bad).values(status="dead")
        )


async def test_batch_handler_gets_the_batch_and_a_bad_event_fails_alone(
    shop: StoreIntegration, topic: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def run(ids: list[uuid.UUID]) -> None:
        """What a drain does with a claimed batch (only ours, whatever else is pending)."""
        async with sessionmaker() as session, session.begin():
            stmt = (
                select(WebhookEvent)
                .where(WebhookEvent.id.in_(ids))
                .order_by(WebhookEvent.received_at)
                .with_for_update()
            )
            events = list((await session.execute(stmt)).scalars().all())
            await process_claimed(session, events, max_attempts=5)

    ids = [await insert_webhook_event(sessionmaker, shop, topic=topic) for _ in range(6)]
    calls: list[int] = []

    async def bulk(session: AsyncSession, events: list[WebhookEvent]) -> None:
        calls.append(len(events))
        for event in events:
            await effect(session, event)

    with handlers_registered("shopify", [topic], batch=bulk):
        await run(ids)
    assert calls == [6]  # one call for the whole batch
    assert {(await load(sessionmaker, i)).status for i in ids} == {"handled"}

    more = [await insert_webhook_event(sessionmaker, shop, topic=topic) for _ in range(4)]
    poison = more[1]
    calls.clear()

    async def picky(session: AsyncSession, events: list[WebhookEvent]) -> None:
        calls.append(len(events))
        for event in events:
            await effect(session, event)
            if event.id == poison:
                raise ValueError("unparseable")

    with handlers_registered("shopify", [topic], batch=picky):
        await run(more)
    assert calls == [4, 1, 1, 1, 1]  # the batch, then each alone
    for event_id in more:
        event = await load(sessionmaker, event_id)
        if event_id == poison:
            assert (event.status, event.attempts) == ("failed", 1)
            assert await effects(sessionmaker, event_id) == 0
        else:
            assert event.status == "handled" and await effects(sessionmaker, event_id) == 1
    async with sessionmaker() as session, session.begin():  # tidy: not due for the sweeper
        await session.execute(
            update(WebhookEvent).where(WebhookEvent.id == poison).values(status="dead")
        )
