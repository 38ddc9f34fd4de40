"""Engagement jobs: recompute accounts' quality signals when their data changed, sweep
accounts whose recompute was never enqueued (or lost), refresh the roster benchmarks.

Importing this module registers the engagement inbox handlers (shared/engagement/handlers.py).
Every job is idempotent: a recompute is a no-op unless the account has staleness marks (its
data moved since its signals were computed), and its result depends only on stored data.

Batching. Ingestion defers one job per touched account (`signals:<account id>`, 2 s later,
so a burst costs one run). A job does not stop at its account: like the inbox drain, it
recomputes its account together with up to BATCH - 1 other stale accounts (oldest marks
first) in one transaction, a fixed number of statements for the whole batch
(shared/engagement/signals.py `recompute_many`), removes the queued jobs of the others, and
keeps draining full batches for up to DRAIN_BUDGET seconds. Accounts another job is
computing are skipped (SKIP LOCKED), not waited for.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import shared.engagement.handlers  # noqa: F401  (registers the inbox handlers)
from services.worker.context import WorkerContext, session_scope
from shared.engagement.service import defer_signals, signals_job_id
from shared.engagement.signals import (
    is_stale,
    recompute_many,
    refresh_benchmarks,
)
from shared.jobs import after_commit
from shared.webhooks.queue import forget_jobs

log = structlog.get_logger(__name__)

BATCH = 100  # accounts per transaction
DRAIN_BUDGET = 20.0  # seconds one job keeps draining full batches (job_timeout is 300 s)
RERUNS = 3  # runs for the job's own account while new marks keep arriving
SWEEP_MAX_BATCHES = 50  # a sweep never chases a flood forever; the next run continues
YIELD_AFTER_MS = 200  # a batch waits this long for a row lock, then goes one by one
LOCK_CONFLICTS = frozenset({"55P03", "40P01"})  # lock_not_available, deadlock_detected


async def _drain(ctx: WorkerContext, first: uuid.UUID | None) -> set[uuid.UUID]:
    """Recompute `first` (if stale) and other stale accounts in batches. Returns the
    accounts recomputed."""
    deadline = time.monotonic() + DRAIN_BUDGET
    done: set[uuid.UUID] = set()
    for n in range(SWEEP_MAX_BATCHES):
        own = [first] if first is not None and n == 0 else []
        wanted = BATCH - len(own)
        try:
            computed = await _recompute(ctx, own, wanted, own=first, yielding=True)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in LOCK_CONFLICTS:
                raise
            # Another writer holds a row this batch needs: this job's own account alone,
            # which waits normally and cannot deadlock with roster writers; the others stay
            # stale for their own jobs (or the sweeper) to compute, one batch or one by one.
            log.info("signals_batch_yielded")
            computed = await _recompute(ctx, own, 0, own=first, yielding=False) if own else set()
            done.update(computed)
            break
        done.update(computed)
        if len(computed) < BATCH or time.monotonic() > deadline:
            break
    return done


async def _recompute(
    ctx: WorkerContext,
    accounts: list[uuid.UUID],
    others: int,
    *,
    own: uuid.UUID | None,
    yielding: bool,
) -> set[uuid.UUID]:
    """One transaction: recompute `accounts` and up to `others` further stale accounts (those
    not held by another recompute); after commit, remove the queued jobs of the ones
    computed, other than the job's `own`.

    A batch of many accounts locks rows of many accounts, and roster writers (the CSV import,
    the API) lock some of the same rows in their own order; so a batch `yielding` waits at
    most YIELD_AFTER_MS for any lock and gives up (LockNotAvailable, rolled back) rather than
    become half of a deadlock with a user's import. One account at a time holds nothing a
    roster writer waits for while it waits itself."""
    async with session_scope(ctx) as session:
        if yielding and len(accounts) + others > 1:
            await session.execute(text(f"SET LOCAL lock_timeout = '{YIELD_AFTER_MS}ms'"))
        computed = set(await recompute_many(session, accounts, skip_locked=True, others=others))
        dropped = sorted(computed - {own})
        if dropped:

            async def forget(queue: Any, ids: list[uuid.UUID] = dropped) -> None:
                if queue is not None:
                    await forget_jobs(queue, [signals_job_id(a) for a in ids])

            after_commit(session, forget)
    return computed


async def _requeue_stale(ctx: WorkerContext, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` (accounts whose queued jobs a batch removed) are stale again; those get
    a job back (a mark committed while their job was still queued added no job)."""
    if not ids:
        return set()
    async with session_scope(ctx) as session:
        stale = await is_stale(session, list(ids))
        defer_signals(session, stale)
    return stale


async def recompute_account_signals(ctx: WorkerContext, account_id: str) -> bool:
    """Returns whether this account's signals were recomputed (False: already up to date,
    or gone); other stale accounts may have been recomputed on the way.

    The job id is per account, so a delivery committed while this job runs cannot queue
    another one for it: the job looks again after its commit and recomputes while new marks
    keep arriving (a few times; the sweeper handles anything later). The accounts it
    computed on behalf of other queued jobs get a job again if they were marked meanwhile."""
    account = uuid.UUID(account_id)
    recomputed = False
    for run in range(1, RERUNS + 1):
        done = await _drain(ctx, account)
        recomputed = recomputed or account in done
        if len(done) > 1:
            log.debug("signals_recomputed", accounts=len(done))
        await _requeue_stale(ctx, done - {account})
        async with session_scope(ctx) as session:
            again = bool(await is_stale(session, [account]))
        if not again or run == RERUNS:
            break
    return recomputed


async def sweep_stale_signals(ctx: WorkerContext) -> dict[str, int]:
    """Recompute accounts whose signals lag their data (a lost enqueue, a crash mid-job)."""
    done = await _drain(ctx, None)
    await _requeue_stale(ctx, done)
    if done:
        log.info("signals_swept", recomputed=len(done))
    return {"recomputed": len(done)}


async def refresh_engagement_benchmarks(ctx: WorkerContext) -> dict[str, int]:
    """Roster medians per brand x platform x tier (used from 20 accounts per cell on)."""
    async with session_scope(ctx) as session:
        cells = await refresh_benchmarks(session)
    return {"cells": cells}
