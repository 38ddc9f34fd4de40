"""Order jobs: the inbox handlers for store events, and the commission approval cron.

Importing this module registers `handle_order_events` for every order topic of the Shopify,
WooCommerce and Vouch-format sources with the inbox registry; the inbox processor
(services/worker/jobs/webhooks.py) hands it each claimed batch's order events in a SAVEPOINT
and marks them handled in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.commissions.service import APPROVE_BATCH, approve_due
from shared.orders.handlers import register_order_handlers

log = structlog.get_logger(__name__)

MAX_APPROVE_ROUNDS = 100  # 500,000 entries per run at most; the next run takes the rest


register_order_handlers()


async def approve_commissions(ctx: WorkerContext) -> int:
    """Approve pending entries whose hold period has passed (idempotent; one transaction per
    batch, so a long backlog never holds locks for long). Returns how many."""
    now = datetime.now(UTC)
    approved = 0
    for _ in range(MAX_APPROVE_ROUNDS):
        async with session_scope(ctx) as session:
            done = await approve_due(session, now=now)
        approved += done
        if done < APPROVE_BATCH:
            break
    if approved:
        log.info("commissions_approved", approved=approved)
    return approved
