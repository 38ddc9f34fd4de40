"""Find inbox events that should be processing but may have no job.

An acknowledged webhook is committed in PostgreSQL before its job is queued; if the enqueue
fails, Redis restarts without the queue, or a worker dies holding the job, the event stays
pending. Failed events wait for their `next_attempt_at`. The sweeper cron
(services/worker/jobs/webhooks.py) re-enqueues both kinds; enqueueing an event whose job is
already queued or running is a no-op (shared/webhooks/queue.py), so sweeping often is cheap.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import WebhookEvent
from shared.webhooks.status import EventStatus


async def stale_event_ids(
    session: AsyncSession,
    *,
    now: datetime,
    older_than: timedelta,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[datetime, uuid.UUID]]:
    """(received_at, id) of events pending for longer than `older_than`, or failed and due,
    oldest first, after the keyset `after`."""
    stmt = (
        select(WebhookEvent.received_at, WebhookEvent.id)
        .where(
            WebhookEvent.status.in_((EventStatus.PENDING.value, EventStatus.FAILED.value)),
            or_(
                and_(
                    WebhookEvent.status == EventStatus.PENDING.value,
                    WebhookEvent.received_at < now - older_than,
                ),
                and_(
                    WebhookEvent.status == EventStatus.FAILED.value,
                    WebhookEvent.next_attempt_at <= now,
                ),
            ),
        )
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
        .limit(limit)
    )
    if after is not None:
        at, id_ = after
        stmt = stmt.where(
            or_(
                WebhookEvent.received_at > at,
                and_(WebhookEvent.received_at == at, WebhookEvent.id > id_),
            )
        )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
