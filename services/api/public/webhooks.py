"""`POST /webhooks/{shopify|woocommerce|orders}/{integration_id}`: the store receivers.

A hot path, so like the redirect it bypasses FastAPI: a raw ASGI middleware placed outermost
answers `/webhooks/...` itself (no routing, validation, dependency injection, access-log
line or per-request Prometheus lock; counters are plain integers read at scrape time). Per
request, in this order (shared/webhooks/intake.py has the details):

1. the integration from the in-process cache: unknown, disabled or of a kind this receiver
   does not serve -> 404;
2. the raw body, at most `max_body_bytes` (1 MiB) -> else 413;
3. the signature, on the raw bytes, in constant time, with the current secret and (during a
   rotation's grace period) the previous one -> else 401, nothing written;
4. one INSERT ... ON CONFLICT DO NOTHING into the inbox, group-committed with concurrent
   webhooks, then the job queued for a new row -> 200 `{"status": "accepted", "id": ...}`;
   a duplicate -> 200 `{"status": "duplicate", "id": <the first delivery's event id>}`.

The WooCommerce activation ping (unsigned, form body `webhook_id=<n>`) gets 200
`{"status": "ping"}` and writes nothing. Errors are problem+json like the rest of the API.
Metrics: `vouch_webhooks_total{source,outcome}` (accepted | duplicate | rejected), and
`vouch_webhook_rejections_total{source,reason}` for the why of each rejection.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import asyncpg
import structlog
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.deps import AppState
from services.api.errors import problem_response
from shared.config import Settings
from shared.webhooks.intake import (
    SOURCES,
    BadWebhook,
    InboxRow,
    InboxWriter,
    IntegrationCache,
    Verdict,
    accepts,
)

log = structlog.get_logger(__name__)

PREFIX = "/webhooks/"
_JSON = (b"content-type", b"application/json")
_PING_BODY = b'{"status":"ping"}'


class WebhookCounters:
    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], int] = defaultdict(int)
        self.rejections: dict[tuple[str, str], int] = defaultdict(int)
        self.enqueue_failures = 0


class WebhookCollector(Collector):
    def __init__(self, counters: WebhookCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Any]:
        outcomes = CounterMetricFamily(
            "vouch_webhooks",
            "Webhooks received, by source and outcome (accepted, duplicate, rejected).",
            labels=["source", "outcome"],
        )
        for (source, outcome), n in sorted(self.counters.outcomes.items()):
            outcomes.add_metric([source, outcome], n)
        yield outcomes
        rejections = CounterMetricFamily(
            "vouch_webhook_rejections",
            "Webhooks answered with an error, by source and reason.",
            labels=["source", "reason"],
        )
        for (source, reason), n in sorted(self.counters.rejections.items()):
            rejections.add_metric([source, reason], n)
        yield rejections
        yield CounterMetricFamily(
            "vouch_webhook_enqueue_failures",
            "Committed inbox events whose job could not be queued (the sweeper re-queues them).",
            value=self.counters.enqueue_failures,
        )


class WebhookReceiver:
    """Per-process receiver state: integration cache and inbox writer, bound on first use to
    the engine and queue the app's lifespan opened (`app.state.vouch`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_body = settings.max_body_bytes
        self.counters = WebhookCounters()
        self.cache: IntegrationCache | None = None
        self.writer: InboxWriter | None = None

    def bind(self, state: AppState) -> None:
        engine: AsyncEngine = state.sessionmaker.kw["bind"]
        self.cache = IntegrationCache(engine, self.settings.webhook_integration_cache_seconds)
        self.writer = InboxWriter(engine, state.queue, on_enqueue_failure=self._enqueue_failed)

    def _enqueue_failed(self, n: int) -> None:
        self.counters.enqueue_failures += n

    def _reject(self, source: str, reason: str) -> None:
        self.counters.outcomes[(source, "rejected")] += 1
        self.counters.rejections[(source, reason)] += 1

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        name, _, raw_id = scope["path"][len(PREFIX) :].partition("/")
        spec = SOURCES[name]
        integration_id = _uuid(raw_id)
        if integration_id is None:
            await _problem(scope, receive, send, 404, "not-found", "No such webhook endpoint.")
            return
        if scope["method"] != "POST":
            await _problem(
                scope,
                receive,
                send,
                405,
                "method-not-allowed",
                "Webhooks are delivered with POST.",
                headers={"allow": "POST"},
            )
            return
        if self.cache is None:
            self.bind(scope["app"].state.vouch)
        cache, writer = self.cache, self.writer
        assert cache is not None and writer is not None
        try:
            snapshot = await cache.get(integration_id)
        except Exception as exc:
            log.error("webhook_integration_lookup_failed", error=repr(exc)[:300])
            self._reject(name, "unavailable")
            await _problem(
                scope,
                receive,
                send,
                503,
                "inbox-unavailable",
                "The webhook could not be checked; retry later.",
                title="Service unavailable",
            )
            return
        if not accepts(spec, snapshot):
            self._reject(name, "not_found")
            await _problem(
                scope, receive, send, 404, "not-found", f"No {name} integration {integration_id}."
            )
            return
        assert snapshot is not None
        body = await _read_body(scope, receive, self.max_body)
        if body is None:
            self._reject(name, "too_large")
            await _problem(
                scope,
                receive,
                send,
                413,
                "request-entity-too-large",
                f"Request body exceeds {self.max_body} bytes.",
            )
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        now = time.time()
        verdict, reason = spec.verify(snapshot.keys, headers, body, now)
        if verdict is Verdict.REJECT:
            fresh = await cache.refresh_if_stale(snapshot)  # a secret rotated moments ago
            if fresh is not None and accepts(spec, fresh):
                snapshot = fresh
                verdict, reason = spec.verify(snapshot.keys, headers, body, now)
        if verdict is Verdict.PING:
            await _respond(send, 200, _PING_BODY)
            return
        if verdict is not Verdict.OK:
            self._reject(name, "signature")
            log.info(
                "webhook_rejected", source=name, integration_id=str(integration_id), why=reason
            )
            await _problem(
                scope,
                receive,
                send,
                401,
                "invalid-signature",
                f"Invalid or missing webhook signature ({reason}).",
                title="Invalid signature",
            )
            return
        try:
            described = spec.describe(headers, body)
        except BadWebhook as exc:
            self._reject(name, "bad_request")
            await _problem(scope, receive, send, 400, "bad-webhook", str(exc))
            return
        row = InboxRow(
            brand_id=snapshot.brand_id,
            integration_id=integration_id,
            source=name,
            topic=described.topic,
            external_id=described.external_id,
            source_timestamp=described.source_timestamp,
            headers=headers,
            body=body,
        )
        try:
            stored = await writer.write(row)
        except asyncpg.DataError as exc:
            self._reject(name, "unstorable")
            await _problem(scope, receive, send, 400, "bad-webhook", f"Cannot store: {exc}")
            return
        except Exception:
            self._reject(name, "unavailable")
            await _problem(
                scope,
                receive,
                send,
                503,
                "inbox-unavailable",
                "The webhook could not be stored; retry later.",
                title="Service unavailable",
            )
            return
        outcome = "accepted" if stored.new else "duplicate"
        self.counters.outcomes[(name, outcome)] += 1
        await _respond(
            send, 200, b'{"status":"' + outcome.encode() + b'","id":"' + stored.id.encode() + b'"}'
        )


def _uuid(value: str) -> uuid.UUID | None:
    if len(value) != 36:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The raw body, or None once it exceeds `limit` (declared or actual)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                return None
            break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # disconnected: nothing to answer
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    response = problem_response(status, code, detail, title=title, headers=headers)
    await response(scope, receive, send)


class WebhookMiddleware:
    """Outermost ASGI layer: `/webhooks/{source}/...` of a source in SOURCES is answered by
    `WebhookReceiver`, everything else passes on untouched."""

    def __init__(self, app: ASGIApp, receiver: WebhookReceiver) -> None:
        self.app = app
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Sources this intake does not know (e.g. a receiver mounted elsewhere) pass on.
        if (
            scope["type"] == "http"
            and scope["path"].startswith(PREFIX)
            and scope["path"][len(PREFIX) :].partition("/")[0] in SOURCES
        ):
            await self.receiver.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: Any, receiver: WebhookReceiver, registry: CollectorRegistry) -> None:
    """Mount the receivers in front of `app` (after every other add_middleware) and export
    their counters on the app's metrics registry."""
    app.add_middleware(WebhookMiddleware, receiver=receiver)
    registry.register(WebhookCollector(receiver.counters))
    app.state.webhooks = receiver
