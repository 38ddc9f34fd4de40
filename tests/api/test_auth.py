from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Tenant, bearer, make_key
from tests.problems import assert_problem


async def test_missing_key_is_401_problem(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/brand")
    body = assert_problem(resp, 401)
    assert resp.headers["www-authenticate"] == "Bearer"
    assert "Authorization" in body["detail"]


async def test_malformed_and_unknown_keys_are_401(client: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-vouch-key"},
        bearer("vk_live_" + "x" * 32),
    ):
        assert_problem(await client.get("/v1/brand", headers=headers), 401)


async def test_revoked_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get("/v1/brand", headers=tenant.headers)).status_code == 200
    resp = await client.delete(f"/v1/api-keys/{tenant.key_id}", headers=tenant.headers)
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    assert_problem(await client.get("/v1/brand", headers=tenant.headers), 401)


async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reader = await make_key(sessionmaker, tenant.brand_id, ["read"])
    assert (await client.get("/v1/brand", headers=bearer(reader))).status_code == 200
    resp = await client.patch("/v1/brand", json={"name": "Nope"}, headers=bearer(reader))
    body = assert_problem(resp, 403)
    assert body["required_scope"] == "write"
    brand = (await client.get("/v1/brand", headers=tenant.headers)).json()
    assert brand["name"] == "Brand A"


async def test_write_only_key_cannot_read(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    writer = await make_key(sessionmaker, tenant.brand_id, ["write"])
    assert_problem(await client.get("/v1/brand", headers=bearer(writer)), 403)


async def test_key_cannot_grant_scopes_it_lacks(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    writer = await make_key(sessionmaker, tenant.brand_id, ["write"])
    resp = await client.post(
        "/v1/api-keys",
        json={"name": "escalate", "scopes": ["read", "write"]},
        headers=bearer(writer),
    )
    assert_problem(resp, 403)
