"""Outbound webhooks: fan the outbox out into deliveries, then send what is due.

`deliver_webhooks` runs as a cron every few seconds on every worker (and is enqueued after a
resend). Concurrent runs, on one worker or many, are safe: fan-out and claims use
FOR UPDATE SKIP LOCKED and deliveries are leased, so each due delivery is in flight in one
place at a time. A run stops when nothing is due or after RUN_BUDGET_SECONDS, leaving the
rest to the next tick.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import structlog

from services.worker.context import WorkerContext, session_scope
from shared.outbound.delivery import (
    FAN_OUT_BATCH,
    Policy,
    claim_due,
    fan_out,
    open_http_client,
    record,
    send,
)

log = structlog.get_logger(__name__)

RUN_BUDGET_SECONDS = 50.0
CRON_SECONDS = set(range(0, 60, 5))


async def start_http(ctx: dict[str, Any]) -> None:
    ctx["http"] = open_http_client(ctx["settings"])


async def stop_http(ctx: dict[str, Any]) -> None:
    client = ctx.pop("http", None)
    if client is not None:
        await client.aclose()


async def deliver_webhooks(ctx: WorkerContext, *, now: datetime | None = None) -> dict[str, int]:
    """One pass: dispatch the outbox, then claim, send and record due deliveries in batches
    of `outbound_concurrency`. `now` overrides the scheduling clock (tests)."""
    policy = Policy.from_settings(ctx["settings"])
    client = ctx["http"]
    totals: Counter[str] = Counter()
    deadline = time.monotonic() + RUN_BUDGET_SECONDS
    while time.monotonic() < deadline:
        async with session_scope(ctx) as session:
            dispatched = await fan_out(session)
        totals["dispatched"] += dispatched
        if dispatched < FAN_OUT_BATCH:
            break
    while time.monotonic() < deadline:
        when = now or datetime.now(UTC)
        async with session_scope(ctx) as session:
            claims = await claim_due(session, policy, now=when, limit=policy.concurrency)
        if not claims:
            break
        outcomes = await asyncio.gather(*(send(client, c, policy) for c in claims))
        async with session_scope(ctx) as session:
            results = zip(claims, outcomes, strict=True)
            totals.update(await record(session, results, policy, now=when))
    result = {k: v for k, v in totals.items() if v}
    if result.keys() - {"dispatched"}:
        log.info("webhooks_delivered", **result)
    return result
