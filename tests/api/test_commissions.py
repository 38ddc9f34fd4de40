"""GET /v1/commissions and POST /v1/commissions/adjustments: filters, manual adjustments
(reason, idempotency, validation) and tenancy."""

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
async def booked(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> tuple[StoreIntegration, Earner, Earner]:
    """Two collaborations with one order each; the first order partly refunded."""
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    anna = await make_earner(sessionmaker, tenant.brand_id)
    ben = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, anna.collaboration_id, "ANNAC")
    await make_promo(sessionmaker, tenant.brand_id, ben.collaboration_id, "BENC")
    oid = uuid.uuid4().int % 10**12
    for code, order_id in (("ANNAC", oid), ("BENC", oid + 1)):
        body = shopify_order(order_id, codes=[code], subtotal_minor=10000, total_minor=10000)
        assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    refund = shopify_refund(oid, 81, 5000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    return store, anna, ben


async def _list(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/v1/commissions", headers=tenant.headers, params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def test_list_filters(
    client: httpx.AsyncClient,
    tenant: Tenant,
    booked: tuple[StoreIntegration, Earner, Earner],
) -> None:
    _store, anna, ben = booked
    everything = await _list(client, tenant)
    assert len(everything) == 3
    annas = await _list(client, tenant, influencer_id=str(anna.influencer_id))
    assert sorted((e["kind"], e["amount_minor"]) for e in annas) == [
        ("earned", 1000),
        ("reversal", -500),
    ]
    assert all(e["collaboration_id"] == str(anna.collaboration_id) for e in annas)
    assert [e["kind"] for e in await _list(client, tenant, campaign_id=str(ben.campaign_id))] == [
        "earned"
    ]
    assert len(await _list(client, tenant, status="pending")) == 3
    assert await _list(client, tenant, status="approved") == []
    assert [e["amount_minor"] for e in await _list(client, tenant, kind="reversal")] == [-500]
    entry_id = everything[0]["id"]
    one = await client.get(f"/v1/commissions/{entry_id}", headers=tenant.headers)
    assert one.status_code == 200 and one.json()["id"] == entry_id
    assert_problem(
        await client.get("/v1/commissions", headers=tenant.headers, params={"status": "x"}),
        422,
        field="query.status",
    )


async def test_adjustment_with_reason_and_idempotency(
    client: httpx.AsyncClient,
    tenant: Tenant,
    booked: tuple[StoreIntegration, Earner, Earner],
) -> None:
    _store, anna, _ben = booked
    earned = (await _list(client, tenant, influencer_id=str(anna.influencer_id), kind="earned"))[0]
    body = {
        "collaboration_id": str(anna.collaboration_id),
        "amount_minor": -300,
        "reason": "Order was a staff purchase",
        "related_entry_id": earned["id"],
        "idempotency_key": "adj-1",
    }
    resp = await client.post("/v1/commissions/adjustments", headers=tenant.headers, json=body)
    assert resp.status_code == 201, resp.text
    entry = resp.json()
    assert (entry["kind"], entry["amount_minor"], entry["status"]) == (
        "adjustment",
        -300,
        "approved",
    )
    assert entry["currency"] == "USD" and entry["order_id"] is None
    assert entry["related_entry_id"] == earned["id"] and entry["reason"] == body["reason"]
    again = await client.post("/v1/commissions/adjustments", headers=tenant.headers, json=body)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]
    changed = {**body, "amount_minor": -301}
    assert_problem(
        await client.post("/v1/commissions/adjustments", headers=tenant.headers, json=changed), 409
    )
    assert len(await _list(client, tenant, kind="adjustment")) == 1


async def test_adjustment_validation(
    client: httpx.AsyncClient,
    tenant: Tenant,
    booked: tuple[StoreIntegration, Earner, Earner],
) -> None:
    _store, anna, _ben = booked
    base = {"collaboration_id": str(anna.collaboration_id), "amount_minor": 100, "reason": "Bonus"}
    cases = [
        ({**base, "amount_minor": 0}, "body.amount_minor"),
        ({**base, "reason": ""}, "body.reason"),
        ({k: v for k, v in base.items() if k != "reason"}, "body.reason"),
        ({**base, "currency": "EURO"}, "body.currency"),
        ({**base, "amount_minor": 10**13}, "body.amount_minor"),
        ({**base, "surprise": 1}, "body.surprise"),
    ]
    for payload, field in cases:
        resp = await client.post(
            "/v1/commissions/adjustments", headers=tenant.headers, json=payload
        )
        assert_problem(resp, 422, field=field)
    assert await _list(client, tenant, kind="adjustment") == []


async def test_another_brands_entries_and_collaborations_are_404(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
    booked: tuple[StoreIntegration, Earner, Earner],
) -> None:
    _store, anna, _ben = booked
    entry_id = (await _list(client, tenant))[0]["id"]
    assert_problem(
        await client.get(f"/v1/commissions/{entry_id}", headers=other_tenant.headers), 404
    )
    assert await _list(client, other_tenant) == []
    # another brand's collaboration, or entry, inside the body: 404, nothing booked
    body = {"collaboration_id": str(anna.collaboration_id), "amount_minor": 100, "reason": "x"}
    resp = await client.post("/v1/commissions/adjustments", headers=other_tenant.headers, json=body)
    assert_problem(resp, 404, field="body.collaboration_id")
    theirs = await make_earner(sessionmaker, other_tenant.brand_id)
    body = {
        "collaboration_id": str(theirs.collaboration_id),
        "amount_minor": 100,
        "reason": "x",
        "related_entry_id": entry_id,
    }
    resp = await client.post("/v1/commissions/adjustments", headers=other_tenant.headers, json=body)
    assert_problem(resp, 404, field="body.related_entry_id")
    assert await _list(client, other_tenant) == []
    read_only = await client.post(
        "/v1/commissions/adjustments",
        headers=tenant.headers | {"Authorization": "Bearer vk_live_nope"},
        json=body,
    )
    assert_problem(read_only, 401)
