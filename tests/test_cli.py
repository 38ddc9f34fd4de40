"""The `vouch` CLI as an operator runs it: real subprocesses against the test database."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from tests.factories import bearer, make_tenant
from tests.problems import assert_problem

ROOT = Path(__file__).resolve().parents[1]
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def vouch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VOUCH_ENV": "test",
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": settings.redis_url or "",
        "COLUMNS": "60",  # a narrow terminal must not break ids or secrets across lines
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one(pattern: str, text: str) -> str:
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, text)
    return str(found[0])


async def test_brand_and_keys_from_the_cli_work_against_the_api(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    name = f"CLI brand {uuid.uuid4().hex[:8]}"
    made = await vouch(settings, "brands", "create", name, "--domain", "shop.example.com")
    assert made.returncode == 0, made.stderr
    brand_id = _one(rf"brand created: ({UUID_RE})", made.stdout)

    # A read-only key, made from the brand id.
    reader = await vouch(settings, "keys", "create", brand_id, "--scope", "read")
    assert reader.returncode == 0, reader.stderr
    read_key = _one(r"secret:\s+(vk_live_[A-Za-z0-9_-]+)", reader.stdout)
    read_key_id = _one(rf"key id:\s+({UUID_RE})", reader.stdout)
    assert _one(r"scopes:\s+(.+)", reader.stdout).strip() == "read"

    resp = await client.get("/v1/brand", headers=bearer(read_key))
    assert resp.status_code == 200, resp.text
    brand = resp.json()
    assert brand["id"] == brand_id and brand["name"] == name
    assert brand["allowed_domains"] == ["shop.example.com"]
    resp = await client.patch(
        "/v1/brand", json={"timezone": "Europe/Paris"}, headers=bearer(read_key)
    )
    assert_problem(resp, 403)

    # A key made from the brand's (unique) name gets every scope by default.
    writer = await vouch(settings, "keys", "create", name)
    assert writer.returncode == 0, writer.stderr
    write_key = _one(r"secret:\s+(vk_live_[A-Za-z0-9_-]+)", writer.stdout)
    resp = await client.patch(
        "/v1/brand", json={"timezone": "Europe/Paris"}, headers=bearer(write_key)
    )
    assert resp.status_code == 200 and resp.json()["id"] == brand_id, resp.text

    revoked = await vouch(settings, "keys", "revoke", read_key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert read_key_id in revoked.stdout
    assert_problem(await client.get("/v1/brand", headers=bearer(read_key)), 401)
    assert (await client.get("/v1/brand", headers=bearer(write_key))).status_code == 200


async def test_cli_errors_exit_non_zero_with_a_clear_message(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    twin = f"Twin {uuid.uuid4().hex[:8]}"
    await make_tenant(sessionmaker, twin)
    await make_tenant(sessionmaker, twin)
    missing_name = f"no-such-brand-{uuid.uuid4().hex[:8]}"
    missing_id = str(uuid.uuid4())
    cases = {
        ("keys", "create", missing_name): f"No brand with id or name '{missing_name}'",
        ("keys", "create", missing_id): f"No brand with id or name '{missing_id}'",
        ("keys", "create", twin): "More than one brand is named",
        ("keys", "revoke", missing_id): f"No API key with id {missing_id}",
        ("brands", "create", "Bad currency", "--currency", "EURO"): "ISO 4217",
        ("brands", "create", "Bad domain", "--domain", "https://x.example.com/"): "host name",
    }
    results = await asyncio.gather(*(vouch(settings, *args) for args in cases))
    for (args, expected), result in zip(cases.items(), results, strict=True):
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert "vk_live_" not in result.stdout
