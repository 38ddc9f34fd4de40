"""The inbox handler for order events (registered per (source, topic) by the worker, see
services/worker/jobs/orders.py).

It runs inside a SAVEPOINT of the inbox processor's transaction
(shared/webhooks/processing.py): its effect and the events' `handled` marks commit together.
Click ids are verified with the server secret of the process's settings (every API and
worker process shares VOUCH_SECRET_KEY, see shared/secrets.py).

Batches. The handler is a batch handler (shared/webhooks/registry.py): the processor hands it
every claimed order event at once, and it applies them in one set-based pass
(shared/orders/service.py: about ten statements for the whole batch, where one order at a
time costs about ten each). If anything in the batch fails (an event that does not parse, a
value the database refuses), the processor rolls the batch's SAVEPOINT back and calls the
handler again with each event alone, so the bad event fails by itself. The effect is
idempotent, so an event applied again later (a replay, another worker) changes nothing twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.attribution.evidence import attribution_keys
from shared.config import get_settings
from shared.models import WebhookEvent
from shared.orders.parsing import TOPICS
from shared.orders.service import apply_events, incoming
from shared.webhooks.registry import register_batch_handler

__all__ = ["TOPICS", "handle_order_events", "register_order_handlers"]


async def handle_order_events(session: AsyncSession, events: list[WebhookEvent]) -> None:
    keys = attribution_keys(get_settings())
    await apply_events(session, [incoming(event) for event in events], keys)


def register_order_handlers() -> None:
    """Register `handle_order_events` for every order topic of every store source (the
    worker does at import; so do the reconcile command and the tests). Idempotent."""
    for source, topics in TOPICS.items():
        register_batch_handler(source, sorted(topics), handle_order_events)
