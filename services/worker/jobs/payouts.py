"""Payout housekeeping: drop idempotency keys past their 24 hours (in batches, daily)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.payouts.idempotency import purge_expired

log = structlog.get_logger(__name__)

PURGE_BATCH = 5000


async def purge_idempotency_keys(ctx: WorkerContext) -> dict[str, int]:
    now = datetime.now(UTC)
    total = 0
    while True:
        async with session_scope(ctx) as session:
            deleted = await purge_expired(session, now=now, limit=PURGE_BATCH)
        total += deleted
        if deleted < PURGE_BATCH:
            break
    if total:
        log.info("idempotency_keys_purged", count=total)
    return {"purged": total}
