"""A worker SIGKILLed in the middle of writing clicks loses none and doubles none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.worker.jobs.clicks import GROUP
from shared.config import Settings
from shared.links.clickid import ClickIds
from shared.links.clicks import CLICKS_PER_ENTRY, encode_entry

ENTRIES = 120
TOTAL = ENTRIES * CLICKS_PER_ENTRY  # 120,000 clicks
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _own_db(redis_url: str) -> str:
    """The same Redis, another database: the killed worker leaves arq jobs it had started
    marked in progress until their timeout, which must not stall other tests' queue (db 0)."""
    return redis_url.rsplit("/", 1)[0] + "/7"


def _worker(settings: Settings, stream: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": _own_db(settings.redis_url or ""),
        "VOUCH_LOG_LEVEL": "WARNING",
        "VOUCH_CLICK_STREAM": stream,
        "VOUCH_CLICK_RECLAIM_IDLE_MS": "500",
    }
    return subprocess.Popen([sys.executable, "-m", "services.cli", "worker"], env=env)


async def _stored(engine: AsyncEngine, link: uuid.UUID) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT count(*), count(DISTINCT click_id) FROM clicks WHERE link_id = :l"),
                {"l": link},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_sigkill_mid_batch_then_restart_stores_every_click_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    redis = aioredis.Redis.from_url(_own_db(settings.redis_url or ""))
    await redis.flushdb()
    stream = f"vouch:clicks:sigkill:{uuid.uuid4().hex[:8]}"
    link, brand = uuid.uuid4(), uuid.uuid4()
    ids = ClickIds(b"sigkill test secret 0123456789ab")
    prefix = ClickIds.prefix(link)
    issued: set[str] = set()
    async with redis.pipeline(transaction=False) as pipe:
        for e in range(ENTRIES):
            batch = []
            for i in range(CLICKS_PER_ENTRY):
                ms = time.time_ns() // 1_000_000
                click_id = ids.issue(prefix, ms)
                issued.add(click_id)
                visitor = ((e * CLICKS_PER_ENTRY + i) % 5000).to_bytes(16, "big").hex()
                batch.append((click_id, brand.hex, link.hex, ms, visitor, "FR", "t.co", UA))
            pipe.xadd(stream, encode_entry(batch))  # type: ignore[arg-type]
        await pipe.execute()
    assert len(issued) == TOTAL

    first = _worker(settings, stream)
    second = None
    try:
        # Kill it once it has committed some clicks but not all: mid-stream, and (with 20
        # entries in hand per batch) almost surely holding unacknowledged entries.
        deadline = time.monotonic() + 60
        while (await _stored(engine, link))[0] == 0 or not (await redis.xpending(stream, GROUP))[
            "pending"
        ]:
            assert first.poll() is None, f"worker exited with {first.returncode}"
            assert time.monotonic() < deadline, "worker stored nothing"
            await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        stored_at_kill, _ = await _stored(engine, link)
        pending = (await redis.xpending(stream, GROUP))["pending"]
        assert 0 < stored_at_kill < TOTAL, stored_at_kill
        assert pending > 0, "the kill did not land mid-batch"

        second = _worker(settings, stream)
        deadline = time.monotonic() + 90
        while (await _stored(engine, link))[0] < TOTAL:
            assert second.poll() is None, "restarted worker exited"
            assert time.monotonic() < deadline, await _stored(engine, link)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # anything still being written would show now
        total, distinct = await _stored(engine, link)
        assert total == distinct == TOTAL
        async with engine.connect() as conn:
            stored_ids = {
                r[0]
                for r in await conn.execute(
                    text("SELECT click_id FROM clicks WHERE link_id = :l"), {"l": link}
                )
            }
        assert stored_ids == issued
        for _ in range(50):  # the last batch's XACK follows its COMMIT
            if (await redis.xpending(stream, GROUP))["pending"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await redis.xpending(stream, GROUP))["pending"] == 0
        assert await redis.xlen(stream) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        await redis.flushdb()
        await redis.aclose()
