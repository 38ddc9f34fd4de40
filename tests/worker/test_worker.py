"""The worker plumbing: one transaction per job, enqueue after commit, a real arq worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import pytest
from arq.connections import ArqRedis, create_pool
from arq.jobs import Job, JobStatus
from arq.worker import Worker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.context import WorkerContext, session_scope
from services.worker.jobs.system import HEARTBEAT_KEY
from services.worker.settings import redis_settings, worker_settings
from shared.brands.service import create_brand
from shared.config import Settings
from shared.jobs import JobName, defer_job
from shared.models import Brand


@pytest.fixture
async def queue(settings: Settings) -> ArqRedis:
    pool = await create_pool(redis_settings(settings))
    yield pool
    await pool.aclose()


def _ctx(
    settings: Settings, sm: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> WorkerContext:
    return {"settings": settings, "sessionmaker": sm, "redis": redis}


async def test_session_scope_commits_then_enqueues(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], queue: ArqRedis
) -> None:
    token = uuid.uuid4().hex
    async with session_scope(_ctx(settings, sessionmaker, queue)) as session:
        brand = await create_brand(session, f"scope-{token}")
        defer_job(session, JobName.PING, token, job_id=f"ping-{token}")
        assert await Job(f"ping-{token}", queue).status() == JobStatus.not_found  # not yet
    assert await Job(f"ping-{token}", queue).status() == JobStatus.queued
    async with sessionmaker() as session:
        assert await session.get(Brand, brand.id) is not None


async def test_rolled_back_unit_enqueues_nothing(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], queue: ArqRedis
) -> None:
    token = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with session_scope(_ctx(settings, sessionmaker, queue)) as session:
            await create_brand(session, f"rollback-{token}")
            defer_job(session, JobName.PING, token, job_id=f"ping-{token}")
            raise RuntimeError("boom")
    assert await Job(f"ping-{token}", queue).status() == JobStatus.not_found
    async with sessionmaker() as session:
        found = await session.execute(select(Brand).where(Brand.name == f"rollback-{token}"))
        assert found.first() is None


async def test_in_process_arq_worker_runs_jobs(settings: Settings, queue: ArqRedis) -> None:
    token = uuid.uuid4().hex
    job = await queue.enqueue_job(JobName.PING.value, token, _job_id=f"ping-{token}")
    assert job is not None
    # Same job id while queued: arq refuses the duplicate.
    assert await queue.enqueue_job(JobName.PING.value, token, _job_id=f"ping-{token}") is None
    kwargs = worker_settings(settings) | {"burst": True, "handle_signals": False, "cron_jobs": []}
    worker = Worker(**kwargs)
    try:
        await worker.main()
    finally:
        await worker.close()
    result = await job.result(timeout=5)
    assert result["token"] == token and result["db_now"]


async def test_real_worker_process_end_to_end(settings: Settings, queue: ArqRedis) -> None:
    env = {
        **os.environ,
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": settings.redis_url or "",
        "VOUCH_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "worker"], env=env)
    try:
        token = uuid.uuid4().hex
        job = await queue.enqueue_job(JobName.PING.value, token, _job_id=f"ping-{token}")
        assert job is not None
        result = await job.result(timeout=30, poll_delay=0.1)
        assert result["token"] == token
        # the startup heartbeat cron ran, and `vouch worker --check` sees a live worker
        for _ in range(100):
            if await queue.get(HEARTBEAT_KEY):
                break
            await asyncio.sleep(0.1)
        assert await queue.get(HEARTBEAT_KEY)
        check = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.cli", "worker", "--check"],
            env=env,
            capture_output=True,
        )
        assert check.returncode == 0, check.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 20)
    assert code == 0
