"""The click pipeline: drain the redirect's Redis stream into the `clicks` table.

A long-running task per worker process (started in on_startup, stopped in on_shutdown)
rather than an arq cron job: the drain blocks on XREADGROUP and picks clicks up within
milliseconds, costs no job bookkeeping per batch, and scales by adding worker processes (each
is a consumer in one consumer group, so each entry goes to one of them).

Per batch (up to READ_COUNT entries of up to 1,000 clicks each): decode, enrich (bot flag,
device, unique flag: shared/links/clicks.py), COPY into a temporary table and
INSERT ... ON CONFLICT (click_id, clicked_at) DO NOTHING into `clicks`, COMMIT, then XACK and
XDEL the entries. A crash anywhere before the XACK leaves the entries pending: this consumer
retries its own pending entries after an error, and entries pending for a consumer that died
are claimed by another after `click_reclaim_idle_ms` (XAUTOCLAIM). Storing a batch twice is
harmless (the unique flag is stable per click id and the insert skips stored click ids), so
every click in the stream ends up stored exactly once. The stream is never trimmed by length:
an entry leaves it only after its clicks are committed.

`create_click_partitions` is the daily cron that keeps monthly partitions ahead (this month
and the next two); the drain also creates a missing month itself before inserting into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.context import WorkerContext, session_scope
from shared.config import Settings
from shared.links.clicks import (
    EnrichedClick,
    PartitionCache,
    StreamClick,
    UserAgentClassifier,
    decode_entry,
    enrich,
    store_clicks,
)

log = structlog.get_logger(__name__)

GROUP = "vouch-click-writers"
READ_COUNT = 20  # stream entries per batch; each carries up to 1,000 clicks
BLOCK_MS = 1000
PARTITION_MONTHS_AHEAD = 3  # this month and the next two
CONSUMER_MAX_IDLE_MS = 86_400_000  # consumers of dead workers are forgotten after a day

Entry = tuple[bytes, dict[bytes, bytes] | None]


class ClickDrain:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        redis: Any,
        *,
        consumer: str | None = None,
        stream: str | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.stream = stream or settings.click_stream
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.reclaim_idle_ms = settings.click_reclaim_idle_ms
        self.classifier = UserAgentClassifier()
        self.partitions = PartitionCache()
        self.stored = 0  # clicks newly written by this drain
        self.entries = 0  # stream entries it processed (and acknowledged)
        self._retry_own = False  # after an error, our own pending entries come first
        self._next_reclaim = 0.0
        self._reading = False

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # ----------------------------------------------------------------- one step
    async def drain_once(self, block_ms: int | None = None) -> int:
        """Read and process one batch (see next_entries). Returns the clicks newly stored."""
        entries = await self.next_entries(block_ms)
        return await self.process(entries) if entries else 0

    async def next_entries(self, block_ms: int | None) -> list[Entry]:
        """The next batch: entries of dead consumers (when a reclaim is due), else our own
        pending entries (after an error), else new ones (waiting up to `block_ms`)."""
        if time.monotonic() >= self._next_reclaim:
            self._next_reclaim = time.monotonic() + max(self.reclaim_idle_ms / 2000, 0.05)
            claimed = await self.reclaim()
            if claimed:
                if len(claimed) == READ_COUNT:  # maybe more: look again next time
                    self._next_reclaim = 0.0
                return claimed
        if self._retry_own:
            entries = await self._read("0", None)
            if entries:
                return entries
            self._retry_own = False
        return await self._read(">", block_ms)

    async def _read(self, start: str, block_ms: int | None) -> list[Entry]:
        self._reading = block_ms is not None
        try:
            response = await self.redis.xreadgroup(
                GROUP, self.consumer, {self.stream: start}, count=READ_COUNT, block=block_ms
            )
        except RedisTimeoutError:
            if block_ms is None:
                raise
            # A blocking read outlived the socket timeout (e.g. the process was paused):
            # nothing was lost; anything delivered meanwhile is pending and read again.
            self._retry_own = True
            return []
        finally:
            self._reading = False
        if not response:
            return []
        return list(response[0][1])

    async def reclaim(self) -> list[Entry]:
        """Entries another consumer read but has not acknowledged for reclaim_idle_ms."""
        response = await self.redis.xautoclaim(
            self.stream, GROUP, self.consumer, self.reclaim_idle_ms, "0-0", count=READ_COUNT
        )
        entries = list(response[1])
        if entries:
            log.info("clicks_reclaimed", entries=len(entries), consumer=self.consumer)
        return entries

    async def prepare(self, entries: list[Entry]) -> list[EnrichedClick]:
        """Decode and enrich (Python work, and the unique flags' Redis round trip)."""
        clicks: list[StreamClick] = []
        for _entry_id, fields in entries:
            if fields:  # None: deleted while pending (already stored); just acknowledge
                clicks.extend(decode_entry(fields))
        return await enrich(clicks, self.classifier, self.redis) if clicks else []

    async def commit(self, entries: list[Entry], rows: list[EnrichedClick]) -> int:
        """Store (COMMIT), then acknowledge and delete the entries."""
        stored = await store_clicks(self.engine, rows, self.partitions) if rows else 0
        ids = [entry_id for entry_id, _ in entries]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, *ids)
            pipe.xdel(self.stream, *ids)  # acknowledged and committed: nothing needs it
            await pipe.execute()
        self.stored += stored
        self.entries += len(entries)
        return stored

    async def process(self, entries: list[Entry]) -> int:
        return await self.commit(entries, await self.prepare(entries))

    # ----------------------------------------------------------------- the loop
    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set. Two batches overlap: while PostgreSQL stores batch N
        (another process, so another core), this one decodes and enriches batch N+1; N+1 is
        committed only after N, so a failure never acknowledges entries out of order."""
        await self.ensure_group()
        log.info("click_drain_started", stream=self.stream, consumer=self.consumer)
        backoff = 0.1
        in_flight: asyncio.Task[int] | None = None
        try:
            while not stop.is_set():
                try:
                    entries = await self.next_entries(BLOCK_MS)
                    if not entries:
                        continue
                    rows = await self.prepare(entries)
                    if in_flight is not None:
                        task, in_flight = in_flight, None
                        await task
                    in_flight = asyncio.create_task(self.commit(entries, rows))
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if in_flight is not None:  # settle it before re-reading our pending
                        task, in_flight = in_flight, None
                        with contextlib.suppress(Exception):
                            await task
                    log.error("click_drain_failed", error=repr(exc)[:300], retry_in=backoff)
                    self._retry_own = True
                    if "NOGROUP" in str(exc):  # the stream was deleted under us
                        with contextlib.suppress(Exception):
                            await self.ensure_group()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            if in_flight is not None:  # let the batch in hand commit and be acknowledged
                with contextlib.suppress(Exception):
                    await in_flight


# --------------------------------------------------------------------- worker hooks
async def start_drain(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    if not settings.redis_url:
        return
    # Its own client: XREADGROUP BLOCK holds a connection, and arq's pool has read timeouts
    # tuned for its own commands.
    redis = aioredis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, socket_timeout=BLOCK_MS / 1000 + 30
    )
    drain = ClickDrain(settings, ctx["engine"], redis)
    stop = asyncio.Event()
    task = asyncio.create_task(drain.run(stop), name="click-drain")
    ctx["click_drain"] = (drain, stop, task, redis)


async def stop_drain(ctx: dict[str, Any], grace: float = 20.0) -> None:
    """Let the batch in hand commit and be acknowledged, then stop. A drain waiting on an
    empty stream is cancelled at once (nothing read, nothing lost)."""
    found = ctx.pop("click_drain", None)
    if found is None:
        return
    drain, stop, task, redis = found
    stop.set()
    if drain._reading:
        task.cancel()
    try:
        await asyncio.wait_for(task, grace)
    except (TimeoutError, asyncio.CancelledError):
        pass
    except Exception as exc:
        log.error("click_drain_stopped_with_error", error=repr(exc)[:300])
    await redis.aclose()


# --------------------------------------------------------------------- cron
async def create_click_partitions(ctx: WorkerContext) -> int:
    """Daily (and at startup): the monthly `clicks` partitions for this month and the next
    two; forgets consumers of long-dead workers. Idempotent. Returns partitions created."""
    today = datetime.now(UTC).date()
    async with session_scope(ctx) as session:
        created = (
            await session.execute(
                text("SELECT vouch_create_click_partitions(:d, :n)"),
                {"d": today, "n": PARTITION_MONTHS_AHEAD},
            )
        ).scalar_one()
    await prune_consumers(ctx["redis"], ctx["settings"].click_stream)
    if created:
        log.info("click_partitions_created", created=created)
    return int(created)


async def prune_consumers(redis: Any, stream: str) -> int:
    """Remove consumers (dead workers) idle for a day with nothing pending."""
    try:
        consumers = await redis.xinfo_consumers(stream, GROUP)
    except ResponseError:
        return 0  # no stream or group yet
    removed = 0
    for consumer in consumers:
        if consumer["pending"] == 0 and consumer["idle"] > CONSUMER_MAX_IDLE_MS:
            await redis.xgroup_delconsumer(stream, GROUP, consumer["name"])
            removed += 1
    return removed
