"""Collaboration crons: mark overdue deliverables missed, announce expiring usage rights.

Both are idempotent: the effect (status, review row, outbox event, expiry mark) commits in one
transaction per batch, and a second run finds nothing left to do.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.collaborations.deliverables import (
    USAGE_RIGHTS_NOTICE_DAYS,
    mark_missed,
    record_expiring_usage_rights,
)

log = structlog.get_logger(__name__)

MISSED_BATCH = 500


async def mark_missed_deliverables(ctx: WorkerContext) -> dict[str, int]:
    """Deliverables still owed `deliverable_grace_hours` after their due time become missed."""
    grace = timedelta(hours=ctx["settings"].deliverable_grace_hours)
    total = 0
    while True:
        async with session_scope(ctx) as session:
            batch = await mark_missed(session, grace=grace, limit=MISSED_BATCH)
        total += len(batch)
        if len(batch) < MISSED_BATCH:
            break
    if total:
        log.info("deliverables_missed", count=total)
    return {"missed": total}


async def notify_expiring_usage_rights(ctx: WorkerContext) -> dict[str, int]:
    """One `usage_rights.expiring` outbox event per contract version ending within 14 days."""
    async with session_scope(ctx) as session:
        notified = await record_expiring_usage_rights(session, within_days=USAGE_RIGHTS_NOTICE_DAYS)
    if notified:
        log.info("usage_rights_expiring", count=len(notified))
    return {"notified": len(notified)}
