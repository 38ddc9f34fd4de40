from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.promo_codes.repository import find_promo_code
from tests.factories import LinkCollaboration, Tenant, make_link_collaboration, make_tenant
from tests.problems import assert_problem


@pytest.fixture
async def collab(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> LinkCollaboration:
    return await make_link_collaboration(sessionmaker, tenant.brand_id)


def _code() -> str:
    return f"Anna{uuid.uuid4().hex[:6].upper()}"


async def _create(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration, **body: Any
) -> dict[str, Any]:
    payload = {"collaboration_id": str(collab.collaboration_id), "code": _code()} | body
    resp = await client.post("/v1/promo-codes", headers=tenant.headers, json=payload)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_create_get_update_delete(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    promo = await _create(
        client, tenant, collab, code="  Summer15 ", description="15% off everything"
    )
    assert promo["code"] == "Summer15"  # stored as typed, outer blanks stripped
    assert promo["active"] is True and promo["generic"] is False
    assert promo["collaboration_id"] == str(collab.collaboration_id)
    url = f"/v1/promo-codes/{promo['id']}"
    assert (await client.get(url, headers=tenant.headers)).json() == promo
    resp = await client.patch(
        url,
        headers=tenant.headers,
        json={"active": False, "generic": True, "description": None, "code": "SUMMER15"},
    )
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert (changed["active"], changed["generic"], changed["description"]) == (False, True, None)
    assert changed["code"] == "SUMMER15"  # its own code in another case is no conflict
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert_problem(await client.get(url, headers=tenant.headers), 404)
    # Deleted, the code is free again.
    await _create(client, tenant, collab, code="summer15")


async def test_code_is_unique_per_brand_ignoring_case(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    code = _code()
    owner = await _create(client, tenant, collab, code=code)
    rival = await make_link_collaboration(sessionmaker, tenant.brand_id)
    for attempt in (code, code.lower(), code.upper(), f" {code.swapcase()} "):
        resp = await client.post(
            "/v1/promo-codes",
            headers=tenant.headers,
            json={"collaboration_id": str(rival.collaboration_id), "code": attempt},
        )
        body = assert_problem(resp, 409, field="body.code")
        assert body["type"].endswith(":promo_code_taken")
        assert body["collaboration_id"] == str(collab.collaboration_id)
        assert body["promo_code_id"] == owner["id"]
        assert str(collab.collaboration_id) in body["detail"]
    # Renaming another code onto it is the same conflict.
    second = await _create(client, tenant, rival)
    resp = await client.patch(
        f"/v1/promo-codes/{second['id']}", headers=tenant.headers, json={"code": code.lower()}
    )
    body = assert_problem(resp, 409, field="body.code")
    assert body["collaboration_id"] == str(collab.collaboration_id)
    assert (
        await client.get(f"/v1/promo-codes/{second['id']}", headers=tenant.headers)
    ).json() == second
    # Another brand may use the same code.
    theirs = await make_link_collaboration(sessionmaker, other_tenant.brand_id)
    resp = await client.post(
        "/v1/promo-codes",
        headers=other_tenant.headers,
        json={"collaboration_id": str(theirs.collaboration_id), "code": code.lower()},
    )
    assert resp.status_code == 201, resp.text


async def test_concurrent_claims_have_one_winner(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    code = _code()
    resps = await asyncio.gather(
        *[
            client.post(
                "/v1/promo-codes",
                headers=tenant.headers,
                json={"collaboration_id": str(collab.collaboration_id), "code": variant},
            )
            for variant in (code, code.lower(), code.upper(), code, code.lower())
        ]
    )
    assert sorted(r.status_code for r in resps) == [201, 409, 409, 409, 409]


async def test_find_promo_code_is_case_insensitive_and_brand_scoped(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    promo = await _create(client, tenant, collab, code="WinterSale")
    async with sessionmaker() as session:
        for typed in ("wintersale", "WINTERSALE", " WinterSale "):
            found = await find_promo_code(session, tenant.brand_id, typed)
            assert found is not None and str(found.id) == promo["id"]
        assert await find_promo_code(session, other_tenant.brand_id, "wintersale") is None
        assert await find_promo_code(session, tenant.brand_id, "winter") is None


async def test_validation(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    base = {"collaboration_id": str(collab.collaboration_id)}
    cases = [
        (base | {"code": "A"}, "body.code"),
        (base | {"code": "x" * 65}, "body.code"),
        (base | {"code": "TAB\tCODE"}, "body.code"),
        (base | {"code": "   "}, "body.code"),
        ({"code": _code()}, "body.collaboration_id"),
        (base | {"code": _code(), "description": "x" * 501}, "body.description"),
        (base | {"code": _code(), "discount": "10%"}, "body.discount"),
    ]
    for payload, field in cases:
        resp = await client.post("/v1/promo-codes", headers=tenant.headers, json=payload)
        assert_problem(resp, 422, field=field)
    promo = await _create(client, tenant, collab)
    url = f"/v1/promo-codes/{promo['id']}"
    for payload, field in [
        ({"code": None}, "body.code"),
        ({"active": None}, "body.active"),
        ({"collaboration_id": None}, "body.collaboration_id"),
        ({"brand_id": str(tenant.brand_id)}, "body.brand_id"),
    ]:
        assert_problem(
            await client.patch(url, headers=tenant.headers, json=payload), 422, field=field
        )
    assert (await client.get(url, headers=tenant.headers)).json() == promo


async def test_reassign_to_another_collaboration(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    promo = await _create(client, tenant, collab)
    other = await make_link_collaboration(sessionmaker, tenant.brand_id)
    resp = await client.patch(
        f"/v1/promo-codes/{promo['id']}",
        headers=tenant.headers,
        json={"collaboration_id": str(other.collaboration_id)},
    )
    assert resp.status_code == 200 and resp.json()["collaboration_id"] == str(
        other.collaboration_id
    )


async def test_list_filters_and_pages(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = await make_link_collaboration(sessionmaker, tenant.brand_id)
    mine = [(await _create(client, tenant, collab))["id"] for _ in range(4)]
    generic = await _create(client, tenant, other, generic=True, active=False, code="SITEWIDE10")

    async def ids(**params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = params | {"limit": 2} | ({"cursor": cursor} if cursor else {})
            resp = await client.get("/v1/promo-codes", headers=tenant.headers, params=page)
            assert resp.status_code == 200, resp.text
            seen += [x["id"] for x in resp.json()["items"]]
            if (cursor := resp.json()["next_cursor"]) is None:
                return seen

    assert await ids(collaboration_id=str(collab.collaboration_id)) == mine[::-1]  # newest first
    assert await ids(generic="true") == [generic["id"]]
    assert await ids(active="false") == [generic["id"]]
    assert await ids(code="sitewide10") == [generic["id"]]
    assert sorted(await ids()) == sorted([*mine, generic["id"]])


async def test_another_brands_ids_are_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    promo = await _create(client, tenant, collab)
    url = f"/v1/promo-codes/{promo['id']}"
    h = other_tenant.headers
    assert_problem(await client.get(url, headers=h), 404)
    assert_problem(await client.patch(url, headers=h, json={"active": False}), 404)
    assert_problem(await client.delete(url, headers=h), 404)
    # Brand A's collaboration in brand B's body, on create and on reassignment.
    resp = await client.post(
        "/v1/promo-codes",
        headers=h,
        json={"collaboration_id": str(collab.collaboration_id), "code": _code()},
    )
    assert_problem(resp, 404, field="body.collaboration_id")
    theirs = await _create(
        client, other_tenant, await make_link_collaboration(sessionmaker, other_tenant.brand_id)
    )
    resp = await client.patch(
        f"/v1/promo-codes/{theirs['id']}",
        headers=h,
        json={"collaboration_id": str(collab.collaboration_id)},
    )
    assert_problem(resp, 404, field="body.collaboration_id")
    listed = await client.get("/v1/promo-codes", headers=h, params={"code": promo["code"]})
    assert listed.json()["items"] == []
    assert (await client.get(url, headers=tenant.headers)).json() == promo


async def test_unknown_ids_and_read_only_keys(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    url = f"/v1/promo-codes/{uuid.uuid4()}"
    assert_problem(await client.get(url, headers=tenant.headers), 404)
    assert_problem(await client.patch(url, headers=tenant.headers, json={"active": True}), 404)
    assert_problem(
        await client.get("/v1/promo-codes/x", headers=tenant.headers),
        422,
        field="path.promo_code_id",
    )
    reader = await make_tenant(sessionmaker, "Reader", scopes=["read"])
    theirs = await make_link_collaboration(sessionmaker, reader.brand_id)
    resp = await client.post(
        "/v1/promo-codes",
        headers=reader.headers,
        json={"collaboration_id": str(theirs.collaboration_id), "code": _code()},
    )
    assert_problem(resp, 403)


async def test_openapi_documents_links_and_promo_codes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/v1/links"]) and {"get", "post"} <= set(
        paths["/v1/promo-codes"]
    )
    assert {"get", "patch", "delete"} <= set(paths["/v1/links/{link_id}"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/promo-codes/{promo_code_id}"])
    qr = paths["/v1/links/{link_id}/qr"]["get"]["responses"]["200"]["content"]
    assert {"image/png", "image/svg+xml"} <= set(qr)
    stats = paths["/v1/links/{link_id}/stats"]["get"]
    assert {p["name"] for p in stats["parameters"]} >= {"from", "to"}
    assert "409" in paths["/v1/links"]["post"]["responses"]
    assert "409" in paths["/v1/promo-codes"]["post"]["responses"]
    schemas = spec["components"]["schemas"]
    for name in ("LinkCreate", "LinkUpdate", "UtmParams", "PromoCodeCreate", "PromoCodeUpdate"):
        assert schemas[name].get("examples"), name
    assert "from" in schemas["LinkStats"]["properties"]
