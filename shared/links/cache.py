"""The redirect's link cache: link snapshots in process, in Redis, from PostgreSQL.

Three layers, so the redirect makes no database round trip for a link it has seen:

1. In process: code -> snapshot, each entry trusted for LOCAL_TTL (0.5 s). Every API process
   therefore serves a changed link within 0.5 s + one Redis read, even if it missed the
   pub/sub invalidation; the subscriber below usually drops the entry within milliseconds.
2. Redis: `vouch:link:{code}` holds the orjson snapshot (1 h; unknown codes 60 s).
3. PostgreSQL: one indexed query on a Redis miss, at most DB_CONCURRENCY at a time per
   process and once per code however many requests miss together (single flight).

`invalidate_link` (called by the links service after each committed change) bumps a
generation counter, deletes the Redis key and publishes the code. A filler that read
PostgreSQL before the change cannot write its stale snapshot back afterwards: it stores only
if the generation it saw before querying is still current (a compare-and-set script).

Unknown codes are cached as misses too, so a flood of requests for one bad code costs one
query per process per half second. A flood of *distinct* random codes still costs one
indexed lookup each, bounded to DB_CONCURRENCY concurrent queries per process; codes that
cannot exist (wrong alphabet or length) never reach Redis or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.links.clickid import ClickIds
from shared.links.urls import CLICK_ID_PARAM, merge_utm
from shared.models import Click, TrackingLink
from shared.models.enums import LinkStatus

log = structlog.get_logger(__name__)

LINK_KEY = "vouch:link:{code}"
GENERATION_KEY = "vouch:link:{code}:gen"
CLICK_COUNT_KEY = "vouch:link:{link_id}:clicks"  # clicks served, for click caps
INVALIDATE_CHANNEL = "vouch:links:invalidate"

LOCAL_TTL = 0.5  # seconds an in-process entry is trusted
REDIS_TTL = 3600  # seconds a snapshot lives in Redis
REDIS_MISS_TTL = 60  # seconds an unknown code is remembered in Redis
REDIS_RETRY_AFTER = 1.0  # seconds Redis is skipped after it failed (no timeout per request)
DB_CONCURRENCY = 4
CODE_RE = re.compile(r"[A-Za-z0-9_-]{3,64}")
_MISSING = b"null"

# KEYS[1] snapshot, KEYS[2] generation; ARGV[1] snapshot, ARGV[2] ttl, ARGV[3] generation seen
_SET_IF_CURRENT = """
local gen = redis.call('GET', KEYS[2]) or ''
if gen == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


async def invalidate_link(redis: Any, code: str) -> None:
    """Drop the cached entry for `code` in Redis and tell every API process (pub/sub) to drop
    its in-process copy. `redis` is a redis.asyncio client (the arq pool is one); None (no
    Redis configured) is a no-op."""
    if redis is None:
        return
    gen_key = GENERATION_KEY.format(code=code)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(gen_key)
        pipe.expire(gen_key, 86_400)
        pipe.delete(LINK_KEY.format(code=code))
        pipe.publish(INVALIDATE_CHANNEL, code)
        await pipe.execute()


class LinkSnapshot:
    """What the redirect needs of a link, precomputed so a click is string concatenation.

    `location_head + click_id + location_tail` is the Location header: the destination with
    the link's UTM merged in, then `vclid=`, the click id, and the URL's fragment if any.
    """

    __slots__ = (
        "active",
        "brand_hex",
        "click_cap",
        "collaboration_id",
        "expires_at",
        "fallback_url",
        "link_hex",
        "link_id",
        "location_head",
        "location_tail",
        "prefix",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        self.link_id = uuid.UUID(data["link_id"])
        self.link_hex = self.link_id.hex
        self.brand_hex = uuid.UUID(data["brand_id"]).hex
        self.collaboration_id = uuid.UUID(data["collaboration_id"])
        self.active: bool = data["status"] == LinkStatus.ACTIVE.value
        self.expires_at: float | None = data["expires_at"]  # unix seconds
        self.click_cap: int | None = data["click_cap"]
        self.fallback_url: str | None = data["fallback_url"]
        destination: str = data["destination"]
        head, sep, fragment = destination.partition("#")
        joiner = "&" if "?" in head else "?"
        self.location_head: str = f"{head}{joiner}{CLICK_ID_PARAM}="
        self.location_tail: str = sep + fragment
        self.prefix = ClickIds.prefix(self.link_id)

    def location(self, click_id: str) -> str:
        return self.location_head + click_id + self.location_tail


def _ascii_url(url: str) -> str:
    """Header-safe: percent-encode any non-ASCII left in a stored URL (hosts are IDNA already)."""
    return url if url.isascii() else quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def snapshot_data(link: Any) -> dict[str, Any]:
    """The JSON snapshot of a tracking_links row (ORM object or row with the same names)."""
    expires: datetime | None = link.expires_at
    return {
        "link_id": str(link.id),
        "brand_id": str(link.brand_id),
        "collaboration_id": str(link.collaboration_id),
        "destination": _ascii_url(
            merge_utm(
                link.destination_url, link.utm or {}, destination_wins=link.destination_utm_wins
            )
        ),
        "status": link.status,
        "expires_at": expires.timestamp() if expires is not None else None,
        "click_cap": link.click_cap,
        "fallback_url": _ascii_url(link.fallback_url) if link.fallback_url else None,
    }


async def load_from_db(engine: AsyncEngine, code: str) -> dict[str, Any] | None:
    stmt = select(
        TrackingLink.id,
        TrackingLink.brand_id,
        TrackingLink.collaboration_id,
        TrackingLink.destination_url,
        TrackingLink.utm,
        TrackingLink.destination_utm_wins,
        TrackingLink.status,
        TrackingLink.expires_at,
        TrackingLink.click_cap,
        TrackingLink.fallback_url,
    ).where(TrackingLink.code == code)
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else snapshot_data(row)


async def count_clicks_in_db(engine: AsyncEngine, link_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(Click).where(Click.link_id == link_id)
        return int((await conn.execute(stmt)).scalar_one())


Entry = tuple[float, LinkSnapshot | None]  # (trusted until, monotonic seconds; snapshot)


class LinkCache:
    """The in-process layer and the path through Redis to PostgreSQL (see the module doc).

    `local` is read directly by the redirect (a dict lookup and a clock comparison); `fetch`
    is its slow path. `known_counts` holds, per capped link, the click count last read from
    Redis (the redirect adds what it has served since).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        redis: Any,
        *,
        local_ttl: float = LOCAL_TTL,
        on_source: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.redis = redis
        self.local: dict[str, Entry] = {}
        self.local_ttl = local_ttl
        self.known_counts: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Future[LinkSnapshot | None]] = {}
        self._db_slots = asyncio.Semaphore(DB_CONCURRENCY)
        self._redis_retry_at = 0.0
        self._on_source = on_source or (lambda _source: None)
        self._set_if_current = redis.register_script(_SET_IF_CURRENT) if redis else None

    # ---------------------------------------------------------------- lookups
    async def fetch(self, code: str) -> LinkSnapshot | None:
        """The snapshot for `code` (None: no such link), refreshing the in-process entry."""
        if not CODE_RE.fullmatch(code):
            return None
        pending = self._inflight.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[LinkSnapshot | None] = asyncio.get_running_loop().create_future()
        self._inflight[code] = future
        try:
            snapshot = await self._load(code)
        except Exception as exc:
            stale = self.local.get(code)
            if stale is None:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning without waiters
                raise
            # Redis and PostgreSQL both failing: keep serving what we knew (never fail a
            # follower for a link we can still answer), and try again after local_ttl.
            log.warning("link_lookup_failed_serving_stale", code=code, error=repr(exc)[:200])
            snapshot = stale[1]
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._inflight.pop(code, None)
        self.local[code] = (time.monotonic() + self.local_ttl, snapshot)
        future.set_result(snapshot)
        return snapshot

    def redis_usable(self) -> bool:
        return self.redis is not None and time.monotonic() >= self._redis_retry_at

    def redis_failed(self, exc: BaseException) -> None:
        if time.monotonic() >= self._redis_retry_at:
            log.warning("redirect_redis_unavailable", error=repr(exc)[:200])
        self._redis_retry_at = time.monotonic() + REDIS_RETRY_AFTER

    async def _load(self, code: str) -> LinkSnapshot | None:
        generation = b""
        if self.redis_usable():
            try:
                cached, gen = await self.redis.mget(
                    LINK_KEY.format(code=code), GENERATION_KEY.format(code=code)
                )
                generation = gen or b""
                if cached is not None:
                    self._on_source("redis")
                    snapshot = _parse(cached)
                    if snapshot is not None and snapshot.click_cap is not None:
                        await self._read_count(snapshot, seed=None)
                    return snapshot
            except Exception as exc:
                self.redis_failed(exc)
        self._on_source("db")
        async with self._db_slots:
            data = await load_from_db(self.engine, code)
        snapshot = None if data is None else LinkSnapshot(data)
        if self.redis_usable() and self._set_if_current is not None:
            try:
                await self._set_if_current(
                    keys=[LINK_KEY.format(code=code), GENERATION_KEY.format(code=code)],
                    args=[
                        orjson.dumps(data) if data else _MISSING,
                        REDIS_TTL if data else REDIS_MISS_TTL,
                        generation,
                    ],
                )
                if snapshot is not None and snapshot.click_cap is not None:
                    await self._read_count(snapshot, seed=self.engine)
            except Exception as exc:
                self.redis_failed(exc)
        return snapshot

    async def _read_count(self, snapshot: LinkSnapshot, seed: AsyncEngine | None) -> None:
        """Refresh known_counts for a capped link; when the snapshot came from PostgreSQL and
        Redis has no count yet (first use, or Redis lost it), seed it from the stored clicks."""
        key = CLICK_COUNT_KEY.format(link_id=snapshot.link_hex)
        value = await self.redis.get(key)
        if value is None and seed is not None:
            stored = await count_clicks_in_db(seed, snapshot.link_id)
            await self.redis.set(key, stored, nx=True)
            value = await self.redis.get(key)
        self.known_counts[snapshot.link_hex] = int(value or 0)

    # ---------------------------------------------------------------- invalidation
    def drop(self, code: str) -> None:
        self.local.pop(code, None)

    async def listen(self, subscriber: Any, ready: asyncio.Event | None = None) -> None:
        """Drop in-process entries as invalidations arrive; reconnect forever. `subscriber` is
        a Redis client without a read timeout (a subscription is idle most of the time)."""
        failing = False
        while True:
            pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(INVALIDATE_CHANNEL)
                self.local.clear()  # whatever was published while we were not listening
                if failing:
                    log.info("link_invalidation_resubscribed")
                failing = False
                if ready is not None:
                    ready.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        self.drop(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning("link_invalidation_unsubscribed", error=repr(exc)[:200])
                failing = True
            finally:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await pubsub.aclose()
            await asyncio.sleep(1.0)


def _parse(raw: bytes) -> LinkSnapshot | None:
    data = orjson.loads(raw)
    return None if data is None else LinkSnapshot(data)
