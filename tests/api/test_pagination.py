from __future__ import annotations

import httpx

from tests.factories import Tenant
from tests.problems import assert_problem


async def test_keyset_pages_cover_everything_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for i in range(6):
        resp = await client.post("/v1/api-keys", headers=tenant.headers, json={"name": f"k{i}"})
        assert resp.status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/v1/api-keys", headers=tenant.headers, params=params)).json()
        pages += 1
        seen += [k["id"] for k in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 7 keys (the tenant's own + 6) in pages of 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen)  # uuid7 ids follow creation order


async def test_default_limit_and_bounds(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = (await client.get("/v1/api-keys", headers=tenant.headers)).json()
    assert body == {"items": body["items"], "next_cursor": None}
    assert_problem(
        await client.get("/v1/api-keys", headers=tenant.headers, params={"limit": 201}),
        422,
        field="query.limit",
    )
    assert_problem(
        await client.get("/v1/api-keys", headers=tenant.headers, params={"limit": 0}),
        422,
        field="query.limit",
    )


async def test_garbage_cursor_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for cursor in ("not base64!", "WzEsMiwzXQ", "e30"):
        resp = await client.get("/v1/api-keys", headers=tenant.headers, params={"cursor": cursor})
        assert_problem(resp, 422, field="query.cursor")
