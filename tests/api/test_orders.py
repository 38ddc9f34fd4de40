"""GET /v1/orders, /v1/orders/{id}, /v1/orders/{id}/attribution: filters, detail, the stored
decision, and tenancy (another brand's order is 404)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import (
    Earner,
    StoreIntegration,
    Tenant,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
    shopify_order,
    shopify_refund,
)
from tests.problems import assert_problem


@pytest.fixture
async def shop(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> tuple[StoreIntegration, Earner, Earner]:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    anna = await make_earner(sessionmaker, tenant.brand_id, commission_bps=1000)
    ben = await make_earner(sessionmaker, tenant.brand_id, commission_bps=500)
    await make_promo(sessionmaker, tenant.brand_id, anna.collaboration_id, "ANNA")
    await make_promo(sessionmaker, tenant.brand_id, ben.collaboration_id, "BEN")
    return store, anna, ben


async def _place(
    sm: async_sessionmaker[AsyncSession],
    store: StoreIntegration,
    day: int,
    codes: list[str],
    **kw: Any,
) -> int:
    oid = uuid.uuid4().int % 10**12
    body = shopify_order(
        oid,
        codes=codes,
        created_at=f"2026-11-{day:02d}T10:00:00Z",
        updated_at=f"2026-11-{day:02d}T10:00:01Z",
        **kw,
    )
    assert await deliver_event(sm, store, "orders/create", body) == "handled"
    return oid


async def test_list_filters_and_newest_first(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    shop: tuple[StoreIntegration, Earner, Earner],
) -> None:
    store, anna, ben = shop
    a1 = await _place(sessionmaker, store, 10, ["ANNA"])
    a2 = await _place(sessionmaker, store, 12, ["anna"], financial_status="pending")
    b1 = await _place(sessionmaker, store, 11, ["BEN"])
    none = await _place(sessionmaker, store, 13, [])

    async def ids(**params: Any) -> list[str]:
        resp = await client.get("/v1/orders", headers=tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [o["external_order_id"] for o in resp.json()["items"]]

    assert await ids() == [str(none), str(a2), str(b1), str(a1)]
    assert await ids(campaign_id=str(anna.campaign_id)) == [str(a2), str(a1)]
    assert await ids(collaboration_id=str(ben.collaboration_id)) == [str(b1)]
    assert await ids(influencer_id=str(anna.influencer_id)) == [str(a2), str(a1)]
    assert await ids(status="pending") == [str(a2)]
    assert await ids(attributed="false") == [str(none)]
    assert await ids(placed_from="2026-11-11T00:00:00Z", placed_to="2026-11-13T00:00:00Z") == [
        str(a2),
        str(b1),
    ]
    first = (await client.get("/v1/orders", headers=tenant.headers, params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await client.get(
        "/v1/orders", headers=tenant.headers, params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [o["external_order_id"] for o in rest.json()["items"]] == [str(b1), str(a1)]

    assert_problem(
        await client.get("/v1/orders", headers=tenant.headers, params={"status": "lost"}),
        422,
        field="query.status",
    )
    assert_problem(
        await client.get(
            "/v1/orders",
            headers=tenant.headers,
            params={"placed_from": "2026-11-12T00:00:00Z", "placed_to": "2026-11-11T00:00:00Z"},
        ),
        422,
        field="query.placed_to",
    )


async def test_order_detail_has_refunds_and_commission(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    shop: tuple[StoreIntegration, Earner, Earner],
) -> None:
    store, anna, _ben = shop
    oid = await _place(sessionmaker, store, 14, ["ANNA"], subtotal_minor=10000, total_minor=10000)
    refund = shopify_refund(oid, 71, 2000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    listed = (
        await client.get(
            "/v1/orders",
            headers=tenant.headers,
            params={"collaboration_id": str(anna.collaboration_id)},
        )
    ).json()["items"]
    order_id = next(o["id"] for o in listed if o["external_order_id"] == str(oid))
    resp = await client.get(f"/v1/orders/{order_id}", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "partially_refunded" and body["refunded_minor"] == 2000
    assert body["commission_minor"] == 800  # 1000 earned, 200 reversed
    assert [r["external_refund_id"] for r in body["refunds"]] == ["71"]
    assert body["line_items"][0]["sku"] == "TEE-M"
    assert body["attribution_rule"] == "promo_code"

    resp = await client.get(f"/v1/orders/{order_id}/attribution", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    decision = resp.json()
    assert decision["collaboration_id"] == str(anna.collaboration_id)
    assert decision["rule"] == "promo_code" and decision["commission_bps"] == 1000
    assert decision["candidates"][0]["outcome"] == "won"
    assert "ANNA" in decision["summary"]


async def test_another_brands_order_is_404(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
    shop: tuple[StoreIntegration, Earner, Earner],
) -> None:
    store, _anna, _ben = shop
    await _place(sessionmaker, store, 15, ["ANNA"])
    order_id = (await client.get("/v1/orders", headers=tenant.headers)).json()["items"][0]["id"]
    for path in (f"/v1/orders/{order_id}", f"/v1/orders/{order_id}/attribution"):
        assert_problem(await client.get(path, headers=other_tenant.headers), 404)
        assert (await client.get(path, headers=tenant.headers)).status_code == 200
    listed = (await client.get("/v1/orders", headers=other_tenant.headers)).json()["items"]
    assert order_id not in {o["id"] for o in listed}
    unknown = "01a20a0f-a0c0-7677-9145-f12f6502aa9d"
    assert_problem(await client.get(f"/v1/orders/{unknown}", headers=tenant.headers), 404)
    assert_problem(
        await client.get("/v1/orders/not-a-uuid", headers=tenant.headers),
        422,
        field="path.order_id",
    )
