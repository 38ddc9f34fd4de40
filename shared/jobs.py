"""Job names and the enqueue-after-commit buffer.

Services never talk to the queue directly: they call `defer_job(session, ...)`, which only
records the job on the session. Whoever owns the transaction (the API's session dependency,
the worker's `session_scope`) calls `flush_jobs` after COMMIT succeeds. A job therefore never
runs against rows its transaction has not committed, and a rolled-back unit enqueues nothing.
If the enqueue itself fails after commit, the committed row is the record of truth and the
domain's sweeper re-enqueues it (see the inbox sweeper); jobs must be idempotent anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger(__name__)

_INFO_KEY = "vouch_deferred_jobs"
_CALLBACKS_KEY = "vouch_after_commit"

RedisCallback = Callable[[Any], Awaitable[None]]


class JobName(StrEnum):
    HEARTBEAT = "heartbeat"
    PING = "ping"
    MARK_MISSED_DELIVERABLES = "mark_missed_deliverables"
    NOTIFY_EXPIRING_USAGE_RIGHTS = "notify_expiring_usage_rights"
    CREATE_CLICK_PARTITIONS = "create_click_partitions"
    # webhook inbox (shared/webhooks, services/worker/jobs/webhooks.py)
    PROCESS_WEBHOOK_EVENT = "process_webhook_event"
    PROCESS_WEBHOOK_BATCH = "process_webhook_batch"
    SWEEP_WEBHOOK_EVENTS = "sweep_webhook_events"
    # outbound webhooks (shared/outbound, services/worker/jobs/outbound.py)
    DELIVER_WEBHOOKS = "deliver_webhooks"
    # payouts (shared/payouts, services/worker/jobs/payouts.py)
    PURGE_IDEMPOTENCY_KEYS = "purge_idempotency_keys"
    # engagement signals (shared/engagement, services/worker/jobs/engagement.py)
    RECOMPUTE_ACCOUNT_SIGNALS = "recompute_account_signals"
    SWEEP_STALE_SIGNALS = "sweep_stale_signals"
    REFRESH_ENGAGEMENT_BENCHMARKS = "refresh_engagement_benchmarks"
    # orders and commissions (shared/orders, services/worker/jobs/orders.py)
    APPROVE_COMMISSIONS = "approve_commissions"
    # analytics rollups (shared/analytics, services/worker/jobs/rollups.py)
    REFRESH_ROLLUPS = "refresh_rollups"


class Enqueuer(Protocol):
    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(slots=True)
class DeferredJob:
    name: JobName
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


def defer_job(
    session: AsyncSession, name: JobName, *args: Any, job_id: str | None = None, **kwargs: Any
) -> None:
    """Enqueue `name(*args, **kwargs)` once the session's transaction commits.

    `job_id` becomes arq's `_job_id`, so the same id enqueued twice while the first is queued
    or running is one job.
    """
    if job_id is not None:
        kwargs["_job_id"] = job_id
    session.info.setdefault(_INFO_KEY, []).append(DeferredJob(name, args, kwargs))


def after_commit(session: AsyncSession, callback: RedisCallback) -> None:
    """Run `await callback(redis)` once the session's transaction commits (e.g. invalidate a
    cache entry the unit changed). Best effort: a failure is logged, the commit stands."""
    session.info.setdefault(_CALLBACKS_KEY, []).append(callback)


def discard_jobs(session: AsyncSession) -> None:
    session.info.pop(_INFO_KEY, None)
    session.info.pop(_CALLBACKS_KEY, None)


async def flush_jobs(session: AsyncSession, queue: Enqueuer | None) -> int:
    """Enqueue what the committed unit deferred. Returns how many were handed to the queue."""
    jobs: list[DeferredJob] = session.info.pop(_INFO_KEY, [])
    callbacks: list[RedisCallback] = session.info.pop(_CALLBACKS_KEY, [])
    for callback in callbacks:
        try:
            await callback(queue)
        except Exception as exc:
            log.error("after_commit_failed", callback=repr(callback), error=repr(exc))
    sent = 0
    for job in jobs:
        if queue is None:
            log.warning("job_not_enqueued", job=job.name, reason="no queue")
            continue
        try:
            await queue.enqueue_job(job.name.value, *job.args, **job.kwargs)
            sent += 1
        except Exception as exc:  # the commit stands; sweepers recover from the DB
            log.error("job_enqueue_failed", job=job.name, error=repr(exc))
    return sent
