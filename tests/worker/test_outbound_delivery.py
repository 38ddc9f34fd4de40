"""Outbound delivery against a real HTTP receiver on loopback (uvicorn, in this event loop).

The receiver checks every request with the Standard Webhooks reference library
(`standardwebhooks`) and records each webhook-id it sees. Retries are driven by moving the
job's scheduling clock (`now=`) forward, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis, create_pool
from arq.worker import Worker
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.worker.context import WorkerContext
from services.worker.jobs.outbound import deliver_webhooks
from services.worker.settings import CRON_JOBS, FUNCTIONS, redis_settings, worker_settings
from shared.config import Settings
from shared.jobs import JobName
from shared.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from shared.outbound.delivery import Policy, claim_due, open_http_client, parse_retry_after
from shared.outbound.repository import PARKED_UNTIL
from tests.factories import Tenant, api_webhook_endpoint, record_outbox_event

# --- the receiver ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    hook: str
    webhook_id: str
    signatures: int
    verified_with: list[str]
    body: dict[str, Any]


class Receiver:
    """Hooks at /h/{name}: each answers from its script (then 200) after verifying the
    signature against the secrets registered for it."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.scripts: dict[str, list[Reply]] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.base_url = ""
        self.app = Starlette(routes=[Route("/h/{name}", self.handle, methods=["POST"])])

    def hook(self, secrets: list[str], script: list[Reply] | None = None) -> tuple[str, str]:
        name = uuid.uuid4().hex[:12]
        self.secrets[name] = secrets
        self.scripts[name] = list(script or [])
        return name, f"{self.base_url}/h/{name}"

    def ids(self, name: str) -> list[str]:
        return [r.webhook_id for r in self.received if r.hook == name]

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        headers = dict(request.headers)
        verified = []
        for secret in self.secrets.get(name, []):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        if not verified:
            self.rejected.append(name)
            return Response("bad signature", status_code=400)
        self.received.append(
            Received(
                name,
                headers["webhook-id"],
                len(headers["webhook-signature"].split(" ")),
                verified,
                json.loads(body),
            )
        )
        script = self.scripts.get(name) or []
        reply = script.pop(0) if script else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response("ok" if reply.status < 300 else "nope", reply.status, reply.headers)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    recv.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        recv.app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield recv
    server.should_exit = True
    await task
    sock.close()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_settings(settings))
    yield pool
    await pool.aclose()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Test policy: a short timeout; the production retry schedule."""
    return settings.model_copy(update={"outbound_timeout_seconds": 0.5})


@pytest.fixture
async def http(fast: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client = open_http_client(fast)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def _park_endpoints(
    tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """Leftover deliveries of one test must not be sent by the next one's worker."""
    yield
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.brand_id == tenant.brand_id, WebhookEndpoint.status == "active")
            .values(status="disabled", disabled_reason="manual", disabled_at=datetime.now(UTC))
        )


def _ctx(
    settings: Settings,
    sm: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    http: httpx.AsyncClient,
) -> WorkerContext:
    return {"settings": settings, "sessionmaker": sm, "redis": redis, "http": http}


@pytest.fixture
def ctx(
    fast: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    queue: ArqRedis,
    http: httpx.AsyncClient,
) -> WorkerContext:
    return _ctx(fast, sessionmaker, queue, http)


async def _delivery(
    sm: async_sessionmaker[AsyncSession], event_id: uuid.UUID, endpoint_id: str
) -> WebhookDelivery:
    async with sm() as session:
        row = (
            await session.execute(
                select(WebhookDelivery).where(
                    WebhookDelivery.event_id == event_id,
                    WebhookDelivery.endpoint_id == uuid.UUID(endpoint_id),
                )
            )
        ).scalar_one()
        return row


async def _endpoint(sm: async_sessionmaker[AsyncSession], endpoint_id: str) -> WebhookEndpoint:
    async with sm() as session:
        row = await session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
        assert row is not None
        return row


async def _attempts(
    sm: async_sessionmaker[AsyncSession], delivery_id: uuid.UUID
) -> list[WebhookDeliveryAttempt]:
    async with sm() as session:
        rows = await session.execute(
            select(WebhookDeliveryAttempt)
            .where(WebhookDeliveryAttempt.delivery_id == delivery_id)
            .order_by(WebhookDeliveryAttempt.started_at)
        )
        return list(rows.scalars())


def _near(value: datetime, expected: datetime, slack: float = 2.0) -> bool:
    return abs((value - expected).total_seconds()) <= slack


# --- tests -------------------------------------------------------------------------------------


def test_job_and_cron_are_registered() -> None:
    assert JobName.DELIVER_WEBHOOKS in {f.name for f in FUNCTIONS}
    assert "cron:deliver_webhooks" in {c.name for c in CRON_JOBS}


def test_retry_policy_and_retry_after_parsing(settings: Settings) -> None:
    policy = Policy.from_settings(settings)
    assert policy.max_attempts == 7  # immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
    assert [policy.retry_delay(n, None) for n in range(1, 8)] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        None,
    ]
    assert policy.retry_delay(1, 120) == 120  # a longer Retry-After wins
    assert policy.retry_delay(3, 120) == 1800  # a shorter one does not shorten the schedule
    assert policy.retry_delay(1, 10**9) == settings.outbound_retry_after_max_seconds  # capped
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert (
        parse_retry_after(format_datetime(now + timedelta(hours=1), usegmt=True), now=now) == 3600
    )
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_signed_delivery_verified_by_reference_library(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid", "payout.created"])
    receiver.secrets[hook] = [endpoint["secret"]]
    paid = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid", {"amount": 9})
    unsubscribed = await record_outbox_event(sessionmaker, tenant.brand_id, "commission.created")

    result = await deliver_webhooks(ctx)
    assert result.get("delivered", 0) >= 1
    assert receiver.ids(hook) == [str(paid)]  # the webhook-id is the event id
    got = next(r for r in receiver.received if r.hook == hook)
    assert got.body["type"] == "payout.paid" and got.body["data"] == {"amount": 9}
    assert got.signatures == 1
    delivery = await _delivery(sessionmaker, paid, endpoint["id"])
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    async with sessionmaker() as session:
        events = await session.execute(
            select(OutboxEvent.id, OutboxEvent.dispatched_at).where(
                OutboxEvent.id.in_([paid, unsubscribed])
            )
        )
        assert all(dispatched is not None for _, dispatched in events)
        nothing = await session.execute(
            select(WebhookDelivery.id).where(WebhookDelivery.event_id == unsubscribed)
        )
        assert nothing.first() is None
    attempts = await client.get(
        f"/v1/webhook-deliveries/{delivery.id}/attempts", headers=tenant.headers
    )
    [attempt] = attempts.json()["items"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["response_excerpt"] == "ok" and attempt["duration_ms"] >= 0

    # A second pass sends nothing again.
    await deliver_webhooks(ctx)
    assert receiver.ids(hook) == [str(paid)]


async def test_failures_retry_on_the_schedule_under_the_same_id(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([], [Reply(500), Reply(502)])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    t0 = datetime.now(UTC)

    await deliver_webhooks(ctx, now=t0)
    first = await _delivery(sessionmaker, event, endpoint["id"])
    assert first.status == "failed" and first.attempts == 1 and first.last_status_code == 500
    assert _near(first.next_attempt_at, t0 + timedelta(seconds=5))
    assert (await _endpoint(sessionmaker, endpoint["id"])).failing_since is not None

    await deliver_webhooks(ctx, now=t0 + timedelta(seconds=1))  # not due yet
    assert len(receiver.ids(hook)) == 1

    t1 = t0 + timedelta(seconds=6)
    await deliver_webhooks(ctx, now=t1)
    second = await _delivery(sessionmaker, event, endpoint["id"])
    assert second.status == "failed" and second.attempts == 2 and second.last_status_code == 502
    assert _near(second.next_attempt_at, t1 + timedelta(minutes=5))

    await deliver_webhooks(ctx, now=t1 + timedelta(minutes=5, seconds=1))
    third = await _delivery(sessionmaker, event, endpoint["id"])
    assert third.status == "delivered" and third.attempts == 3
    assert receiver.ids(hook) == [str(event)] * 3  # one id, three tries
    assert [a.status_code for a in await _attempts(sessionmaker, third.id)] == [500, 502, 200]
    assert (await _endpoint(sessionmaker, endpoint["id"])).failing_since is None


async def test_timeout_is_a_failed_attempt(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([], [Reply(200, delay=2.0)])  # timeout is 0.5 s here
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    t0 = datetime.now(UTC)

    await deliver_webhooks(ctx, now=t0)
    delivery = await _delivery(sessionmaker, event, endpoint["id"])
    assert delivery.status == "failed" and delivery.last_status_code is None
    assert delivery.last_error is not None and "timeout" in delivery.last_error
    [attempt] = await _attempts(sessionmaker, delivery.id)
    assert attempt.status_code is None and 400 <= attempt.duration_ms < 1900

    await deliver_webhooks(ctx, now=t0 + timedelta(seconds=6))
    assert (await _delivery(sessionmaker, event, endpoint["id"])).status == "delivered"
    # The receiver saw the timed-out request too: a duplicate under the same id, which the
    # standard allows (receivers dedupe on webhook-id). Never a second id.
    assert receiver.ids(hook) == [str(event), str(event)]


async def test_gone_disables_the_endpoint_until_re_enabled(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([], [Reply(410)])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    first = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    t0 = datetime.now(UTC)

    result = await deliver_webhooks(ctx, now=t0)
    assert result.get("disabled") == 1
    row = await _endpoint(sessionmaker, endpoint["id"])
    assert row.status == "disabled" and row.disabled_reason == "gone"
    parked = await _delivery(sessionmaker, first, endpoint["id"])
    assert parked.status == "failed" and parked.next_attempt_at == PARKED_UNTIL

    # While disabled: new events get no delivery, the failed one is not retried.
    second = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    await deliver_webhooks(ctx, now=t0 + timedelta(minutes=10))
    assert receiver.ids(hook) == [str(first)]
    async with sessionmaker() as session:
        none = await session.execute(
            select(WebhookDelivery.id).where(WebhookDelivery.event_id == second)
        )
        assert none.first() is None

    enabled = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/enable", headers=tenant.headers
    )
    assert enabled.json()["status"] == "active"
    due = await _delivery(sessionmaker, first, endpoint["id"])
    assert due.next_attempt_at <= datetime.now(UTC)  # retried at once
    await deliver_webhooks(ctx)
    assert (await _delivery(sessionmaker, first, endpoint["id"])).status == "delivered"
    assert receiver.ids(hook) == [str(first), str(first)]
    # The event recorded while it was disabled can be re-sent explicitly.
    resent = await client.post(f"/v1/events/{second}/resend", headers=tenant.headers)
    assert resent.status_code == 202
    await deliver_webhooks(ctx)
    assert receiver.ids(hook)[-1] == str(second)


async def test_retry_after_is_honoured_and_capped(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    fast: Settings,
    queue: ArqRedis,
    http: httpx.AsyncClient,
) -> None:
    ctx = _ctx(
        fast.model_copy(update={"outbound_retry_after_max_seconds": 7200}),
        sessionmaker,
        queue,
        http,
    )
    in_an_hour = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    hook, url = receiver.hook(
        [],
        [
            Reply(503, {"Retry-After": "120"}),
            Reply(429, {"Retry-After": in_an_hour}),
            Reply(503, {"Retry-After": "999999"}),
        ],
    )
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")

    t0 = datetime.now(UTC)
    await deliver_webhooks(ctx, now=t0)
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert _near(row.next_attempt_at, t0 + timedelta(seconds=120))  # not the schedule's 5 s

    await deliver_webhooks(ctx, now=t0 + timedelta(seconds=60))  # still asked to wait
    assert len(receiver.ids(hook)) == 1

    t1 = t0 + timedelta(seconds=121)
    await deliver_webhooks(ctx, now=t1)
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert _near(row.next_attempt_at, t1 + timedelta(hours=1), slack=5)  # HTTP date form

    t2 = t1 + timedelta(hours=1, seconds=5)
    await deliver_webhooks(ctx, now=t2)
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert _near(row.next_attempt_at, t2 + timedelta(hours=2))  # capped at 7,200 s
    retry_afters = [a.retry_after_seconds for a in await _attempts(sessionmaker, row.id)]
    assert retry_afters[0] == 120 and retry_afters[2] == 999999


async def test_exhausted_schedule_is_dead_and_resend_revives_it(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    fast: Settings,
    queue: ArqRedis,
    http: httpx.AsyncClient,
) -> None:
    ctx = _ctx(
        fast.model_copy(update={"outbound_retry_schedule": [1, 2]}), sessionmaker, queue, http
    )
    hook, url = receiver.hook([], [Reply(500)] * 3)
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    t0 = datetime.now(UTC)
    for offset in (0, 2, 5, 10):
        await deliver_webhooks(ctx, now=t0 + timedelta(seconds=offset))
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert row.status == "dead" and row.attempts == 3
    assert len(receiver.ids(hook)) == 3

    dead = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries",
        headers=tenant.headers,
        params={"status": "dead"},
    )
    assert [d["id"] for d in dead.json()["items"]] == [str(row.id)]
    resent = await client.post(f"/v1/events/{event}/resend", headers=tenant.headers)
    assert resent.json()[0]["status"] == "pending" and resent.json()[0]["attempts"] == 0
    await deliver_webhooks(ctx)
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert row.status == "delivered" and row.attempts == 1
    assert receiver.ids(hook) == [str(event)] * 4
    assert len(await _attempts(sessionmaker, row.id)) == 4  # the log keeps every round


async def test_failing_for_three_days_disables_and_flags_the_endpoint(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([], [Reply(500)] * 10)
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    t0 = datetime.now(UTC)
    await deliver_webhooks(ctx, now=t0)
    await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    result = await deliver_webhooks(ctx, now=t0 + timedelta(hours=71))
    assert "disabled" not in result
    assert (await _endpoint(sessionmaker, endpoint["id"])).status == "active"

    result = await deliver_webhooks(ctx, now=t0 + timedelta(hours=72, seconds=10))
    assert result.get("disabled") == 1
    row = await _endpoint(sessionmaker, endpoint["id"])
    assert row.status == "disabled" and row.disabled_reason == "failing"
    flagged = await client.get(
        "/v1/webhook-endpoints", headers=tenant.headers, params={"status": "disabled"}
    )
    [listed] = [e for e in flagged.json()["items"] if e["id"] == endpoint["id"]]
    assert listed["disabled_reason"] == "failing" and listed["failing_since"] is not None


async def test_rotation_signs_with_both_secrets_during_grace(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
) -> None:
    hook, url = receiver.hook([])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    old = endpoint["secret"]
    rotate = f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret"
    new = (await client.post(rotate, headers=tenant.headers, json={"grace_hours": 1})).json()
    receiver.secrets[hook] = [old, new["secret"]]
    first = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    await deliver_webhooks(ctx)
    got = next(r for r in receiver.received if r.webhook_id == str(first))
    assert got.signatures == 2 and got.verified_with == [old, new["secret"]]

    newest = (await client.post(rotate, headers=tenant.headers, json={"grace_hours": 0})).json()
    receiver.secrets[hook] = [old, new["secret"], newest["secret"]]
    second = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    await deliver_webhooks(ctx)
    got = next(r for r in receiver.received if r.webhook_id == str(second))
    assert got.signatures == 1 and got.verified_with == [newest["secret"]]
    assert hook not in receiver.rejected


async def test_dead_worker_lease_expires_and_stale_outcome_is_ignored(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    ctx: WorkerContext,
    fast: Settings,
) -> None:
    hook, url = receiver.hook([])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["payout.paid"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    policy = Policy.from_settings(fast)
    # A worker claims the delivery and dies before sending.
    await deliver_webhooks(ctx, now=datetime.now(UTC) - timedelta(days=1))  # fan-out only
    t0 = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        claims = await claim_due(session, policy, now=t0, limit=1000)
    mine = [c for c in claims if c.event_id == event]
    assert len(mine) == 1

    await deliver_webhooks(ctx, now=t0 + timedelta(seconds=5))  # leased: nobody sends it
    assert receiver.ids(hook) == []
    await deliver_webhooks(ctx, now=t0 + policy.lease + timedelta(seconds=1))
    assert receiver.ids(hook) == [str(event)]
    row = await _delivery(sessionmaker, event, endpoint["id"])
    assert row.status == "delivered" and row.lease_token is None


async def test_concurrent_workers_lose_nothing_and_send_nothing_twice(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    fast: Settings,
    queue: ArqRedis,
    http: httpx.AsyncClient,
) -> None:
    small = fast.model_copy(update={"outbound_concurrency": 4})
    hooks = []
    for _ in range(2):
        hook, url = receiver.hook([])
        endpoint = await api_webhook_endpoint(client, tenant, url, ["*"])
        receiver.secrets[hook] = [endpoint["secret"]]
        hooks.append(hook)
    events = [
        await record_outbox_event(sessionmaker, tenant.brand_id, "commission.created", {"i": i})
        for i in range(40)
    ]
    workers = [_ctx(small, sessionmaker, queue, http) for _ in range(4)]
    await asyncio.gather(*(deliver_webhooks(w) for w in workers))
    await deliver_webhooks(workers[0])  # whatever a pass left behind
    expected = Counter(str(e) for e in events)
    for hook in hooks:
        assert Counter(receiver.ids(hook)) == expected  # each exactly once
    async with sessionmaker() as session:
        statuses = await session.execute(
            select(WebhookDelivery.status).where(WebhookDelivery.event_id.in_(events))
        )
        assert Counter(statuses.scalars()) == {"delivered": 80}


async def test_real_arq_worker_delivers(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    settings: Settings,
    queue: ArqRedis,
) -> None:
    hook, url = receiver.hook([])
    endpoint = await api_webhook_endpoint(client, tenant, url, ["deliverable.published"])
    receiver.secrets[hook] = [endpoint["secret"]]
    event = await record_outbox_event(sessionmaker, tenant.brand_id, "deliverable.published")
    await queue.enqueue_job(JobName.DELIVER_WEBHOOKS.value)
    kwargs = worker_settings(settings) | {"burst": True, "handle_signals": False, "cron_jobs": []}
    worker = Worker(**kwargs)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert receiver.ids(hook) == [str(event)]
    assert (await _delivery(sessionmaker, event, endpoint["id"])).status == "delivered"
