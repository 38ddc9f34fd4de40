from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.campaigns import service
from shared.models import Campaign, CampaignHashtag, OutboxEvent
from shared.models.enums import CampaignStatus
from tests.factories import Tenant, bearer, insert_collaboration_row, make_key
from tests.problems import assert_problem

FULL: dict[str, Any] = {
    "name": "Summer Drop 2026!",
    "goal": "sales",
    "brief": "Trail runners on a real hike.",
    "assets": [
        {"kind": "logo", "url": "https://cdn.example.com/logo.svg", "name": "Logo"},
        {"kind": "guidelines", "url": "http://example.com/guidelines.pdf"},
    ],
    "hashtags": ["#VouchSummer", "trail_ready", "vouchsummer"],
    "starts_on": "2026-06-01",
    "ends_on": "2026-08-31",
    "budget_minor": 2_500_000,
    "currency": "eur",
    "target_audience": {
        "age_min": 18,
        "age_max": 34,
        "genders": ["female", "male", "female"],
        "countries": ["de", "AT"],
        "languages": ["DE", "en"],
        "interests": ["Hiking", "  trail   running "],
    },
    "attribution_window_days": 14,
    "commission_hold_days": 0,
}


async def create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": "Campaign", "goal": "awareness"} | fields
    resp = await client.post("/v1/campaigns", headers=tenant.headers, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def transition(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, to: str, note: str | None = None
) -> httpx.Response:
    body = {"to": to} | ({"note": note} if note else {})
    return await client.post(
        f"/v1/campaigns/{campaign_id}/transitions", headers=tenant.headers, json=body
    )


# -- create / read ---------------------------------------------------------------------------


async def test_create_normalises_and_reads_back(client: httpx.AsyncClient, tenant: Tenant) -> None:
    c = await create(client, tenant, **FULL)
    assert c["slug"] == "summer-drop-2026"
    assert c["status"] == "draft" and c["status_changed_at"] is None
    assert c["allowed_transitions"] == ["active", "cancelled"]
    assert c["hashtags"] == ["trail_ready", "vouchsummer"]
    assert c["currency"] == "EUR" and c["budget_minor"] == 2_500_000
    assert c["target_audience"] == {
        "age_min": 18,
        "age_max": 34,
        "genders": ["female", "male"],
        "countries": ["DE", "AT"],
        "languages": ["de", "en"],
        "interests": ["hiking", "trail running"],
    }
    assert c["assets"][1] == {
        "kind": "guidelines",
        "url": "http://example.com/guidelines.pdf",
        "name": None,
    }
    assert (c["attribution_window_days"], c["commission_hold_days"]) == (14, 0)
    assert c["kpis"] == []
    assert c["budget"] == {
        "currency": "EUR",
        "budget_minor": 2_500_000,
        "committed_minor": 0,
        "spent_minor": 0,
        "remaining_minor": 2_500_000,
    }
    got = await client.get(f"/v1/campaigns/{c['id']}", headers=tenant.headers)
    assert got.status_code == 200 and got.json() == c


async def test_defaults_come_from_the_brand(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.patch("/v1/brand", headers=tenant.headers, json={"default_currency": "GBP"})
    c = await create(client, tenant, name="Minimal", goal="content")
    assert c["currency"] == "GBP"
    assert (c["attribution_window_days"], c["commission_hold_days"]) == (30, 30)
    assert c["budget_minor"] is None and c["budget"]["remaining_minor"] is None
    assert c["hashtags"] == [] and c["assets"] == []
    assert c["target_audience"] == {
        "age_min": None,
        "age_max": None,
        "genders": [],
        "countries": [],
        "languages": [],
        "interests": [],
    }


async def test_slugs_are_generated_unique_and_explicit_duplicates_conflict(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a = await create(client, tenant, name="Été Launch")
    b = await create(client, tenant, name="ete launch")
    assert (a["slug"], b["slug"]) == ("ete-launch", "ete-launch-2")
    assert (await create(client, tenant, name="!!!"))["slug"] == "campaign"

    resp = await client.post(
        "/v1/campaigns",
        headers=tenant.headers,
        json={"name": "Other", "goal": "sales", "slug": "ete-launch"},
    )
    body = assert_problem(resp, 409, field="body.slug")
    assert body["type"].endswith(":slug_taken") and body["slug"] == "ete-launch"
    # Slugs are per brand.
    assert (await create(client, other_tenant, slug="ete-launch"))["slug"] == "ete-launch"
    # PATCH into a taken slug is the same conflict; the campaign keeps its slug.
    resp = await client.patch(
        f"/v1/campaigns/{b['id']}", headers=tenant.headers, json={"slug": "ete-launch"}
    )
    assert_problem(resp, 409, field="body.slug")
    got = (await client.get(f"/v1/campaigns/{b['id']}", headers=tenant.headers)).json()
    assert got["slug"] == "ete-launch-2"
    ok = await client.patch(
        f"/v1/campaigns/{b['id']}", headers=tenant.headers, json={"slug": "Ete-Launch-B"}
    )
    assert ok.status_code == 200 and ok.json()["slug"] == "ete-launch-b"


async def test_hashtags_are_unique_per_brand_and_replaced_whole(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a = await create(client, tenant, name="A", hashtags=["#Summer", "sun"])
    resp = await client.post(
        "/v1/campaigns",
        headers=tenant.headers,
        json={"name": "B", "goal": "sales", "hashtags": ["beach", "SUMMER"]},
    )
    body = assert_problem(resp, 409)
    assert body["type"].endswith(":hashtag_taken")
    assert body["hashtag"] == "summer" and body["campaign_id"] == a["id"]
    assert body["campaign_slug"] == "a"
    # Nothing half-written: campaign B does not exist, #beach is free.
    listed = (await client.get("/v1/campaigns", headers=tenant.headers)).json()["items"]
    assert [c["name"] for c in listed] == ["A"]
    b = await create(client, tenant, name="B", hashtags=["beach"])
    # Another brand may use the same tag.
    await create(client, other_tenant, name="X", hashtags=["summer"])

    # PATCH replaces the whole set; a freed tag can be taken by another campaign.
    resp = await client.patch(
        f"/v1/campaigns/{a['id']}", headers=tenant.headers, json={"hashtags": ["#autumn", "sun"]}
    )
    assert resp.status_code == 200 and resp.json()["hashtags"] == ["autumn", "sun"]
    resp = await client.patch(
        f"/v1/campaigns/{b['id']}", headers=tenant.headers, json={"hashtags": ["beach", "summer"]}
    )
    assert resp.json()["hashtags"] == ["beach", "summer"]
    resp = await client.patch(
        f"/v1/campaigns/{b['id']}", headers=tenant.headers, json={"hashtags": ["Autumn"]}
    )
    body = assert_problem(resp, 409)
    assert body["hashtag"] == "autumn" and body["campaign_id"] == a["id"]
    got = (await client.get(f"/v1/campaigns/{b['id']}", headers=tenant.headers)).json()
    assert got["hashtags"] == ["beach", "summer"]  # the failed PATCH changed nothing
    resp = await client.patch(
        f"/v1/campaigns/{b['id']}", headers=tenant.headers, json={"hashtags": []}
    )
    assert resp.json()["hashtags"] == []


async def test_find_campaign_by_hashtags(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    old = await create(client, tenant, name="Old", hashtags=["drop"])
    live = await create(client, tenant, name="Live", hashtags=["summerdrop"])
    assert (await transition(client, tenant, live["id"], "active")).status_code == 200
    async with sessionmaker() as session:
        found = await service.find_campaign_by_hashtags(
            session, tenant.brand_id, ["#SummerDrop", "not a tag!", "#unrelated"]
        )
        assert found is not None and str(found.id) == live["id"]
        # Both campaigns named in one caption: the active one wins.
        found = await service.find_campaign_by_hashtags(
            session, tenant.brand_id, ["drop", "summerdrop"]
        )
        assert found is not None and str(found.id) == live["id"]
        found = await service.find_campaign_by_hashtags(session, tenant.brand_id, ["#DROP"])
        assert found is not None and str(found.id) == old["id"]
        assert await service.find_campaign_by_hashtags(session, tenant.brand_id, []) is None
        assert (
            await service.find_campaign_by_hashtags(session, other_tenant.brand_id, ["drop"])
            is None
        )


# -- validation ------------------------------------------------------------------------------

BAD_CREATE: list[tuple[dict[str, Any], str]] = [
    ({"starts_on": "2026-06-10", "ends_on": "2026-06-01"}, "body.ends_on"),
    ({"goal": "fame"}, "body.goal"),
    ({"goal": ["sales", "traffic"]}, "body.goal"),
    ({"budget_minor": -1}, "body.budget_minor"),
    ({"budget_minor": 1.5}, "body.budget_minor"),
    ({"currency": "EURO"}, "body.currency"),
    ({"currency": "€"}, "body.currency"),
    ({"target_audience": {"age_min": 12}}, "body.target_audience.age_min"),
    ({"target_audience": {"age_max": 101}}, "body.target_audience.age_max"),
    ({"target_audience": {"age_min": 30, "age_max": 20}}, "body.target_audience.age_max"),
    ({"target_audience": {"genders": ["robot"]}}, "body.target_audience.genders.0"),
    ({"target_audience": {"countries": ["DE", "XX"]}}, "body.target_audience.countries.1"),
    ({"target_audience": {"countries": ["DEU"]}}, "body.target_audience.countries.0"),
    ({"target_audience": {"languages": ["eng"]}}, "body.target_audience.languages.0"),
    ({"target_audience": {"languages": ["qq"]}}, "body.target_audience.languages.0"),
    ({"target_audience": {"interests": [" "]}}, "body.target_audience.interests.0"),
    ({"target_audience": {"income": "high"}}, "body.target_audience.income"),
    ({"attribution_window_days": 0}, "body.attribution_window_days"),
    ({"attribution_window_days": 366}, "body.attribution_window_days"),
    ({"commission_hold_days": -1}, "body.commission_hold_days"),
    ({"commission_hold_days": 366}, "body.commission_hold_days"),
    ({"hashtags": ["ok", "sum mer"]}, "body.hashtags.1"),
    ({"hashtags": ["#"]}, "body.hashtags.0"),
    ({"hashtags": ["été"]}, "body.hashtags.0"),
    ({"slug": "Bad Slug!"}, "body.slug"),
    ({"slug": "-edge-"}, "body.slug"),
    ({"assets": [{"kind": "video", "url": "https://x.com/a"}]}, "body.assets.0.kind"),
    ({"assets": [{"kind": "logo", "url": "ftp://x.com/a"}]}, "body.assets.0.url"),
    ({"assets": [{"kind": "logo", "url": "javascript:alert(1)"}]}, "body.assets.0.url"),
    ({"assets": [{"kind": "logo", "url": "/relative.png"}]}, "body.assets.0.url"),
    ({"name": ""}, "body.name"),
    ({"status": "active"}, "body.status"),
    ({"nickname": "x"}, "body.nickname"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_CREATE, ids=[f for _, f in BAD_CREATE])
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    body = {"name": "Bad", "goal": "sales"} | fields
    resp = await client.post("/v1/campaigns", headers=tenant.headers, json=body)
    assert_problem(resp, 422, field=field)


async def test_bad_input_writes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for fields, _ in BAD_CREATE[:3]:
        body = {"name": "Bad", "goal": "sales"} | fields
        await client.post("/v1/campaigns", headers=tenant.headers, json=body)
    listed = (await client.get("/v1/campaigns", headers=tenant.headers)).json()
    assert listed == {"items": [], "next_cursor": None}


async def test_patch_updates_and_validates(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    c = await create(client, tenant, **FULL)
    url = f"/v1/campaigns/{c['id']}"
    resp = await client.patch(
        url,
        headers=tenant.headers,
        json={
            "name": "Renamed",
            "goal": "traffic",
            "brief": None,
            "budget_minor": None,
            "ends_on": "2026-09-30",
            "target_audience": {"countries": ["fr"]},
            "assets": [],
            "commission_hold_days": 60,
        },
    )
    assert resp.status_code == 200, resp.text
    p = resp.json()
    assert (p["name"], p["goal"], p["brief"], p["budget_minor"]) == (
        "Renamed",
        "traffic",
        None,
        None,
    )
    assert p["slug"] == c["slug"]  # renaming keeps the slug (it is in links' UTM)
    assert p["target_audience"]["countries"] == ["FR"] and p["target_audience"]["age_min"] is None
    assert p["ends_on"] == "2026-09-30" and p["assets"] == [] and p["commission_hold_days"] == 60
    assert p["hashtags"] == c["hashtags"]  # not sent: unchanged
    assert p["updated_at"] > c["updated_at"]

    cases = [
        ({"starts_on": "2026-10-01"}, "body.starts_on"),  # after the stored ends_on
        ({"ends_on": "2026-05-01"}, "body.ends_on"),
        ({"name": None}, "body.name"),
        ({"goal": None}, "body.goal"),
        ({"hashtags": None}, "body.hashtags"),
        ({"status": "active"}, "body.status"),
        ({"budget_minor": -5}, "body.budget_minor"),
        ({"currency": "EURO"}, "body.currency"),
        ({"target_audience": {"age_min": 40, "age_max": 30}}, "body.target_audience.age_max"),
        ({"id": str(uuid.uuid4())}, "body.id"),
    ]
    for payload, field in cases:
        assert_problem(
            await client.patch(url, headers=tenant.headers, json=payload), 422, field=field
        )
    assert (await client.get(url, headers=tenant.headers)).json()["status"] == "draft"

    # Currency can change until money is booked in it.
    resp = await client.patch(url, headers=tenant.headers, json={"currency": "usd"})
    assert resp.json()["currency"] == "USD" and resp.json()["budget"]["currency"] == "USD"
    await insert_collaboration_row(sessionmaker, tenant.brand_id, uuid.UUID(c["id"]))
    body = assert_problem(
        await client.patch(url, headers=tenant.headers, json={"currency": "EUR"}),
        409,
        field="body.currency",
    )
    assert body["type"].endswith(":currency_locked") and body["currency"] == "USD"
    same = await client.patch(url, headers=tenant.headers, json={"currency": "usd"})
    assert same.status_code == 200


async def test_list_filters_and_keyset_pages(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    made = [
        await create(client, tenant, name="Spring 100% Sale", goal="sales"),
        await create(client, tenant, name="Summer Reach", goal="awareness"),
        await create(client, tenant, name="summer_clicks", goal="traffic"),
        await create(client, tenant, name="Autumn", goal="sales"),
    ]
    await create(client, other_tenant, name="Summer elsewhere")
    assert (await transition(client, tenant, made[1]["id"], "active")).status_code == 200

    async def names(**params: Any) -> list[str]:
        resp = await client.get("/v1/campaigns", headers=tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [c["name"] for c in resp.json()["items"]]

    assert await names() == ["Autumn", "summer_clicks", "Summer Reach", "Spring 100% Sale"]
    assert await names(status="active") == ["Summer Reach"]
    assert await names(goal="sales") == ["Autumn", "Spring 100% Sale"]
    assert await names(q="SUMMER") == ["summer_clicks", "Summer Reach"]
    assert await names(q="100%") == ["Spring 100% Sale"]
    assert await names(q="r_c") == ["summer_clicks"]  # '_' is literal, not a wildcard
    assert await names(q="summer", goal="traffic", status="draft") == ["summer_clicks"]
    assert_problem(
        await client.get("/v1/campaigns", headers=tenant.headers, params={"status": "live"}),
        422,
        field="query.status",
    )
    assert_problem(
        await client.get("/v1/campaigns", headers=tenant.headers, params={"goal": "fame"}),
        422,
        field="query.goal",
    )

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/campaigns", headers=tenant.headers, params=params)).json()
        seen += [c["id"] for c in page["items"]]
        assert all("budget" in c and "kpis" in c for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in reversed(made)]


# -- status machine --------------------------------------------------------------------------


async def test_transitions_follow_the_machine_and_are_recorded(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    c = await create(client, tenant)
    path = [
        ("active", ["cancelled", "completed", "paused"]),
        ("paused", ["active", "cancelled", "completed"]),
        ("active", ["cancelled", "completed", "paused"]),
        ("completed", []),
    ]
    for to, allowed in path:
        resp = await transition(client, tenant, c["id"], to, note=f"to {to}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == to and body["allowed_transitions"] == allowed
        assert body["status_changed_at"] is not None
    for to in ("active", "paused", "cancelled", "draft", "completed"):
        problem = assert_problem(await transition(client, tenant, c["id"], to), 409)
        assert problem["current_status"] == "completed" and problem["requested_status"] == to
        assert problem["type"].endswith(":invalid_transition")

    async with sessionmaker() as session:
        events = (
            (
                await session.execute(
                    select(OutboxEvent)
                    .where(
                        OutboxEvent.brand_id == tenant.brand_id,
                        OutboxEvent.type == "campaign.status_changed",
                    )
                    .order_by(OutboxEvent.id)
                )
            )
            .scalars()
            .all()
        )
    moves = [(e.payload["from_status"], e.payload["to_status"]) for e in events]
    assert moves == [
        ("draft", "active"),
        ("active", "paused"),
        ("paused", "active"),
        ("active", "completed"),
    ]
    assert events[0].payload["note"] == "to active"
    assert events[0].payload["actor_key_id"] == str(tenant.key_id)
    assert events[0].payload["campaign_id"] == c["id"]


@pytest.mark.parametrize(
    ("setup", "to"),
    [
        ([], "paused"),
        ([], "completed"),
        ([], "draft"),
        (["active"], "active"),
        (["active"], "draft"),
        (["cancelled"], "active"),
        (["active", "cancelled"], "paused"),
        (["active", "paused"], "paused"),
    ],
)
async def test_illegal_transitions_name_current_and_requested(
    client: httpx.AsyncClient, tenant: Tenant, setup: list[str], to: str
) -> None:
    c = await create(client, tenant)
    for step in setup:
        assert (await transition(client, tenant, c["id"], step)).status_code == 200
    current = setup[-1] if setup else "draft"
    body = assert_problem(await transition(client, tenant, c["id"], to), 409)
    assert (body["current_status"], body["requested_status"]) == (current, to)
    assert current in body["detail"] and to in body["detail"]
    got = (await client.get(f"/v1/campaigns/{c['id']}", headers=tenant.headers)).json()
    assert got["status"] == current


async def test_transition_body_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    c = await create(client, tenant)
    url = f"/v1/campaigns/{c['id']}/transitions"
    for body, field in [
        ({"to": "live"}, "body.to"),
        ({}, "body.to"),
        ({"to": "active", "reason": "x"}, "body.reason"),
        ({"to": "active", "note": "x" * 2001}, "body.note"),
    ]:
        assert_problem(await client.post(url, headers=tenant.headers, json=body), 422, field=field)


async def test_concurrent_transitions_one_wins(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Two requests (two sessions) race to activate the same draft: exactly one wins."""
    for _ in range(3):
        c = await create(client, tenant)
        a, b = await asyncio.gather(
            transition(client, tenant, c["id"], "active"),
            transition(client, tenant, c["id"], "active"),
        )
        assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
        loser = a if a.status_code == 409 else b
        body = assert_problem(loser, 409)
        assert (body["current_status"], body["requested_status"]) == ("active", "active")


async def test_a_waiting_transition_is_rechecked_against_the_winner(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Session A moves draft -> active and holds its transaction open; session B's
    transition blocks on the row, then is judged against A's committed result."""
    first = uuid.UUID((await create(client, tenant))["id"])
    second = uuid.UUID((await create(client, tenant))["id"])

    async def race(campaign_id: uuid.UUID, b_to: CampaignStatus) -> Any:
        async with sessionmaker() as sa, sessionmaker() as sb:
            await service.transition_campaign(
                sa, tenant.brand_id, campaign_id, CampaignStatus.ACTIVE
            )

            async def b() -> Any:
                async with sb.begin():
                    return await service.transition_campaign(sb, tenant.brand_id, campaign_id, b_to)

            task = asyncio.create_task(b())
            await asyncio.sleep(0.2)
            assert not task.done()  # blocked on A's row lock
            await sa.commit()
            return await asyncio.gather(task, return_exceptions=True)

    # Activate vs activate: B sees 'active' and loses.
    [result] = await race(first, CampaignStatus.ACTIVE)
    assert isinstance(result, service.InvalidTransition)
    assert result.extra["current_status"] == "active"
    # Activate vs cancel: cancelling an active campaign is legal, B records from=active.
    [result] = await race(second, CampaignStatus.CANCELLED)
    assert isinstance(result, Campaign) and result.status == "cancelled"
    async with sessionmaker() as session:
        event = (
            await session.execute(
                select(OutboxEvent).where(
                    OutboxEvent.brand_id == tenant.brand_id,
                    OutboxEvent.payload["campaign_id"].astext == str(second),
                    OutboxEvent.payload["to_status"].astext == "cancelled",
                )
            )
        ).scalar_one()
    assert event.payload["from_status"] == "active"


# -- delete ----------------------------------------------------------------------------------


async def test_only_drafts_are_deleted(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    draft = await create(client, tenant, hashtags=["gone"])
    resp = await client.delete(f"/v1/campaigns/{draft['id']}", headers=tenant.headers)
    assert resp.status_code == 204
    assert_problem(await client.get(f"/v1/campaigns/{draft['id']}", headers=tenant.headers), 404)
    async with sessionmaker() as session:
        tags = (
            await session.execute(
                select(CampaignHashtag.tag).where(CampaignHashtag.brand_id == tenant.brand_id)
            )
        ).all()
    assert tags == []

    live = await create(client, tenant)
    await transition(client, tenant, live["id"], "active")
    body = assert_problem(
        await client.delete(f"/v1/campaigns/{live['id']}", headers=tenant.headers), 409
    )
    assert body["current_status"] == "active"


# -- tenancy and scopes ----------------------------------------------------------------------


async def test_another_brands_campaign_is_404_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create(client, other_tenant, name="Theirs", hashtags=["theirs"])
    cid = theirs["id"]
    h = tenant.headers
    calls = [
        client.get(f"/v1/campaigns/{cid}", headers=h),
        client.patch(f"/v1/campaigns/{cid}", headers=h, json={"name": "mine"}),
        client.delete(f"/v1/campaigns/{cid}", headers=h),
        client.post(f"/v1/campaigns/{cid}/transitions", headers=h, json={"to": "active"}),
        client.post(f"/v1/campaigns/{cid}/transitions", headers=h, json={"to": "draft"}),
        client.get(f"/v1/campaigns/{cid}/budget", headers=h),
    ]
    for call in calls:
        assert_problem(await call, 404)
    for path in (f"/v1/campaigns/{uuid.uuid4()}", f"/v1/campaigns/{uuid.uuid4()}/budget"):
        assert_problem(await client.get(path, headers=h), 404)
    assert_problem(await client.get("/v1/campaigns/nope", headers=h), 422, field="path.campaign_id")
    # Untouched, and invisible in the other brand's list.
    still = (await client.get(f"/v1/campaigns/{cid}", headers=other_tenant.headers)).json()
    assert still == theirs
    assert (await client.get("/v1/campaigns", headers=h)).json()["items"] == []
    # The other brand's hashtag is free for this one.
    await create(client, tenant, hashtags=["theirs"])


async def test_read_key_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    c = await create(client, tenant)
    read_only = bearer(await make_key(sessionmaker, tenant.brand_id, ["read"]))
    assert (await client.get(f"/v1/campaigns/{c['id']}", headers=read_only)).status_code == 200
    assert (
        await client.get(f"/v1/campaigns/{c['id']}/budget", headers=read_only)
    ).status_code == 200
    assert_problem(
        await client.post("/v1/campaigns", headers=read_only, json={"name": "x", "goal": "sales"}),
        403,
    )
    assert_problem(
        await client.post(
            f"/v1/campaigns/{c['id']}/transitions", headers=read_only, json={"to": "active"}
        ),
        403,
    )
    assert_problem(await client.get("/v1/campaigns"), 401)


async def test_openapi_documents_campaign_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/campaigns",
        "/v1/campaigns/{campaign_id}",
        "/v1/campaigns/{campaign_id}/transitions",
        "/v1/campaigns/{campaign_id}/budget",
        "/v1/campaigns/{campaign_id}/kpis",
        "/v1/campaigns/{campaign_id}/kpis/{kpi_id}",
        "/v1/campaigns/{campaign_id}/costs",
        "/v1/campaigns/{campaign_id}/costs/{cost_id}",
    ):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    for name in (
        "CampaignCreate",
        "CampaignUpdate",
        "Transition",
        "KpiTargetCreate",
        "CostLineCreate",
    ):
        assert schemas[name].get("examples"), name
    assert "status" not in schemas["CampaignUpdate"]["properties"]
    assert "committed" in paths["/v1/campaigns/{campaign_id}/budget"]["get"]["description"]
    assert "409" in paths["/v1/campaigns/{campaign_id}/transitions"]["post"]["responses"]
