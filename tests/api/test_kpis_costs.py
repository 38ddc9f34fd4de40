from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.campaigns.budget import BudgetExceeded, budget_view, ensure_within_budget
from shared.models import Campaign
from tests.factories import Tenant, insert_campaign_row, insert_collaboration_row
from tests.problems import assert_problem


async def create_campaign(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> str:
    body = {"name": "Campaign", "goal": "sales"} | fields
    resp = await client.post("/v1/campaigns", headers=tenant.headers, json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def budget(client: httpx.AsyncClient, tenant: Tenant, cid: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/campaigns/{cid}/budget", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


# -- KPI targets -----------------------------------------------------------------------------


async def test_kpi_crud(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await create_campaign(
        client, tenant, starts_on="2026-06-01", ends_on="2026-08-31", currency="EUR"
    )
    url = f"/v1/campaigns/{cid}/kpis"
    made = []
    for metric, value, deadline, unit in [
        ("orders", 400, "2026-08-31", "count"),
        ("engagement_rate", 0.035, "2026-07-31", "fraction"),
        ("roas", "3.5", "2026-08-31", "multiple"),
        ("cpa", 1500, "2026-08-31", "minor_units"),
        ("conversion_rate", 1, "2026-06-01", "fraction"),
    ]:
        resp = await client.post(
            url,
            headers=tenant.headers,
            json={"metric": metric, "target_value": value, "deadline": deadline},
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["metric"] == metric and body["unit"] == unit and body["deadline"] == deadline
        assert body["target_value"] == float(value) and body["campaign_id"] == cid
        made.append(body)

    listed = (await client.get(url, headers=tenant.headers)).json()
    assert [k["id"] for k in listed["items"]] == [k["id"] for k in made]
    campaign = (await client.get(f"/v1/campaigns/{cid}", headers=tenant.headers)).json()
    assert [(k["metric"], k["deadline"]) for k in campaign["kpis"]] == [
        ("conversion_rate", "2026-06-01"),
        ("engagement_rate", "2026-07-31"),
        ("cpa", "2026-08-31"),
        ("orders", "2026-08-31"),
        ("roas", "2026-08-31"),
    ]

    kid = made[1]["id"]
    got = await client.get(f"{url}/{kid}", headers=tenant.headers)
    assert got.status_code == 200 and got.json() == made[1]
    resp = await client.patch(
        f"{url}/{kid}",
        headers=tenant.headers,
        json={"target_value": 0.05, "deadline": "2026-08-01"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["target_value"] == 0.05 and resp.json()["deadline"] == "2026-08-01"
    assert resp.json()["updated_at"] >= made[1]["updated_at"]

    assert (await client.delete(f"{url}/{kid}", headers=tenant.headers)).status_code == 204
    assert_problem(await client.get(f"{url}/{kid}", headers=tenant.headers), 404)
    assert_problem(await client.delete(f"{url}/{kid}", headers=tenant.headers), 404)


KPI_BAD: list[tuple[dict[str, Any], str]] = [
    ({"metric": "engagement_rate", "target_value": 1.5}, "body.target_value"),
    ({"metric": "conversion_rate", "target_value": 35}, "body.target_value"),
    ({"metric": "orders", "target_value": 10.5}, "body.target_value"),
    ({"metric": "cpa", "target_value": 12.34}, "body.target_value"),
    ({"metric": "reach", "target_value": 0}, "body.target_value"),
    ({"metric": "reach", "target_value": -5}, "body.target_value"),
    ({"metric": "roas", "target_value": 0.0000001}, "body.target_value"),
    ({"metric": "roas", "target_value": "lots"}, "body.target_value"),
    ({"metric": "likes", "target_value": 5}, "body.metric"),
    ({"metric": "reach", "target_value": 5, "deadline": "2026-05-31"}, "body.deadline"),
    ({"metric": "reach", "target_value": 5, "deadline": "2026-09-01"}, "body.deadline"),
    ({"metric": "reach", "target_value": 5, "deadline": "soon"}, "body.deadline"),
    ({"metric": "reach", "target_value": 5, "progress": 1}, "body.progress"),
]


@pytest.mark.parametrize(
    ("fields", "field"), KPI_BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(KPI_BAD)]
)
async def test_kpi_rejects_bad_input(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    cid = await create_campaign(client, tenant, starts_on="2026-06-01", ends_on="2026-08-31")
    body = {"deadline": "2026-07-01"} | fields
    resp = await client.post(f"/v1/campaigns/{cid}/kpis", headers=tenant.headers, json=body)
    assert_problem(resp, 422, field=field)
    assert (await client.get(f"/v1/campaigns/{cid}/kpis", headers=tenant.headers)).json()[
        "items"
    ] == []


async def test_kpi_duplicates_and_cross_checks(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await create_campaign(client, tenant, starts_on="2026-06-01", ends_on="2026-08-31")
    url = f"/v1/campaigns/{cid}/kpis"
    first = {"metric": "clicks", "target_value": 1000, "deadline": "2026-07-01"}
    assert (await client.post(url, headers=tenant.headers, json=first)).status_code == 201
    body = assert_problem(
        await client.post(url, headers=tenant.headers, json=first | {"target_value": 5}), 409
    )
    assert body["type"].endswith(":kpi_target_exists") and body["metric"] == "clicks"
    # Same metric, another deadline: fine. Then PATCHing it onto the first is a 409 too.
    other = await client.post(url, headers=tenant.headers, json=first | {"deadline": "2026-08-01"})
    assert other.status_code == 201
    resp = await client.patch(
        f"{url}/{other.json()['id']}", headers=tenant.headers, json={"deadline": "2026-07-01"}
    )
    assert_problem(resp, 409)
    # Changing the metric re-validates the stored value against the new metric.
    resp = await client.patch(
        f"{url}/{other.json()['id']}", headers=tenant.headers, json={"metric": "engagement_rate"}
    )
    assert_problem(resp, 422, field="body.target_value")
    for payload, field in [
        ({"deadline": "2026-09-15"}, "body.deadline"),
        ({"target_value": None}, "body.target_value"),
        ({"target_value": -1}, "body.target_value"),
        ({"unit": "count"}, "body.unit"),
    ]:
        resp = await client.patch(
            f"{url}/{other.json()['id']}", headers=tenant.headers, json=payload
        )
        assert_problem(resp, 422, field=field)
    # Campaign dates cannot move past an existing KPI deadline.
    resp = await client.patch(
        f"/v1/campaigns/{cid}", headers=tenant.headers, json={"ends_on": "2026-07-15"}
    )
    body = assert_problem(resp, 422, field="body.ends_on")
    assert "clicks" in body["detail"]
    resp = await client.patch(
        f"/v1/campaigns/{cid}", headers=tenant.headers, json={"starts_on": "2026-07-02"}
    )
    assert_problem(resp, 422, field="body.starts_on")
    # Without campaign dates any deadline is accepted.
    open_cid = await create_campaign(client, tenant)
    resp = await client.post(
        f"/v1/campaigns/{open_cid}/kpis",
        headers=tenant.headers,
        json={"metric": "revenue", "target_value": 10_000_000, "deadline": "2030-01-01"},
    )
    assert resp.status_code == 201


async def test_kpis_of_another_brand_or_campaign_are_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_campaign(client, other_tenant)
    kpi = {"metric": "reach", "target_value": 10, "deadline": "2026-07-01"}
    their_kpi = (
        await client.post(f"/v1/campaigns/{theirs}/kpis", headers=other_tenant.headers, json=kpi)
    ).json()["id"]
    mine = await create_campaign(client, tenant)
    mine2 = await create_campaign(client, tenant)
    my_kpi = (
        await client.post(f"/v1/campaigns/{mine}/kpis", headers=tenant.headers, json=kpi)
    ).json()["id"]
    h = tenant.headers
    for resp in [
        await client.get(f"/v1/campaigns/{theirs}/kpis", headers=h),
        await client.post(f"/v1/campaigns/{theirs}/kpis", headers=h, json=kpi),
        await client.get(f"/v1/campaigns/{theirs}/kpis/{their_kpi}", headers=h),
        await client.patch(
            f"/v1/campaigns/{theirs}/kpis/{their_kpi}", headers=h, json={"target_value": 1}
        ),
        await client.delete(f"/v1/campaigns/{theirs}/kpis/{their_kpi}", headers=h),
        # Their KPI id under my campaign, and my KPI under my other campaign.
        await client.get(f"/v1/campaigns/{mine}/kpis/{their_kpi}", headers=h),
        await client.patch(
            f"/v1/campaigns/{mine}/kpis/{their_kpi}", headers=h, json={"target_value": 2}
        ),
        await client.delete(f"/v1/campaigns/{mine}/kpis/{their_kpi}", headers=h),
        await client.get(f"/v1/campaigns/{mine2}/kpis/{my_kpi}", headers=h),
        await client.delete(f"/v1/campaigns/{mine2}/kpis/{my_kpi}", headers=h),
    ]:
        assert_problem(resp, 404)
    still = await client.get(
        f"/v1/campaigns/{theirs}/kpis/{their_kpi}", headers=other_tenant.headers
    )
    assert still.json()["target_value"] == 10


# -- cost lines ------------------------------------------------------------------------------


async def test_cost_line_crud_and_budget_view(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cid = await create_campaign(client, tenant, budget_minor=1_000_000, currency="EUR")
    url = f"/v1/campaigns/{cid}/costs"
    collab = await insert_collaboration_row(
        sessionmaker, tenant.brand_id, uuid.UUID(cid), currency="EUR"
    )
    resp = await client.post(
        url,
        headers=tenant.headers,
        json={
            "category": "content_production",
            "amount_minor": 120_000,
            "currency": "eur",
            "collaboration_id": str(collab),
            "note": "Shoot",
            "incurred_on": "2026-06-12",
        },
    )
    assert resp.status_code == 201, resp.text
    line = resp.json()
    assert line["currency"] == "EUR" and line["paid_at"] is None
    assert line["collaboration_id"] == str(collab)
    ads = await client.post(
        url, headers=tenant.headers, json={"category": "ads", "amount_minor": 80_000}
    )
    assert ads.status_code == 201 and ads.json()["currency"] == "EUR"
    assert await budget(client, tenant, cid) == {
        "currency": "EUR",
        "budget_minor": 1_000_000,
        "committed_minor": 200_000,
        "spent_minor": 0,
        "remaining_minor": 800_000,
    }

    paid = await client.patch(
        f"{url}/{line['id']}", headers=tenant.headers, json={"paid_at": "2026-06-30T10:00:00+02:00"}
    )
    assert paid.status_code == 200 and paid.json()["paid_at"].startswith("2026-06-30T08:00:00")
    assert (await budget(client, tenant, cid))["spent_minor"] == 120_000

    async def items(**params: Any) -> list[str]:
        resp = await client.get(url, headers=tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [c["id"] for c in resp.json()["items"]]

    assert await items() == [line["id"], ads.json()["id"]]
    assert await items(paid="true") == [line["id"]]
    assert await items(paid="false") == [ads.json()["id"]]
    assert await items(category="ads") == [ads.json()["id"]]
    assert await items(collaboration_id=str(collab)) == [line["id"]]
    assert await items(limit=1) == [line["id"]]

    got = (await client.get(f"{url}/{line['id']}", headers=tenant.headers)).json()
    assert got["note"] == "Shoot" and got["incurred_on"] == "2026-06-12"
    resp = await client.patch(
        f"{url}/{line['id']}",
        headers=tenant.headers,
        json={"note": None, "collaboration_id": None, "paid_at": None, "category": "other"},
    )
    body = resp.json()
    assert (body["note"], body["collaboration_id"], body["paid_at"], body["category"]) == (
        None,
        None,
        None,
        "other",
    )
    assert (
        await client.delete(f"{url}/{ads.json()['id']}", headers=tenant.headers)
    ).status_code == 204
    assert (await budget(client, tenant, cid))["committed_minor"] == 120_000
    # The campaign response carries the same view.
    campaign = (await client.get(f"/v1/campaigns/{cid}", headers=tenant.headers)).json()
    assert campaign["budget"] == await budget(client, tenant, cid)


async def test_committed_counts_contracted_collaboration_fees(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cid = await create_campaign(client, tenant, budget_minor=500_000, currency="USD")
    campaign_id = uuid.UUID(cid)
    for status, fee, gift in [
        ("prospect", 900_000, None),  # not committed yet
        ("declined", 900_000, None),
        ("contracted", 100_000, 20_000),
        ("active", 50_000, None),
        ("completed", None, 30_000),
    ]:
        await insert_collaboration_row(
            sessionmaker,
            tenant.brand_id,
            campaign_id,
            status=status,
            flat_fee_minor=fee,
            gifted_value_minor=gift,
        )
    view = await budget(client, tenant, cid)
    assert view["committed_minor"] == 200_000 and view["remaining_minor"] == 300_000
    # The guard the collaborations engineer calls sees the same numbers.
    async with sessionmaker() as session, session.begin():
        with pytest.raises(BudgetExceeded) as info:
            await ensure_within_budget(session, campaign_id, 300_001, allow_over_budget=False)
        assert info.value.extra["remaining_minor"] == 300_000
        ok = await ensure_within_budget(session, campaign_id, 300_000, allow_over_budget=False)
        assert ok.remaining_minor == 300_000
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        assert (await budget_view(session, campaign)).committed_minor == 200_000


async def test_budget_guard_and_override(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await create_campaign(client, tenant, budget_minor=100_000)
    url = f"/v1/campaigns/{cid}/costs"
    first = await client.post(
        url, headers=tenant.headers, json={"category": "ads", "amount_minor": 60_000}
    )
    assert first.status_code == 201
    over = await client.post(
        url, headers=tenant.headers, json={"category": "ads", "amount_minor": 50_000}
    )
    body = assert_problem(over, 409)
    assert body["type"].endswith(":budget_exceeded")
    assert (body["budget_minor"], body["committed_minor"], body["remaining_minor"]) == (
        100_000,
        60_000,
        40_000,
    )
    assert body["requested_minor"] == 50_000 and body["currency"] == "USD"
    exact = await client.post(
        url, headers=tenant.headers, json={"category": "ads", "amount_minor": 40_000}
    )
    assert exact.status_code == 201  # exactly the remaining budget is fine
    # Zero-amount lines (e.g. a gifted item tracked for the record) pass even when full.
    zero = await client.post(
        url, headers=tenant.headers, json={"category": "other", "amount_minor": 0}
    )
    assert zero.status_code == 201
    forced = await client.post(
        url,
        headers=tenant.headers,
        json={"category": "usage_rights", "amount_minor": 25_000, "allow_over_budget": True},
    )
    assert forced.status_code == 201
    assert (await budget(client, tenant, cid))["remaining_minor"] == -25_000

    # Increasing a line is guarded on the increase; decreasing never is.
    line = first.json()["id"]
    assert_problem(
        await client.patch(f"{url}/{line}", headers=tenant.headers, json={"amount_minor": 60_001}),
        409,
    )
    down = await client.patch(
        f"{url}/{line}", headers=tenant.headers, json={"amount_minor": 10_000}
    )
    assert down.status_code == 200
    assert (await budget(client, tenant, cid))["remaining_minor"] == 25_000
    up = await client.patch(f"{url}/{line}", headers=tenant.headers, json={"amount_minor": 35_000})
    assert up.status_code == 200
    up = await client.patch(
        f"{url}/{line}",
        headers=tenant.headers,
        json={"amount_minor": 90_000, "allow_over_budget": True},
    )
    assert (
        up.status_code == 200 and (await budget(client, tenant, cid))["remaining_minor"] == -55_000
    )

    # Without a budget there is nothing to exceed.
    free = await create_campaign(client, tenant)
    resp = await client.post(
        f"/v1/campaigns/{free}/costs",
        headers=tenant.headers,
        json={"category": "ads", "amount_minor": 10**12},
    )
    assert resp.status_code == 201
    assert (await budget(client, tenant, free))["remaining_minor"] is None


async def test_concurrent_cost_lines_cannot_both_spend_the_remainder(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(3):
        cid = await create_campaign(client, tenant, budget_minor=1_000)
        body = {"category": "ads", "amount_minor": 600}
        a, b = await asyncio.gather(
            client.post(f"/v1/campaigns/{cid}/costs", headers=tenant.headers, json=body),
            client.post(f"/v1/campaigns/{cid}/costs", headers=tenant.headers, json=body),
        )
        assert sorted([a.status_code, b.status_code]) == [201, 409], (a.text, b.text)
        assert (await budget(client, tenant, cid))["committed_minor"] == 600


COST_BAD: list[tuple[dict[str, Any], str]] = [
    ({"amount_minor": -1}, "body.amount_minor"),
    ({"amount_minor": 1.5}, "body.amount_minor"),
    ({"amount_minor": None}, "body.amount_minor"),
    ({"currency": "EUR"}, "body.currency"),  # campaign is in USD
    ({"currency": "dollars"}, "body.currency"),
    ({"category": "bribes"}, "body.category"),
    ({"paid_at": "2026-06-30T10:00:00"}, "body.paid_at"),  # naive timestamp
    ({"incurred_on": "yesterday"}, "body.incurred_on"),
    ({"collaboration_id": "nope"}, "body.collaboration_id"),
    ({"budget_line": 1}, "body.budget_line"),
]


@pytest.mark.parametrize(
    ("fields", "field"), COST_BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(COST_BAD)]
)
async def test_cost_line_rejects_bad_input(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    cid = await create_campaign(client, tenant, currency="USD")
    body = {"category": "ads", "amount_minor": 100} | fields
    resp = await client.post(f"/v1/campaigns/{cid}/costs", headers=tenant.headers, json=body)
    assert_problem(resp, 422, field=field)
    assert (await budget(client, tenant, cid))["committed_minor"] == 0


async def test_cost_line_patch_validation(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await create_campaign(client, tenant, currency="USD")
    url = f"/v1/campaigns/{cid}/costs"
    line = (
        await client.post(url, headers=tenant.headers, json={"category": "ads", "amount_minor": 5})
    ).json()["id"]
    for payload, field in [
        ({"amount_minor": -1}, "body.amount_minor"),
        ({"amount_minor": None}, "body.amount_minor"),
        ({"category": None}, "body.category"),
        ({"currency": "EUR"}, "body.currency"),
        ({"campaign_id": str(uuid.uuid4())}, "body.campaign_id"),
    ]:
        resp = await client.patch(f"{url}/{line}", headers=tenant.headers, json=payload)
        assert_problem(resp, 422, field=field)
    ok = await client.patch(f"{url}/{line}", headers=tenant.headers, json={"currency": "usd"})
    assert ok.status_code == 200 and ok.json()["amount_minor"] == 5


async def test_cost_line_collaboration_must_be_this_brands_and_campaigns(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    cid = await create_campaign(client, tenant)
    other_cid = await create_campaign(client, tenant)
    their_cid = await insert_campaign_row(sessionmaker, other_tenant.brand_id)
    mine = await insert_collaboration_row(sessionmaker, tenant.brand_id, uuid.UUID(cid))
    other_campaigns = await insert_collaboration_row(
        sessionmaker, tenant.brand_id, uuid.UUID(other_cid)
    )
    theirs = await insert_collaboration_row(sessionmaker, other_tenant.brand_id, their_cid)
    url = f"/v1/campaigns/{cid}/costs"
    for collab in (theirs, other_campaigns, uuid.uuid4()):
        resp = await client.post(
            url,
            headers=tenant.headers,
            json={"category": "agency_fee", "amount_minor": 1, "collaboration_id": str(collab)},
        )
        assert_problem(resp, 404, field="body.collaboration_id")
    resp = await client.post(
        url,
        headers=tenant.headers,
        json={"category": "agency_fee", "amount_minor": 1, "collaboration_id": str(mine)},
    )
    assert resp.status_code == 201
    line = resp.json()["id"]
    resp = await client.patch(
        f"{url}/{line}", headers=tenant.headers, json={"collaboration_id": str(theirs)}
    )
    assert_problem(resp, 404, field="body.collaboration_id")
    got = (await client.get(f"{url}/{line}", headers=tenant.headers)).json()
    assert got["collaboration_id"] == str(mine)


async def test_cost_lines_of_another_brand_or_campaign_are_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_campaign(client, other_tenant, budget_minor=100)
    line = {"category": "ads", "amount_minor": 10}
    their_line = (
        await client.post(f"/v1/campaigns/{theirs}/costs", headers=other_tenant.headers, json=line)
    ).json()["id"]
    mine = await create_campaign(client, tenant)
    mine2 = await create_campaign(client, tenant)
    my_line = (
        await client.post(f"/v1/campaigns/{mine}/costs", headers=tenant.headers, json=line)
    ).json()["id"]
    h = tenant.headers
    for resp in [
        await client.get(f"/v1/campaigns/{theirs}/costs", headers=h),
        await client.post(f"/v1/campaigns/{theirs}/costs", headers=h, json=line),
        await client.get(f"/v1/campaigns/{theirs}/costs/{their_line}", headers=h),
        await client.patch(
            f"/v1/campaigns/{theirs}/costs/{their_line}", headers=h, json={"amount_minor": 1}
        ),
        await client.delete(f"/v1/campaigns/{theirs}/costs/{their_line}", headers=h),
        await client.get(f"/v1/campaigns/{theirs}/budget", headers=h),
        await client.get(f"/v1/campaigns/{mine}/costs/{their_line}", headers=h),
        await client.patch(
            f"/v1/campaigns/{mine}/costs/{their_line}", headers=h, json={"note": "x"}
        ),
        await client.delete(f"/v1/campaigns/{mine}/costs/{their_line}", headers=h),
        await client.get(f"/v1/campaigns/{mine2}/costs/{my_line}", headers=h),
        await client.patch(f"/v1/campaigns/{mine2}/costs/{my_line}", headers=h, json={"note": "x"}),
    ]:
        assert_problem(resp, 404)
    view = (await client.get(f"/v1/campaigns/{theirs}/budget", headers=other_tenant.headers)).json()
    assert view["committed_minor"] == 10
