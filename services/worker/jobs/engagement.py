"""Engagement jobs: recompute an account's quality signals when its data changed, sweep
accounts whose recompute was never enqueued (or lost), refresh the roster benchmarks.

Importing this module registers the engagement inbox handlers (shared/engagement/handlers.py).
Every job is idempotent: a recompute is a no-op unless the account's data version moved past
the version its signals were computed from, and its result depends only on stored data.
"""

from __future__ import annotations

import uuid

import structlog

import shared.engagement.handlers  # noqa: F401  (registers the inbox handlers)
from services.worker.context import WorkerContext, session_scope
from shared.engagement.signals import is_stale, recompute, refresh_benchmarks, stale_accounts

log = structlog.get_logger(__name__)

SWEEP_BATCH = 200
SWEEP_MAX_BATCHES = 50  # a run never chases a flood forever; the next run continues


RERUNS = 3


async def recompute_account_signals(ctx: WorkerContext, account_id: str) -> bool:
    """Returns whether the signals were recomputed (False: already up to date, or gone).

    The job id is per account, so a delivery committed while this job runs cannot queue
    another one: the job looks again after its commit and recomputes while new marks keep
    arriving (a few times; the sweeper handles anything later)."""
    account = uuid.UUID(account_id)
    done = False
    for _ in range(RERUNS):
        async with session_scope(ctx) as session:
            signals = await recompute(session, account)
        if signals is None:
            break
        done = True
        async with session_scope(ctx) as session:
            if not await is_stale(session, [account]):
                break
    return done


async def sweep_stale_signals(ctx: WorkerContext) -> dict[str, int]:
    """Recompute accounts whose signals lag their data (a lost enqueue, a crash mid-job)."""
    done = 0
    for _ in range(SWEEP_MAX_BATCHES):
        async with session_scope(ctx) as session:
            ids = await stale_accounts(session, SWEEP_BATCH)
        for account_id in ids:
            async with session_scope(ctx) as session:
                if await recompute(session, account_id) is not None:
                    done += 1
        if len(ids) < SWEEP_BATCH:
            break
    if done:
        log.info("signals_swept", recomputed=done)
    return {"recomputed": done}


async def refresh_engagement_benchmarks(ctx: WorkerContext) -> dict[str, int]:
    """Roster medians per brand x platform x tier (used from 20 accounts per cell on)."""
    async with session_scope(ctx) as session:
        cells = await refresh_benchmarks(session)
    return {"cells": cells}
