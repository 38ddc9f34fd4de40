"""Inbox events as the API shows them, and replay."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidTransition
from shared.jobs import after_commit
from shared.models import WebhookEvent
from shared.webhooks.queue import enqueue_events
from shared.webhooks.repository import WebhookEventNotFound, WebhookEventRepository
from shared.webhooks.status import REPLAYABLE, EventStatus

# Never shown back: a signature (with the body) is a replayable credential for its secret.
SIGNATURE_HEADERS = frozenset(
    {
        "x-shopify-hmac-sha256",
        "x-wc-webhook-signature",
        "webhook-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "authorization",
        "cookie",
    }
)


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in SIGNATURE_HEADERS}


class IllegalReplay(InvalidTransition):
    code = "illegal_transition"
    title = "Illegal status transition"

    def __init__(self, current: str) -> None:
        super().__init__(
            current,
            EventStatus.PENDING.value,
            f"The webhook event is {current}; only failed, dead, handled or ignored events "
            "can be replayed.",
        )


async def replay(session: AsyncSession, brand_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent:
    """Back to pending with attempts reset, and queued once committed. Handlers are
    idempotent, so replaying a handled event changes nothing a second time; replaying an
    ignored one runs a handler registered since it arrived."""
    repo = WebhookEventRepository(session, brand_id)
    row = await repo.reset_to_pending(event_id, tuple(s.value for s in REPLAYABLE))
    if row is None:
        current = await repo.current_status(event_id)
        if current is None:
            raise WebhookEventNotFound(detail=f"No webhook event with id {event_id}.")
        raise IllegalReplay(current)

    async def enqueue(queue: Any) -> None:
        if queue is not None:
            await enqueue_events(queue, [event_id])

    after_commit(session, enqueue)
    return row
