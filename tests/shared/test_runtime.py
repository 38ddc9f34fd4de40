"""The embedded servers `make run` and `make test` rely on."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from shared.runtime import EmbeddedServers
from shared.runtime.embedded import _pid_alive


async def test_embedded_servers_start_reuse_and_stop() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="vouch-rt-"))
    servers = EmbeddedServers(data_dir, durable=False)
    try:
        urls = await asyncio.to_thread(servers.start)
        assert await asyncio.to_thread(servers.start) == urls  # idempotent: reuses
        assert servers.running() == urls
        client = aioredis.from_url(urls.redis_url)
        # arq's queue needs AOF and no eviction
        assert (await client.config_get("appendonly"))["appendonly"] == "yes"
        policy = await client.config_get("maxmemory-policy")
        assert policy["maxmemory-policy"] == "noeviction"
        await client.aclose()
        pg_pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        redis_pid = int((data_dir / "redis" / "redis.pid").read_text())
    finally:
        await asyncio.to_thread(servers.destroy)
    assert servers.running() is None
    assert not _pid_alive(pg_pid) and not _pid_alive(redis_pid)
    assert not data_dir.exists()
    assert os.getpid()  # the test process itself is untouched
