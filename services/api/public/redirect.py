"""`GET|HEAD /r/{code}`: the public redirect, the hottest path in Vouch.

It does not go through FastAPI: a raw ASGI middleware placed outermost answers `/r/...`
itself, so a click pays for no routing, validation, dependency injection, access-log line or
Prometheus lock (counters are plain integers read by a collector at scrape time). Per click:

1. the link snapshot from the in-process cache (shared/links/cache.py; Redis, then one
   PostgreSQL query, only on a miss or every 0.5 s per link);
2. a self-verifying click id (shared/links/clickid.py) appended to the precomputed Location;
3. the visitor hash, country code and referrer host computed here, so no raw IP leaves this
   process (shared/links/clicks.py), and the click appended to an in-process buffer;
4. the 302.

A background task flushes the buffer every FLUSH_INTERVAL: one XADD per up to 1,000 clicks,
pipelined, to the stream the worker drains. If Redis fails the batch goes straight to
PostgreSQL with COPY (`vouch_clicks_fallback_total`); if that fails too the batch is kept
(bounded by MAX_BUFFERED, beyond which clicks are dropped and counted) and retried. The
follower is never kept waiting by either.

Unknown or disabled codes get a small 404 page, expired links 410. HEAD answers like GET but
is never a click. Click caps: each process counts the clicks it serves per capped link and
adds them to a Redis counter (INCRBY in the same pipelined flush), reading back the total; a
link is capped once that total plus the clicks served since the last flush reach the cap.
The cap is therefore exact to within the clicks other API processes served in one flush
interval (a few, at most tens under heavy load). Clicks past the cap go to the fallback URL
as is (no click id) and are not recorded: they are not the link's clicks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.config import Settings
from shared.links.cache import CLICK_COUNT_KEY, LinkCache, LinkSnapshot
from shared.links.clickid import ClickIds
from shared.links.clicks import (
    CLICKS_PER_ENTRY,
    MAX_UA,
    CountryLookup,
    PartitionCache,
    StreamClick,
    UserAgentClassifier,
    VisitorHasher,
    encode_entry,
    enrich,
    referrer_domain,
    store_clicks,
)
from shared.secrets import secret_key

log = structlog.get_logger(__name__)

PREFIX = "/r/"
FLUSH_INTERVAL = 0.025  # seconds between flushes of the click buffer
MAX_BUFFERED = 200_000  # clicks held while both Redis and PostgreSQL are failing

_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width,initial-scale=1'>"
    "<meta name=robots content=noindex><title>{title}</title>"
    "<body style='font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
    "padding:0 1rem;color:#222'><h1 style='font-size:1.4rem'>{title}</h1><p>{text}</p>"
)
PAGES = {
    404: _PAGE.format(
        title="Link not found", text="This link does not exist or is no longer active."
    ).encode(),
    410: _PAGE.format(title="Link expired", text="This link has expired.").encode(),
    503: _PAGE.format(
        title="Try again in a moment", text="This link cannot be followed right now."
    ).encode(),
    405: b"Method not allowed",
}
_NO_STORE = (b"cache-control", b"no-store")
_HTML = (b"content-type", b"text/html; charset=utf-8")
_EMPTY_BODY = {"type": "http.response.body", "body": b""}


class RedirectCounters:
    """Plain integer counters (no lock: one event loop per process), exported by `collect`."""

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = defaultdict(int)
        self.lookups: dict[str, int] = defaultdict(int)
        self.streamed = 0
        self.fallback = 0
        self.dropped = 0
        self.buffered = 0


class RedirectCollector(Collector):
    def __init__(self, redirect: Redirect) -> None:
        self.redirect = redirect

    def collect(self) -> Iterator[Any]:
        c = self.redirect.counters
        outcomes = CounterMetricFamily(
            "vouch_redirects", "Redirect requests by outcome.", labels=["outcome"]
        )
        for outcome, n in sorted(c.outcomes.items()):
            outcomes.add_metric([outcome], n)
        yield outcomes
        lookups = CounterMetricFamily(
            "vouch_link_cache_misses",
            "Link snapshots loaded on an in-process cache miss, by where they came from.",
            labels=["source"],
        )
        for source, n in sorted(c.lookups.items()):
            lookups.add_metric([source], n)
        yield lookups
        yield CounterMetricFamily(
            "vouch_clicks_streamed", "Clicks written to the Redis stream.", value=c.streamed
        )
        yield CounterMetricFamily(
            "vouch_clicks_fallback",
            "Clicks written straight to PostgreSQL because Redis was unavailable.",
            value=c.fallback,
        )
        yield CounterMetricFamily(
            "vouch_clicks_dropped",
            "Clicks dropped because neither Redis nor PostgreSQL took them in time.",
            value=c.dropped,
        )
        yield GaugeMetricFamily(
            "vouch_clicks_buffered",
            "Clicks waiting in this process for the next flush.",
            value=len(self.redirect.buffer),
        )


class Redirect:
    """The redirect's per-process state: link cache, click buffer, flusher. The API's
    lifespan calls `start` and `stop`; `RedirectMiddleware` calls `handle`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stream = settings.click_stream
        self.counters = RedirectCounters()
        self.buffer: list[StreamClick] = []
        self.pending_counts: dict[str, int] = defaultdict(int)  # capped links: served since flush
        self.cache: LinkCache | None = None
        self.engine: AsyncEngine | None = None
        self.redis: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._ids: ClickIds | None = None
        self._visitors: VisitorHasher | None = None
        self._geo: CountryLookup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._flush_lock = asyncio.Lock()
        self._partitions = PartitionCache()
        self._classifier: UserAgentClassifier | None = None  # only for the fallback path
        self.subscribed = asyncio.Event()
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, engine: AsyncEngine) -> None:
        secret = secret_key(self.settings)
        self._ids = ClickIds(secret)
        self._visitors = VisitorHasher(secret)
        self._geo = await asyncio.to_thread(CountryLookup)
        self.engine = engine
        if self.settings.redis_url:
            # Short timeouts: a slow Redis must cost a flush its batch (-> PostgreSQL), never
            # hold followers. The cache skips Redis for a second after a failure.
            self.redis = aioredis.Redis.from_url(
                self.settings.redis_url,
                socket_connect_timeout=0.25,
                socket_timeout=0.5,
                health_check_interval=30,
            )
            self._subscriber = aioredis.Redis.from_url(
                self.settings.redis_url, socket_connect_timeout=1, socket_keepalive=True
            )
        self.cache = LinkCache(engine, self.redis, on_source=self._count_lookup)
        # Everything loaded so far (modules, app, the country database: ~180k objects) lives
        # as long as the process. Freezing it keeps the cyclic GC's full collections from
        # rescanning it: each took ~120 ms, a pause every follower in flight would feel.
        gc.freeze()
        self._stopping.clear()
        self._tasks.append(asyncio.create_task(self._flush_forever(), name="click-flush"))
        if self._subscriber is not None:
            self._tasks.append(
                asyncio.create_task(
                    self.cache.listen(self._subscriber, self.subscribed), name="link-invalidate"
                )
            )

    async def stop(self) -> None:
        """Graceful shutdown: uvicorn has finished in-flight requests; flush what is left.
        The flusher is asked to stop, not cancelled: a cancelled flush would lose the batch
        it holds."""
        self._stopping.set()
        for task in self._tasks[1:]:  # [0] is the flusher
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        try:
            await self.flush()
        except Exception as exc:
            log.error("click_flush_on_shutdown_failed", lost=len(self.buffer), error=repr(exc))
        for client in (self.redis, self._subscriber):
            if client is not None:
                await client.aclose()

    def _count_lookup(self, source: str) -> None:
        self.counters.lookups[source] += 1

    # ------------------------------------------------------------------ the hot path
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await self._page(send, 405, method, extra=[(b"allow", b"GET, HEAD")])
            return
        code = scope["path"][3:]
        cache = self.cache
        assert cache is not None, "the app's lifespan did not start the redirect"
        entry = cache.local.get(code)
        if entry is not None and entry[0] > time.monotonic():
            snapshot = entry[1]
        else:
            try:
                snapshot = await cache.fetch(code)
            except Exception as exc:  # neither Redis nor PostgreSQL knows, for now
                self.counters.outcomes["unavailable"] += 1
                log.error("redirect_lookup_failed", code=code, error=repr(exc)[:200])
                await self._page(send, 503, method, extra=[(b"retry-after", b"5")])
                return
        counters = self.counters.outcomes
        if snapshot is None or not snapshot.active:
            counters["not_found"] += 1
            await self._page(send, 404, method)
            return
        if snapshot.expires_at is not None and time.time() >= snapshot.expires_at:
            counters["expired"] += 1
            await self._page(send, 410, method)
            return
        if snapshot.click_cap is not None and self._capped(snapshot):
            counters["capped"] += 1
            await self._redirect(send, (snapshot.fallback_url or "/").encode())
            return
        ms = time.time_ns() // 1_000_000
        click_id = self._ids.issue(snapshot.prefix, ms)  # type: ignore[union-attr]
        if method == "GET":
            user_agent = b""
            referer = None
            for name, value in scope["headers"]:
                if name == b"user-agent":
                    user_agent = value
                elif name == b"referer":
                    referer = value
            client = scope.get("client")
            ip = client[0] if client else ""
            self.buffer.append(
                (
                    click_id,
                    snapshot.brand_hex,
                    snapshot.link_hex,
                    ms,
                    self._visitors.hash(ip, user_agent, ms).hex(),  # type: ignore[union-attr]
                    self._geo.country(ip) if self._geo is not None and ip else None,
                    referrer_domain(referer.decode("latin-1")) if referer else None,
                    user_agent[:MAX_UA].decode("latin-1"),
                )
            )
            if snapshot.click_cap is not None:
                self.pending_counts[snapshot.link_hex] += 1
            counters["click"] += 1
        else:
            counters["head"] += 1
        await self._redirect(send, snapshot.location(click_id).encode())

    def _capped(self, snapshot: LinkSnapshot) -> bool:
        assert snapshot.click_cap is not None and self.cache is not None
        served = self.cache.known_counts.get(snapshot.link_hex, 0)
        return served + self.pending_counts.get(snapshot.link_hex, 0) >= snapshot.click_cap

    @staticmethod
    async def _redirect(send: Send, location: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(b"location", location), (b"content-length", b"0"), _NO_STORE],
            }
        )
        await send(_EMPTY_BODY)

    @staticmethod
    async def _page(
        send: Send, status: int, method: str, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = PAGES[status]
        headers = [_HTML, (b"content-length", str(len(body)).encode()), _NO_STORE, *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    # ------------------------------------------------------------------ the flusher
    async def _flush_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), FLUSH_INTERVAL)
            try:
                await self.flush()
            except Exception as exc:  # never let the flusher die
                log.error("click_flush_failed", error=repr(exc)[:300])

    async def flush(self) -> None:
        """Hand the buffered clicks to Redis, else PostgreSQL, else keep them for later."""
        async with self._flush_lock:
            batch, self.buffer = self.buffer, []
            counts, self.pending_counts = self.pending_counts, defaultdict(int)
            if not batch and not counts:
                return
            cache = self.cache
            assert cache is not None
            if cache.redis_usable():
                try:
                    await self._to_stream(batch, counts)
                    self.counters.streamed += len(batch)
                    return
                except Exception as exc:
                    cache.redis_failed(exc)
            for link, n in counts.items():  # keep counting; sent with the next good flush
                self.pending_counts[link] += n
            try:
                await self._to_postgres(batch)
                self.counters.fallback += len(batch)
            except Exception as exc:
                log.error("click_fallback_failed", clicks=len(batch), error=repr(exc)[:300])
                self.buffer[:0] = batch
                overflow = len(self.buffer) - MAX_BUFFERED
                if overflow > 0:
                    del self.buffer[:overflow]
                    self.counters.dropped += overflow

    async def _to_stream(self, batch: list[StreamClick], counts: dict[str, int]) -> None:
        assert self.redis is not None and self.cache is not None
        links = list(counts)
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(batch), CLICKS_PER_ENTRY):
                # No MAXLEN: trimming could drop clicks the worker has not stored yet.
                pipe.xadd(self.stream, encode_entry(batch[start : start + CLICKS_PER_ENTRY]))  # type: ignore[arg-type]
            for link in links:
                pipe.incrby(CLICK_COUNT_KEY.format(link_id=link), counts[link])
            results = await pipe.execute()
        for link, total in zip(links, results[len(results) - len(links) :], strict=True):
            self.cache.known_counts[link] = int(total)

    async def _to_postgres(self, batch: list[StreamClick]) -> None:
        """The degraded path: enrich here (no unique flags from Redis: SQL decides them)."""
        if not batch:
            return
        assert self.engine is not None
        if self._classifier is None:
            self._classifier = UserAgentClassifier()
        rows = await enrich(batch, self._classifier, None)
        await store_clicks(self.engine, rows, self._partitions)


class RedirectMiddleware:
    """Outermost ASGI layer: `/r/...` is answered by `Redirect`, everything else passes on to
    FastAPI untouched."""

    def __init__(self, app: ASGIApp, redirect: Redirect) -> None:
        self.app = app
        self.redirect = redirect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.redirect.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _documented_only(code: str) -> None:  # pragma: no cover - never reached
    raise RuntimeError("/r/{code} is answered by RedirectMiddleware")


def install(app: Any, redirect: Redirect, registry: CollectorRegistry) -> None:
    """Mount the redirect in front of `app` (call after every other add_middleware, so it is
    the outermost layer) and export its counters on the app's metrics registry. The route
    added here only documents the contract in OpenAPI: the middleware answers first."""
    app.add_middleware(RedirectMiddleware, redirect=redirect)
    registry.register(RedirectCollector(redirect))
    for method in ("GET", "HEAD"):
        _document(app, method)


def _document(app: Any, method: str) -> None:
    app.add_api_route(
        "/r/{code}",
        _documented_only,
        methods=[method],
        operation_id=f"follow_link_{method.lower()}",
        status_code=302,
        tags=["public"],
        summary="Follow a tracking link",
        description=(
            "302 to the link's destination with its UTM parameters and "
            "`vclid=<click id>` appended (the click id is self-verifying: link, time and a "
            "keyed signature). 404 page for unknown or disabled codes, 410 for expired links; "
            "past a click cap, 302 to the fallback URL. HEAD answers like GET but is never "
            "counted as a click. No API key."
        ),
        response_class=Response,
        responses={
            302: {"description": "Redirect; `Location` carries the destination and `vclid`"},
            404: {"description": "Unknown or disabled code (HTML page)"},
            410: {"description": "Expired link (HTML page)"},
        },
    )
