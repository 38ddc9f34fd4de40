"""The migrations are what users run: they round-trip, and they match the models."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.config import Settings
from shared.db.engine import normalize_database_url
from shared.db.migrate import downgrade, upgrade
from shared.models import Base


@pytest.fixture
async def scratch_db(settings: Settings) -> AsyncIterator[str]:
    """A throwaway database beside the suite's own, so base -> head cannot disturb it."""
    url = normalize_database_url(settings.database_url or "")
    admin_dsn = url.replace("+asyncpg", "").rsplit("/", 1)[0] + "/postgres"
    name = f"vouch_mig_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


async def test_upgrade_downgrade_upgrade(scratch_db: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, scratch_db)
    assert {"brands", "api_keys", "alembic_version"} <= await _tables(scratch_db)
    await asyncio.to_thread(downgrade, scratch_db, "base")
    assert await _tables(scratch_db) == {"alembic_version"}
    await asyncio.to_thread(upgrade, scratch_db)
    assert set(Base.metadata.tables) <= await _tables(scratch_db)


async def test_models_match_migrations(settings: Settings) -> None:
    engine = create_async_engine(normalize_database_url(settings.database_url or ""))

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(
            sync_conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                # clicks_yYYYYmMM partitions are created at run time, not by the models
                "include_name": lambda name, type_, _parents: (
                    not (type_ == "table" and (name or "").startswith("clicks_y"))
                ),
            },
        )
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == [], f"models and migrations drift apart: {changes}"
