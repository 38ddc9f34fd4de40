from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import ApiKey
from tests.factories import Tenant, bearer
from tests.problems import assert_problem


async def test_get_brand_is_the_callers(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a = (await client.get("/v1/brand", headers=tenant.headers)).json()
    b = (await client.get("/v1/brand", headers=other_tenant.headers)).json()
    assert a["id"] == str(tenant.brand_id) and a["name"] == "Brand A"
    assert b["id"] == str(other_tenant.brand_id) and b["name"] == "Brand B"
    assert a["default_currency"] == "USD" and a["timezone"] == "UTC"


async def test_patch_brand_normalises_and_persists(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    resp = await client.patch(
        "/v1/brand",
        headers=tenant.headers,
        json={
            "name": "Acme Outdoors",
            "default_currency": "eur",
            "timezone": "Europe/Berlin",
            "allowed_domains": ["Shop.Acme.com.", "acme.com", "acme.com", "bücher.de"],
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["default_currency"] == "EUR"
    assert body["allowed_domains"] == ["shop.acme.com", "acme.com", "xn--bcher-kva.de"]
    again = (await client.get("/v1/brand", headers=tenant.headers)).json()
    assert again == body


async def test_bad_input_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = (await client.get("/v1/brand", headers=tenant.headers)).json()
    cases = [
        ({"timezone": "Mars/Olympus"}, 422, "body.timezone"),
        ({"default_currency": "EURO"}, 422, "body.default_currency"),
        ({"name": ""}, 422, "body.name"),
        ({"name": 42}, 422, "body.name"),
        ({"nickname": "x"}, 422, "body.nickname"),
        (
            {"name": "ok", "allowed_domains": ["https://evil.com/path"]},
            422,
            "body.allowed_domains.0",
        ),
        ({"allowed_domains": ["ok.com", "user@evil.com"]}, 422, "body.allowed_domains.1"),
        ({"allowed_domains": ["*.wild.com"]}, 422, "body.allowed_domains.0"),
        ({"allowed_domains": ["localhost"]}, 422, "body.allowed_domains.0"),
    ]
    for payload, status, field in cases:
        resp = await client.patch("/v1/brand", headers=tenant.headers, json=payload)
        assert_problem(resp, status, field=field)
    after = (await client.get("/v1/brand", headers=tenant.headers)).json()
    assert after == before


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    resp = await client.patch(
        "/v1/brand",
        headers={**tenant.headers, "content-type": "application/json"},
        content=b'{"name": "x",',
    )
    body = assert_problem(resp, 400)
    assert body["errors"][0]["loc"][0] == "body"


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    resp = await client.patch(
        "/v1/brand", headers={**tenant.headers, "content-type": "application/json"}, content=big
    )
    assert_problem(resp, 413)


async def test_create_key_shows_secret_once_and_stores_hash(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    resp = await client.post(
        "/v1/api-keys", headers=tenant.headers, json={"name": "storefront", "scopes": ["read"]}
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    secret = created["secret"]
    assert secret.startswith("vk_live_") and created["prefix"] == secret[:14]
    async with sessionmaker() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.id == created["id"]))).scalar_one()
    assert row.key_hash == hashlib.sha256(secret.encode()).digest()
    assert secret not in repr(row.__dict__)
    listed = (await client.get("/v1/api-keys", headers=tenant.headers)).json()["items"]
    assert all("secret" not in k for k in listed)
    assert (await client.get("/v1/brand", headers=bearer(secret))).status_code == 200


async def test_another_brands_key_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    resp = await client.delete(f"/v1/api-keys/{tenant.key_id}", headers=other_tenant.headers)
    assert_problem(resp, 404)
    assert (await client.get("/v1/brand", headers=tenant.headers)).status_code == 200
    listed = (await client.get("/v1/api-keys", headers=other_tenant.headers)).json()["items"]
    assert str(tenant.key_id) not in {k["id"] for k in listed}


async def test_unknown_key_id_is_404_and_bad_uuid_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert_problem(
        await client.delete(
            "/v1/api-keys/01a20a0f-a0c0-7677-9145-f12f6502aa9d", headers=tenant.headers
        ),
        404,
    )
    assert_problem(
        await client.delete("/v1/api-keys/not-a-uuid", headers=tenant.headers),
        422,
        field="path.key_id",
    )
