"""Liveness jobs: the heartbeat cron and a ping job that proves the queue end to end."""

from __future__ import annotations

import time

from sqlalchemy import text

from services.worker.context import WorkerContext, session_scope

HEARTBEAT_KEY = "vouch:worker:heartbeat"


async def heartbeat(ctx: WorkerContext) -> float:
    """Record that a worker is alive and can reach PostgreSQL (for dashboards and --check)."""
    async with session_scope(ctx) as session:
        await session.execute(text("SELECT 1"))
    now = time.time()
    await ctx["redis"].set(HEARTBEAT_KEY, str(now), ex=300)
    return now


async def ping(ctx: WorkerContext, token: str) -> dict[str, object]:
    """Round trip through the queue and the database: returns the token and the DB clock."""
    async with session_scope(ctx) as session:
        db_now = (await session.execute(text("SELECT now()"))).scalar_one()
    return {"token": token, "db_now": db_now.isoformat(), "job_try": ctx.get("job_try")}
