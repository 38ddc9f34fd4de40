"""Test harness: real PostgreSQL and Redis, migrated once per run with Alembic.

With VOUCH_DATABASE_URL / VOUCH_REDIS_URL unset, fresh embedded servers are started in a
temporary data directory and destroyed at the end. Tests isolate by tenancy: every test makes
its own brands, so no table is truncated and tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.migrate import upgrade
from shared.runtime import EmbeddedServers, ServerUrls
from tests.factories import Tenant, make_tenant


@pytest.fixture(scope="session")
def server_urls() -> Iterator[ServerUrls]:
    db, redis = os.environ.get("VOUCH_DATABASE_URL"), os.environ.get("VOUCH_REDIS_URL")
    if db and redis:
        yield ServerUrls(database_url=db, redis_url=redis)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="vouch-test-"))
    servers = EmbeddedServers(data_dir, durable=False)
    try:
        urls = servers.start()
        yield ServerUrls(database_url=db or urls.database_url, redis_url=redis or urls.redis_url)
    finally:
        servers.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(server_urls: ServerUrls) -> Settings:
    s = Settings(
        env="test",
        database_url=server_urls.database_url,
        redis_url=server_urls.redis_url,
        log_json=True,
        log_level="WARNING",
    )
    upgrade(s.database_url or "")
    return s


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vouch.test") as c:
        yield c


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessionmaker, "Brand A")


@pytest.fixture
async def other_tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessionmaker, "Brand B")
