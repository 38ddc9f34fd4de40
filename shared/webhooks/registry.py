"""Which code handles which inbox event: (source, topic) -> handler.

Domains register their handlers at import time (the worker imports every job module, see
services/worker/settings.py):

    @register_handler("shopify", ["orders/create", "orders/paid"])
    async def handle_order(session: AsyncSession, event: WebhookEvent) -> None: ...

A topic may instead have a batch handler, `async def (session, events: list[WebhookEvent])`,
for work that is cheaper in bulk (one query for many orders): the processor hands it all the
claimed events of its topics at once in one SAVEPOINT, and if it raises, calls it again with
each event alone in its own SAVEPOINT, so a bad event fails only itself.

A handler runs inside a SAVEPOINT of the processor's transaction and must not commit; its
effect and the event's `handled` mark commit together. It may run more than once for the same
event (a crash after commit but before the queue hears of it, a replay), so it must be
idempotent: upsert by business keys, rely on unique constraints. It raises to fail the
attempt (the processor records the error and retries with backoff, then marks the event
dead). An event whose (source, topic) has no handler is marked `ignored`; replaying it after
a handler was registered processes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import WebhookEvent

Handler = Callable[[AsyncSession, WebhookEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[WebhookEvent]], Awaitable[None]]

_handlers: dict[tuple[str, str], Handler] = {}
_batch_handlers: dict[tuple[str, str], BatchHandler] = {}


class HandlerConflict(RuntimeError):
    """Two different handlers for one (source, topic): a wiring mistake, caught at import."""


def register_handler(
    source: str, topics: Iterable[str], handler: Handler | None = None
) -> Callable[[Handler], Handler]:
    """Register `handler` for `topics` of `source` (directly, or as a decorator)."""
    topic_list = [topics] if isinstance(topics, str) else list(topics)

    def add(fn: Handler) -> Handler:
        for topic in topic_list:
            existing = _handlers.get((source, topic)) or _batch_handlers.get((source, topic))
            if existing is not None and existing is not fn:
                raise HandlerConflict(f"{source} {topic} already has handler {existing!r}")
            _handlers[(source, topic)] = fn
        return fn

    if handler is not None:
        add(handler)
    return add


def register_batch_handler(
    source: str, topics: Iterable[str], handler: BatchHandler | None = None
) -> Callable[[BatchHandler], BatchHandler]:
    """Register a batch handler for `topics` of `source` (directly, or as a decorator)."""
    topic_list = [topics] if isinstance(topics, str) else list(topics)

    def add(fn: BatchHandler) -> BatchHandler:
        for topic in topic_list:
            existing = _handlers.get((source, topic)) or _batch_handlers.get((source, topic))
            if existing is not None and existing is not fn:
                raise HandlerConflict(f"{source} {topic} already has handler {existing!r}")
            _batch_handlers[(source, topic)] = fn
        return fn

    if handler is not None:
        add(handler)
    return add


def unregister_handler(source: str, topics: Iterable[str]) -> None:
    for topic in [topics] if isinstance(topics, str) else topics:
        _handlers.pop((source, topic), None)
        _batch_handlers.pop((source, topic), None)


def handler_for(source: str, topic: str) -> Handler | None:
    return _handlers.get((source, topic))


def batch_handler_for(source: str, topic: str) -> BatchHandler | None:
    return _batch_handlers.get((source, topic))


def registered() -> dict[tuple[str, str], Handler | BatchHandler]:
    return {**_handlers, **_batch_handlers}


@contextmanager
def handlers_registered(
    source: str,
    topics: Iterable[str],
    handler: Handler | None = None,
    *,
    batch: BatchHandler | None = None,
) -> Iterator[None]:
    """Register `handler` (or `batch`) for the duration of a block (tests, benchmarks),
    replacing and then restoring whatever those topics had."""
    assert (handler is None) != (batch is None), "give a handler or a batch handler"
    keys = [(source, t) for t in ([topics] if isinstance(topics, str) else list(topics))]
    saved = [(key, _handlers.pop(key, None), _batch_handlers.pop(key, None)) for key in keys]
    for key in keys:
        if handler is not None:
            _handlers[key] = handler
        elif batch is not None:
            _batch_handlers[key] = batch
    try:
        yield
    finally:
        for key, single, many in saved:
            _handlers.pop(key, None)
            _batch_handlers.pop(key, None)
            if single is not None:
                _handlers[key] = single
            if many is not None:
                _batch_handlers[key] = many
