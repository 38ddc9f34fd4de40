"""Inbox jobs: process events (one, or a batch when the queue is deep) and the sweeper.

Design. The intake queues one arq job per new event (`_job_id` = event id), so an event is
picked up within milliseconds and a lost job is recoverable by id. But arq's own overhead per
job (about 0.5 ms: several Redis round trips) would cap a deep queue near 2,000 events/s even
with no-op handlers, and one transaction per event costs a WAL flush each. So a job does not
stop at its own event: `process_webhook_event(event_id)` claims its event plus up to
`webhook_batch_size - 1` other due events (`FOR UPDATE SKIP LOCKED`, oldest first), runs
each handler in its own SAVEPOINT, commits the whole batch once, then removes the queued jobs
of the other events it handled (shared/webhooks/queue.py: `forget_jobs`). It keeps draining
while it finds full batches, for up to DRAIN_BUDGET seconds. With a shallow queue a job
handles just its event; with a deep one a job handles batches and most per-event jobs never
start. Concurrent jobs (arq's max_jobs) split the backlog between them through SKIP LOCKED.

A job arq had already started when its event was handled elsewhere finds nothing due and
returns. If a batch's transaction fails (worker killed, database gone) nothing of it is
committed and no job was removed: the events are retried by their own jobs or the sweeper.

`sweep_webhook_events` (cron, every 30 s) re-queues events pending for longer than
`webhook_sweep_after_seconds` and failed events whose backoff has passed.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.jobs import after_commit
from shared.webhooks.processing import Outcome, claim, process_claimed
from shared.webhooks.queue import enqueue_events, forget_jobs
from shared.webhooks.sweeper import stale_event_ids

log = structlog.get_logger(__name__)

DRAIN_BUDGET = 20.0  # seconds one job keeps draining full batches (job_timeout is 300 s)
SWEEP_PAGE = 1000
SWEEP_MAX_PAGES = 20


async def drain(ctx: WorkerContext, first: uuid.UUID | None = None) -> Outcome:
    """Process `first` (if given and due) and further due events in committed batches."""
    settings = ctx["settings"]
    batch_size = settings.webhook_batch_size
    deadline = time.monotonic() + DRAIN_BUDGET
    total = Outcome()
    while True:
        async with session_scope(ctx) as session:
            events = await claim(session, limit=batch_size, first=first)
            outcome = await process_claimed(
                session, events, max_attempts=settings.webhook_max_attempts
            )
            others = [e for e in outcome.ids if e != first]
            if others:

                async def forget(queue: Any, ids: list[uuid.UUID] = others) -> None:
                    if queue is not None:
                        await forget_jobs(queue, ids)

                after_commit(session, forget)
        total.add(outcome)
        first = None
        if len(events) < batch_size or time.monotonic() > deadline:
            return total


async def process_webhook_event(ctx: WorkerContext, event_id: str) -> dict[str, int]:
    outcome = await drain(ctx, uuid.UUID(event_id))
    return outcome.counts()


async def process_webhook_batch(ctx: WorkerContext) -> dict[str, int]:
    """Drain due events without a particular one in mind (operators, benchmarks)."""
    outcome = await drain(ctx)
    return outcome.counts()


async def sweep_webhook_events(ctx: WorkerContext) -> dict[str, int]:
    """Re-queue inbox events that may have lost their job; queued or running ones are left
    alone by the enqueue itself."""
    settings = ctx["settings"]
    now = datetime.now(UTC)
    older_than = timedelta(seconds=settings.webhook_sweep_after_seconds)
    found = queued = 0
    after = None
    for _ in range(SWEEP_MAX_PAGES):
        async with session_scope(ctx) as session:
            page = await stale_event_ids(
                session, now=now, older_than=older_than, limit=SWEEP_PAGE, after=after
            )
        if not page:
            break
        found += len(page)
        queued += await enqueue_events(ctx["redis"], [event_id for _, event_id in page])
        after = page[-1]
        if len(page) < SWEEP_PAGE:
            break
    if queued:
        log.info("webhook_events_swept", stale=found, queued=queued)
    return {"stale": found, "queued": queued}
