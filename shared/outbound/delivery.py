"""Outbound delivery: outbox -> deliveries -> signed HTTP requests -> outcomes.

1. `fan_out` claims undispatched outbox events (FOR UPDATE SKIP LOCKED), inserts one
   delivery per active endpoint subscribed to the type (ON CONFLICT DO NOTHING: a doubled
   fan-out is one delivery) and stamps `dispatched_at`, all in one transaction.
2. `claim_due` takes due deliveries (SKIP LOCKED, so concurrent workers take disjoint sets),
   gives each a lease (token + next_attempt_at = now + timeout + margin) and commits. No row
   lock is held while the request is in flight; the lease keeps other workers off it, and a
   worker that dies mid-request loses the claim when the lease ends (the delivery is then
   sent again, under the same webhook-id, which the standard lets receivers dedupe).
3. `send` POSTs the Standard Webhooks envelope; it never raises.
4. `record` writes the attempt row and the delivery's new state (only if the lease token
   still matches: a resend in between starts a new round that a stale outcome must not
   overwrite), and the endpoint's health: a success clears `failing_since`; a 410 disables the
   endpoint; failures for `outbound_disable_after_hours` without a success disable it too.

Scheduling uses the `now` passed in (tests move it forward instead of sleeping); signatures
and attempt timestamps use the real clock, since receivers check webhook-timestamp against
theirs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db.base import uuid7
from shared.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from shared.outbound.destinations import DestinationRefused, check_destination
from shared.outbound.repository import park_deliveries
from shared.outbound.service import DeliveryStatus, EndpointStatus, EventType
from shared.outbound.signing import webhook_headers

log = structlog.get_logger(__name__)

USER_AGENT = "Vouch-Webhooks/1.0"
EXCERPT_BYTES = 1024
LEASE_MARGIN = timedelta(seconds=60)
FAN_OUT_BATCH = 500
_INSERT_CHUNK = 1000  # rows per INSERT (8 parameters each, well under asyncpg's 32,767)
RETRYABLE = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


@dataclass(frozen=True, slots=True)
class Policy:
    timeout: float
    schedule: tuple[float, ...]  # seconds after the 1st, 2nd, ... failure
    retry_after_max: float
    disable_after: timedelta
    concurrency: int
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            timeout=settings.outbound_timeout_seconds,
            schedule=tuple(settings.outbound_retry_schedule),
            retry_after_max=settings.outbound_retry_after_max_seconds,
            disable_after=timedelta(hours=settings.outbound_disable_after_hours),
            concurrency=settings.outbound_concurrency,
            allow_private=settings.env != "production",
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout) + LEASE_MARGIN

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def retry_delay(self, failures: int, retry_after: float | None) -> float | None:
        """Seconds until the next try after `failures` failed tries in this round; None when
        the schedule is exhausted. A Retry-After longer than the schedule's step wins, up to
        `retry_after_max`."""
        if failures > len(self.schedule):
            return None
        delay = self.schedule[failures - 1]
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return delay


@dataclass(frozen=True, slots=True)
class Claim:
    delivery_id: uuid.UUID
    brand_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    event_created_at: datetime
    payload: dict[str, Any]
    url: str
    secrets: tuple[str, ...]  # current first; the previous one while its grace lasts
    attempts: int  # tries in this round before this one
    token: uuid.UUID


@dataclass(frozen=True, slots=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    excerpt: str | None
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def open_http_client(settings: Settings) -> httpx.AsyncClient:
    """The worker's one client (connection pooling across deliveries). Redirects are not
    followed: per Standard Webhooks a 3xx is a failed delivery."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.outbound_timeout_seconds),
        follow_redirects=False,
        limits=httpx.Limits(
            max_connections=settings.outbound_concurrency * 2,
            max_keepalive_connections=settings.outbound_concurrency,
        ),
        headers={"user-agent": USER_AGENT},
    )


def _subscribed(event_types: Sequence[str], event_type: str) -> bool:
    return EventType.ALL.value in event_types or event_type in event_types


async def fan_out(session: AsyncSession, *, limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to `limit` undispatched outbox events into deliveries; returns how many events
    were dispatched. Endpoints only receive events recorded after they were created."""
    events = (
        await session.execute(
            select(OutboxEvent.id, OutboxEvent.brand_id, OutboxEvent.type, OutboxEvent.created_at)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not events:
        return 0
    brands = {e.brand_id for e in events}
    endpoints = (
        await session.execute(
            select(
                WebhookEndpoint.id,
                WebhookEndpoint.brand_id,
                WebhookEndpoint.event_types,
                WebhookEndpoint.created_at,
            ).where(
                WebhookEndpoint.brand_id.in_(brands),
                WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
            )
        )
    ).all()
    by_brand: dict[uuid.UUID, list[Any]] = {}
    for ep in endpoints:
        by_brand.setdefault(ep.brand_id, []).append(ep)
    rows = [
        {
            "id": uuid7(),
            "brand_id": e.brand_id,
            "event_id": e.id,
            "endpoint_id": ep.id,
            "event_type": e.type,
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": e.created_at,
        }
        for e in events
        for ep in by_brand.get(e.brand_id, ())
        if _subscribed(ep.event_types, e.type) and ep.created_at <= e.created_at
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        await session.execute(
            insert(WebhookDelivery)
            .values(chunk)
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_event_endpoint")
        )
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([e.id for e in events]))
        .values(dispatched_at=datetime.now(UTC))
    )
    return len(events)


async def claim_due(
    session: AsyncSession, policy: Policy, *, now: datetime, limit: int
) -> list[Claim]:
    """Lease up to `limit` due deliveries of active endpoints (commit before sending)."""
    due = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status.in_(RETRYABLE),
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
        .cte("due")
    )
    token = uuid.uuid4()
    stmt = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == due.c.id,
            WebhookEndpoint.id == WebhookDelivery.endpoint_id,
            OutboxEvent.id == WebhookDelivery.event_id,
        )
        .values(lease_token=token, next_attempt_at=now + policy.lease)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.brand_id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.event_id,
            WebhookDelivery.attempts,
            OutboxEvent.type,
            OutboxEvent.created_at,
            OutboxEvent.payload,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.previous_secret,
            WebhookEndpoint.previous_secret_expires_at,
        )
    )
    wall = datetime.now(UTC)
    claims: list[Claim] = []
    for row in (await session.execute(stmt)).all():
        secrets: tuple[str, ...] = (row.secret,)
        if row.previous_secret and (
            row.previous_secret_expires_at is None or row.previous_secret_expires_at > wall
        ):
            secrets = (row.secret, row.previous_secret)
        claims.append(
            Claim(
                delivery_id=row.id,
                brand_id=row.brand_id,
                endpoint_id=row.endpoint_id,
                event_id=row.event_id,
                event_type=row.type,
                event_created_at=row.created_at,
                payload=row.payload,
                url=row.url,
                secrets=secrets,
                attempts=row.attempts,
                token=token,
            )
        )
    return claims


def envelope(event_type: str, created_at: datetime, payload: dict[str, Any]) -> bytes:
    """The body every subscriber receives (Standard Webhooks' recommended shape)."""
    return orjson.dumps(
        {"type": event_type, "timestamp": created_at.astimezone(UTC).isoformat(), "data": payload}
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _clean(text: str, limit: int = 500) -> str:
    return text.replace("\x00", "")[:limit]  # PostgreSQL text cannot hold NUL


async def _excerpt(response: httpx.Response) -> str:
    buf = bytearray()
    async for chunk in response.aiter_bytes():
        buf.extend(chunk)
        if len(buf) >= EXCERPT_BYTES:
            break
    return _clean(bytes(buf[:EXCERPT_BYTES]).decode("utf-8", "replace"), EXCERPT_BYTES)


async def send(client: httpx.AsyncClient, claim: Claim, policy: Policy) -> Outcome:
    """One signed POST. Never raises: transport errors become the outcome's `error`."""
    body = envelope(claim.event_type, claim.event_created_at, claim.payload)
    started = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        **webhook_headers(claim.secrets, str(claim.event_id), int(started.timestamp()), body),
    }
    t0 = time.perf_counter()
    status_code: int | None = None
    retry_after: float | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        if not policy.allow_private:
            await check_destination(claim.url, allow_private=False)
        async with (
            asyncio.timeout(policy.timeout),
            client.stream("POST", claim.url, content=body, headers=headers) as response,
        ):
            status_code = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            excerpt = await _excerpt(response)
    except DestinationRefused as exc:
        error = f"destination refused: {exc}"
    except TimeoutError:
        error = f"timeout after {policy.timeout:g} s"
    except httpx.TimeoutException as exc:
        error = f"timeout ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = _clean(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a delivery must never take the batch down with it
        log.exception("webhook_send_crashed", delivery_id=str(claim.delivery_id))
        error = _clean(f"{type(exc).__name__}: {exc}")
    duration_ms = round((time.perf_counter() - t0) * 1000)
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    elif status_code is not None:
        error = None  # accepted; a slow or broken body after a 2xx does not matter
    return Outcome(started, duration_ms, status_code, error, excerpt, retry_after)


async def record(
    session: AsyncSession,
    results: Iterable[tuple[Claim, Outcome]],
    policy: Policy,
    *,
    now: datetime,
) -> Counter[str]:
    """Store the attempts and move deliveries and endpoints on. Returns counts by result."""
    counts: Counter[str] = Counter()
    healthy: set[uuid.UUID] = set()
    failing: set[uuid.UUID] = set()
    gone: set[uuid.UUID] = set()
    finished = datetime.now(UTC)
    for claim, outcome in results:
        session.add(
            WebhookDeliveryAttempt(
                id=uuid7(),
                brand_id=claim.brand_id,
                delivery_id=claim.delivery_id,
                endpoint_id=claim.endpoint_id,
                started_at=outcome.started_at,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
                retry_after_seconds=None
                if outcome.retry_after is None
                else round(min(outcome.retry_after, 2**31 - 1)),
            )
        )
        failures = claim.attempts + 1
        values: dict[str, Any] = {
            "attempts": failures,
            "lease_token": None,
            "last_attempt_at": outcome.started_at,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        if outcome.ok:
            values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": finished}
            healthy.add(claim.endpoint_id)
            result = "delivered"
        else:
            delay = policy.retry_delay(failures, outcome.retry_after)
            if delay is None:
                values["status"] = DeliveryStatus.DEAD.value
                result = "dead"
            else:
                values |= {
                    "status": DeliveryStatus.FAILED.value,
                    "next_attempt_at": now + timedelta(seconds=delay),
                }
                result = "failed"
            failing.add(claim.endpoint_id)
            if outcome.status_code == 410:
                gone.add(claim.endpoint_id)
        moved = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.lease_token == claim.token,
            )
            .values(**values)
            .returning(WebhookDelivery.id)
        )
        counts[result if moved.first() is not None else "superseded"] += 1
    await session.flush()
    counts["disabled"] = await _endpoint_health(
        session, healthy, failing - healthy, gone, policy, now=now
    )
    return counts


async def _endpoint_health(
    session: AsyncSession,
    healthy: set[uuid.UUID],
    failing: set[uuid.UUID],
    gone: set[uuid.UUID],
    policy: Policy,
    *,
    now: datetime,
) -> int:
    """Returns how many endpoints this batch disabled."""
    disabled: list[tuple[uuid.UUID, str]] = []
    if healthy:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(healthy), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if gone:
        # 410 Gone: the receiver says the subscription no longer exists. Stop at once.
        rows = await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(gone),
                WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
            )
            .values(status=EndpointStatus.DISABLED.value, disabled_reason="gone", disabled_at=now)
            .returning(WebhookEndpoint.id)
        )
        disabled += [(r, "gone") for r in rows.scalars()]
    if failing:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(failing), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
        )
        rows = await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(failing),
                WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
                WebhookEndpoint.failing_since <= now - policy.disable_after,
            )
            .values(
                status=EndpointStatus.DISABLED.value, disabled_reason="failing", disabled_at=now
            )
            .returning(WebhookEndpoint.id)
        )
        disabled += [(r, "failing") for r in rows.scalars()]
    await park_deliveries(session, [endpoint_id for endpoint_id, _ in disabled])
    for endpoint_id, reason in disabled:
        log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint_id), reason=reason)
    return len(disabled)
