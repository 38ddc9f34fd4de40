"""Webhook intake: who may post (integration cache), is it genuine (per-source signature
checks), what is it (topic, dedupe key, source time), and the inbox write.

The receivers (services/api/public/webhooks.py) call, per request and in this order:
`IntegrationCache.get` (unknown, disabled or wrong kind: 404), read the raw body (over the
limit: 413), `SourceSpec.verify` on the raw bytes (bad or missing signature: 401, nothing
written), `SourceSpec.describe`, then `InboxWriter.write`, which returns only once the row is
committed and its job queued. No pydantic and no JSON parsing of the body anywhere here:
the worker parses it.

Group commit. `InboxWriter` gathers the webhooks that arrive while an INSERT is in flight and
writes them together: one `INSERT ... SELECT FROM unnest(...) ON CONFLICT (integration_id,
external_id) DO NOTHING RETURNING id` in autocommit mode (the statement's completion is the
commit), then one Redis script call queues the jobs of the new rows. Each webhook still gets
its 2xx only after its own row is committed; under light load a batch is one webhook, under
heavy load one round trip and one WAL flush serve hundreds. A batch that fails on a data
error is retried row by row, so one malformed webhook cannot fail its neighbours.

Dedupe keys (`external_id`, unique per integration):
- Shopify: `X-Shopify-Event-Id` (stable across retries of one event), else
  `X-Shopify-Webhook-Id`, else a hash of topic and body.
- WooCommerce: `{X-WC-Webhook-ID}:{topic}:{sha256(body)}`. Not `X-WC-Webhook-Delivery-ID`:
  WooCommerce derives it from the webhook id and the current second, so two different orders
  delivered in the same second share it, while a re-delivery of the same order gets a new
  one. The body hash names the exact state delivered: a re-delivery of the same state is a
  duplicate, any change to the order (its `date_modified` moves) is a new event. The
  resource id is inside the hashed body, so it needs no separate part.
- Standard Webhooks (`/webhooks/orders`): `webhook-id`, which the spec keeps stable across
  retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

import asyncpg
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.base import uuid7
from shared.integrations.kinds import KINDS_BY_SOURCE, SCHEME_BY_KIND, IntegrationKind, Source
from shared.integrations.signatures import (
    Scheme,
    SigningKey,
    StandardVerdict,
    key_bytes,
    verify_hmac_base64,
    verify_standard,
)
from shared.webhooks.queue import enqueue_events

log = structlog.get_logger(__name__)

CACHE_MAX_ENTRIES = 10_000
LOOKUP_CONCURRENCY = 4  # integration queries in flight per process (a flood of random ids)
REFRESH_ON_REJECT_AFTER = 1.0  # seconds: a snapshot this old is reloaded once on a bad signature
MAX_BATCH = 500
MAX_INFLIGHT = 2  # concurrent INSERTs per process (each holds one pooled connection)
ENQUEUE_TIMEOUT = 1.0  # seconds; the row is committed already, the sweeper covers a miss


# ---------------------------------------------------------------------------- integrations
@dataclass(frozen=True, slots=True)
class IntegrationSnapshot:
    id: uuid.UUID
    brand_id: uuid.UUID
    kind: str
    active: bool
    keys: tuple[SigningKey, ...]
    loaded_at: float  # monotonic


_LOAD_INTEGRATION = (
    "SELECT brand_id, kind, status, signing_secret, previous_secret, "
    "previous_secret_expires_at FROM integrations WHERE id = $1"
)


def _keys(
    kind: str, secret: str, previous: str | None, expires: datetime | None
) -> tuple[SigningKey, ...]:
    """The current key, and the previous one while its grace period lasts."""
    scheme = SCHEME_BY_KIND[IntegrationKind(kind)]
    candidates: list[tuple[str, float | None]] = [(secret, None)]
    if previous is not None and expires is not None:
        candidates.append((previous, expires.timestamp()))
    keys: list[SigningKey] = []
    for value, until in candidates:
        try:
            keys.append(SigningKey(key_bytes(scheme, value), until))
        except ValueError:
            log.error("integration_secret_malformed", kind=kind)
    return tuple(keys)


class IntegrationCache:
    """integration id -> snapshot (or None: unknown), trusted for `ttl` seconds.

    A receiver looks its integration up per request; this keeps that off the database. A
    disabled integration keeps accepting webhooks in other API processes for up to `ttl`
    (the API process that disabled it drops its entry at once). A rotated secret needs no
    wait: a signature that fails against a snapshot older than a second reloads it once.
    Concurrent misses for one id share one query, and at most LOOKUP_CONCURRENCY queries run
    at once, so a flood of made-up ids cannot take the connection pool.
    """

    def __init__(self, engine: AsyncEngine, ttl: float) -> None:
        self.engine = engine
        self.ttl = ttl
        self.entries: dict[uuid.UUID, tuple[float, IntegrationSnapshot | None]] = {}
        self._loading: dict[uuid.UUID, asyncio.Task[IntegrationSnapshot | None]] = {}
        self._lookups = asyncio.Semaphore(LOOKUP_CONCURRENCY)
        self.loads = 0

    async def get(self, integration_id: uuid.UUID) -> IntegrationSnapshot | None:
        entry = self.entries.get(integration_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return await self.load(integration_id)

    async def load(self, integration_id: uuid.UUID) -> IntegrationSnapshot | None:
        task = self._loading.get(integration_id)
        if task is None:
            task = asyncio.create_task(self._fetch(integration_id))
            self._loading[integration_id] = task
            task.add_done_callback(lambda _: self._loading.pop(integration_id, None))
        return await asyncio.shield(task)

    async def refresh_if_stale(self, snapshot: IntegrationSnapshot) -> IntegrationSnapshot | None:
        """After a failed signature: the reloaded snapshot if ours may be stale, else None."""
        if time.monotonic() - snapshot.loaded_at < REFRESH_ON_REJECT_AFTER:
            return None
        return await self.load(snapshot.id)

    def invalidate(self, integration_id: uuid.UUID | None = None) -> None:
        if integration_id is None:
            self.entries.clear()
        else:
            self.entries.pop(integration_id, None)

    async def _fetch(self, integration_id: uuid.UUID) -> IntegrationSnapshot | None:
        self.loads += 1
        async with self._lookups, self.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            row = await driver.fetchrow(_LOAD_INTEGRATION, integration_id)
        now = time.monotonic()
        snapshot = None
        if row is not None:
            snapshot = IntegrationSnapshot(
                id=integration_id,
                brand_id=uuid.UUID(str(row["brand_id"])),
                kind=row["kind"],
                active=row["status"] == "active",
                keys=_keys(
                    row["kind"],
                    row["signing_secret"],
                    row["previous_secret"],
                    row["previous_secret_expires_at"],
                ),
                loaded_at=now,
            )
        if len(self.entries) >= CACHE_MAX_ENTRIES:
            self.entries.clear()
        self.entries[integration_id] = (now + self.ttl, snapshot)
        return snapshot


# ---------------------------------------------------------------------------- sources
class Verdict(Enum):
    OK = "ok"
    PING = "ping"  # WooCommerce's unsigned activation ping: 200, nothing stored
    REJECT = "reject"


class BadWebhook(Exception):
    """Genuine (signed) but unusable: answered 400, nothing stored."""


@dataclass(frozen=True, slots=True)
class Described:
    topic: str
    external_id: str
    source_timestamp: datetime | None


class SourceSpec(Protocol):
    source: Source
    scheme: Scheme

    def verify(
        self, keys: Sequence[SigningKey], headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[Verdict, str]: ...

    def describe(self, headers: Mapping[str, str], body: bytes) -> Described: ...


def _body_hash(*parts: bytes) -> str:
    return hashlib.sha256(b"\x00".join(parts)).hexdigest()


def _iso_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise BadWebhook(f"Missing {name} header.")
    return value[:255]


class ShopifySource:
    source = Source.SHOPIFY
    scheme = Scheme.SHOPIFY

    def verify(
        self, keys: Sequence[SigningKey], headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[Verdict, str]:
        signature = headers.get("x-shopify-hmac-sha256")
        if verify_hmac_base64(keys, body, signature, now):
            return Verdict.OK, ""
        return Verdict.REJECT, "missing signature" if not signature else "bad signature"

    def describe(self, headers: Mapping[str, str], body: bytes) -> Described:
        topic = _required(headers, "x-shopify-topic")
        external = (
            headers.get("x-shopify-event-id")
            or headers.get("x-shopify-webhook-id")
            or "sha256:" + _body_hash(topic.encode(), body)
        )
        return Described(
            topic, external.strip()[:255], _iso_time(headers.get("x-shopify-triggered-at"))
        )


_WC_PING = re.compile(rb"webhook_id=\d{1,20}")


class WooCommerceSource:
    source = Source.WOOCOMMERCE
    scheme = Scheme.WOOCOMMERCE

    def verify(
        self, keys: Sequence[SigningKey], headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[Verdict, str]:
        signature = headers.get("x-wc-webhook-signature")
        if not signature and _WC_PING.fullmatch(body.strip()):
            return Verdict.PING, ""
        if verify_hmac_base64(keys, body, signature, now):
            return Verdict.OK, ""
        return Verdict.REJECT, "missing signature" if not signature else "bad signature"

    def describe(self, headers: Mapping[str, str], body: bytes) -> Described:
        topic = _required(headers, "x-wc-webhook-topic")
        webhook_id = headers.get("x-wc-webhook-id", "").strip()[:64]
        external = f"{webhook_id}:{topic}:{_body_hash(body)}"
        return Described(topic, external, None)


class StandardSource:
    """Vouch's own formats, signed per Standard Webhooks (`/webhooks/orders`; issue 6 adds
    `/webhooks/engagement` as another instance with its own topic)."""

    scheme = Scheme.STANDARD

    def __init__(self, source: Source, topic: str) -> None:
        self.source = source
        self.topic = topic

    def verify(
        self, keys: Sequence[SigningKey], headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[Verdict, str]:
        verdict = verify_standard(
            keys,
            body,
            headers.get("webhook-id"),
            headers.get("webhook-timestamp"),
            headers.get("webhook-signature"),
            now,
        )
        if verdict is StandardVerdict.OK:
            return Verdict.OK, ""
        return Verdict.REJECT, verdict.value

    def describe(self, headers: Mapping[str, str], body: bytes) -> Described:
        msg_id = _required(headers, "webhook-id")
        ts = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
        return Described(self.topic, msg_id, ts)


SOURCES: dict[str, SourceSpec] = {
    Source.SHOPIFY.value: ShopifySource(),
    Source.WOOCOMMERCE.value: WooCommerceSource(),
    Source.ORDERS.value: StandardSource(Source.ORDERS, "order"),
}


def accepts(source: SourceSpec, snapshot: IntegrationSnapshot | None) -> bool:
    """The integration exists, is active and is of a kind this receiver serves."""
    return (
        snapshot is not None and snapshot.active and snapshot.kind in KINDS_BY_SOURCE[source.source]
    )


# ---------------------------------------------------------------------------- the inbox write
@dataclass(frozen=True, slots=True)
class InboxRow:
    brand_id: uuid.UUID
    integration_id: uuid.UUID
    source: str
    topic: str
    external_id: str
    source_timestamp: datetime | None
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Stored:
    id: str  # the event id (the existing one for a duplicate)
    new: bool


_INSERT = """
INSERT INTO webhook_events
    (id, brand_id, integration_id, source, topic, external_id, source_timestamp, headers, body)
SELECT i, b, n, s, t, e, ts, h::jsonb, d
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[], $8::text[], $9::bytea[]) AS x(i, b, n, s, t, e, ts, h, d)
ON CONFLICT (integration_id, external_id) DO NOTHING
RETURNING id
"""

_EXISTING = """
SELECT w.integration_id, w.external_id, w.id
FROM webhook_events w
JOIN unnest($1::uuid[], $2::text[]) AS k(n, e) ON w.integration_id = k.n AND w.external_id = k.e
"""


def _clean(value: str) -> str:
    # PostgreSQL text and jsonb refuse NUL; HTTP parsers reject it, ASGI test clients may not.
    return value.replace("\x00", "") if "\x00" in value else value


class InboxWriter:
    """Group-committed inbox inserts (see the module docstring). `write` returns once the
    row is committed and its job handed to Redis (or the enqueue failed and was logged)."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue: Any | None,
        *,
        max_batch: int = MAX_BATCH,
        max_inflight: int = MAX_INFLIGHT,
        on_enqueue_failure: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self.on_enqueue_failure = on_enqueue_failure
        self._pending: list[tuple[InboxRow, asyncio.Future[Stored]]] = []
        self._flushers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.rows = 0

    async def write(self, row: InboxRow) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flushers < self.max_inflight:
            self._flushers += 1
            task = asyncio.create_task(self._flush_loop())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush_loop(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    results = await self._store([row for row, _ in batch])
                except Exception as exc:
                    log.error("inbox_write_failed", rows=len(batch), error=repr(exc)[:300])
                    results = [exc] * len(batch)
                new = [r.id for r in results if isinstance(r, Stored) and r.new]
                if new and self.queue is not None:
                    try:
                        await asyncio.wait_for(enqueue_events(self.queue, new), ENQUEUE_TIMEOUT)
                    except Exception as exc:  # committed; the sweeper re-enqueues
                        log.error("inbox_enqueue_failed", events=len(new), error=repr(exc)[:300])
                        if self.on_enqueue_failure is not None:
                            self.on_enqueue_failure(len(new))
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Stored):
                        future.set_result(result)
                    else:
                        future.set_exception(result)
        finally:
            self._flushers -= 1

    async def _store(self, rows: Sequence[InboxRow]) -> list[Stored | Exception]:
        ids = [uuid7() for _ in rows]
        async with self.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                inserted = await self._insert(driver, ids, rows)
            except asyncpg.PostgresError as exc:
                if len(rows) == 1:
                    return [exc]
                out: list[Stored | Exception] = []
                for one_id, row in zip(ids, rows, strict=True):  # isolate the bad row(s)
                    try:
                        out.extend(await self._resolve(driver, [one_id], [row], None))
                    except asyncpg.PostgresError as one_exc:
                        out.append(one_exc)
                return out
            return await self._resolve(driver, ids, rows, inserted)

    async def _resolve(
        self,
        driver: Any,
        ids: list[uuid.UUID],
        rows: Sequence[InboxRow],
        inserted: set[str] | None,
    ) -> list[Stored | Exception]:
        if inserted is None:
            inserted = await self._insert(driver, ids, rows)
        self.batches += 1
        self.rows += len(rows)
        results: list[Stored | Exception] = []
        missing: list[int] = []
        for n, event_id in enumerate(ids):
            key = str(event_id)
            if key in inserted:
                results.append(Stored(key, True))
            else:
                results.append(Stored("", False))
                missing.append(n)
        if missing:  # duplicates: answer with the id of the row that won
            found = await driver.fetch(
                _EXISTING,
                [rows[n].integration_id for n in missing],
                [_clean(rows[n].external_id) for n in missing],
            )
            existing = {(str(r[0]), r[1]): str(r[2]) for r in found}
            for n in missing:
                row = rows[n]
                winner = existing.get((str(row.integration_id), _clean(row.external_id)), "")
                results[n] = Stored(winner, False)
        return results

    @staticmethod
    async def _insert(driver: Any, ids: list[uuid.UUID], rows: Sequence[InboxRow]) -> set[str]:
        found = await driver.fetch(
            _INSERT,
            ids,
            [r.brand_id for r in rows],
            [r.integration_id for r in rows],
            [r.source for r in rows],
            [_clean(r.topic) for r in rows],
            [_clean(r.external_id) for r in rows],
            [r.source_timestamp for r in rows],
            [orjson.dumps(r.headers).decode() for r in rows],
            [r.body for r in rows],
        )
        return {str(r[0]) for r in found}
