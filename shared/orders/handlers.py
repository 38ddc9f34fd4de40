"""The inbox handler for order events (registered per (source, topic) by the worker, see
services/worker/jobs/orders.py).

It runs inside the inbox processor's SAVEPOINT (shared/webhooks/processing.py): its effect
and the event's `handled` mark commit together, and a raise rolls back only this event.
Click ids are verified with the server secret of the process's settings (every API and
worker process shares VOUCH_SECRET_KEY, see shared/secrets.py).

Batch-ahead. The processor claims a batch of events (FOR UPDATE SKIP LOCKED, loaded into
its session) and calls the handler once per event. Applying orders one at a time costs about
ten statements each; applying a whole batch costs about ten in all (shared/orders/service.py
is set-based). So the first call in a session applies every other claimed order event of
that session too, in one pass inside its own nested SAVEPOINT, and remembers the outcome per
event in `session.info`; the later calls for those events return at once (or raise the
event's own parse error, which the batch skipped). This is safe because the effect is
idempotent: if the batch fails as a whole, its SAVEPOINT is rolled back and every event,
this one included, is applied on its own as if there were no batch; an event applied ahead
and then processed again (by a replay, another worker) changes nothing twice. The rule that
makes it correct: the batch never runs inside the SAVEPOINT of an event that will raise (a
call whose own event does not parse raises before running any batch).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shared.attribution.evidence import attribution_keys
from shared.config import get_settings
from shared.models import WebhookEvent
from shared.orders.parsing import TOPICS
from shared.orders.service import Incoming, apply_events, incoming
from shared.orders.types import ParseError
from shared.webhooks.registry import register_handler

__all__ = ["TOPICS", "handle_order_event", "register_order_handlers"]

_DONE = "vouch_orders_done"  # session.info: event id -> None (applied) | ParseError
_NO_BATCH = "vouch_orders_no_batch"  # session.info: a batch failed; one event at a time
UNHANDLED = frozenset({"pending", "failed"})


def _order_topic(source: object, topic: object) -> bool:
    return isinstance(source, str) and topic in TOPICS.get(source, frozenset())


def _claimed_alongside(session: AsyncSession, event: WebhookEvent) -> list[WebhookEvent]:
    """The other unhandled order events this session holds (the processor's claimed batch).
    Reads attributes from the instance state only: never a lazy load."""
    done: dict[uuid.UUID, ParseError | None] = session.info.get(_DONE, {})
    found: list[WebhookEvent] = []
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, WebhookEvent) or obj is event:
            continue
        state = obj.__dict__
        if (
            state.get("id") not in done
            and state.get("status") in UNHANDLED
            and _order_topic(state.get("source"), state.get("topic"))
            and "body" in state
        ):
            found.append(obj)
    return found


async def handle_order_event(session: AsyncSession, event: WebhookEvent) -> None:
    done: dict[uuid.UUID, ParseError | None] = session.info.setdefault(_DONE, {})
    if event.id in done:
        error = done.pop(event.id)
        if error is not None:
            raise error
        return
    keys = attribution_keys(get_settings())
    item = incoming(event)  # a ParseError fails this event alone, before any batch runs
    others = [] if session.info.get(_NO_BATCH) else _claimed_alongside(session, event)
    if others:
        items: list[Incoming] = [item]
        for other in others:
            try:
                items.append(incoming(other))
            except ParseError as exc:
                done[other.id] = exc
        try:
            async with session.begin_nested():
                await apply_events(session, items, keys)
        except Exception:
            # Something in the batch fails as a whole: from now on, one event per call, so
            # the failing event fails alone.
            session.info[_NO_BATCH] = True
        else:
            for applied in items[1:]:
                assert applied.event_id is not None
                done[applied.event_id] = None
            return
    await apply_events(session, [item], keys)


def register_order_handlers() -> None:
    """Register `handle_order_event` for every order topic of every store source (the worker
    does at import; so do the reconcile command and the tests). Idempotent."""
    for source, topics in TOPICS.items():
        register_handler(source, sorted(topics), handle_order_event)
