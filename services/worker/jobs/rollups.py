"""The rollup cron: bring the daily rollups up to date with what the triggers marked.

Every 10 seconds: first rebuild any brand whose time zone changed (its days moved), then
claim marks and recompute their cells in batches (one transaction each) until the log is
empty or the run's time budget is spent (the next run continues). Runs that overlap are
harmless: a second run finds the rollup lock taken and returns at once. Idempotent: a
recompute writes what the raw rows say, however often it runs.
"""

from __future__ import annotations

import time

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.analytics.rollups import (
    DEFAULT_CLAIM,
    Written,
    brands_with_new_timezone,
    process_dirty,
    rebuild,
)

log = structlog.get_logger(__name__)

CRON_SECONDS = {0, 10, 20, 30, 40, 50}
TIME_BUDGET_SECONDS = 8.0


async def refresh_rollups(
    ctx: WorkerContext, *, limit: int = DEFAULT_CLAIM, budget: float = TIME_BUDGET_SECONDS
) -> dict[str, int]:
    async with session_scope(ctx) as session:
        moved = await brands_with_new_timezone(session)
    for brand_id, timezone in moved:
        log.info("rollups_timezone_changed", brand_id=str(brand_id), timezone=timezone)
        await rebuild(ctx["sessionmaker"], since=None, brand_id=brand_id)

    deadline = time.monotonic() + budget
    marks = cells = 0
    written = Written()
    while True:
        async with session_scope(ctx) as session:
            step = await process_dirty(session, limit)
        if step is None:  # another run holds the lock
            break
        marks += step.marks
        cells += step.cells
        written.add(step.written)
        if step.marks < limit or time.monotonic() >= deadline:
            break
    if marks:
        log.info(
            "rollups_refreshed",
            marks=marks,
            cells=cells,
            links=written.links,
            sales=written.sales,
            posts=written.posts,
            accounts=written.accounts,
        )
    return {"marks": marks, "cells": cells, "rebuilt_brands": len(moved)}
