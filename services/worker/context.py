"""The worker's per-process context and the one-transaction-per-job scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.jobs import discard_jobs, flush_jobs


class WorkerContext(TypedDict, total=False):
    # Set by arq
    redis: ArqRedis
    job_id: str
    job_try: int
    # Set by on_startup
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient  # outbound webhooks' shared client (pooled connections)


@asynccontextmanager
async def session_scope(ctx: WorkerContext) -> AsyncIterator[AsyncSession]:
    """A job's unit of work: its effect (and its `handled_at` mark) commit together, then the
    jobs it deferred are enqueued."""
    async with ctx["sessionmaker"]() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_jobs(session)
            raise
        await flush_jobs(session, ctx.get("redis"))
