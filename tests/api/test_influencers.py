from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import FollowerSnapshot, Influencer, SocialAccount
from tests.factories import Tenant, bearer, make_collaboration_for, make_influencer, make_key
from tests.problems import assert_problem

ACCOUNT: dict[str, Any] = {
    "platform": "instagram",
    "handle": "  @Jane.Runs ",
    "profile_url": "https://instagram.com/jane.runs",
    "followers": 48_200,
    "posts_per_week": 4.5,
    "sponsored_share_bps": 1200,
    "audience_age": {"18-24": 41, "25-34": 37.5, "35-44": 14},
    "audience_gender": {"female": 68, "male": 30, "other": 2},
    "audience_countries": {"de": 61, "AT": 14},
    "audience_languages": {"DE": 82, "en": 18},
}


async def _create(
    client: httpx.AsyncClient, tenant: Tenant, name: str = "Jane Runner", **fields: Any
) -> dict[str, Any]:
    resp = await client.post(
        "/v1/influencers", headers=tenant.headers, json={"name": name, **fields}
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _add_account(
    client: httpx.AsyncClient, tenant: Tenant, influencer_id: str, **fields: Any
) -> dict[str, Any]:
    resp = await client.post(
        f"/v1/influencers/{influencer_id}/accounts", headers=tenant.headers, json=fields
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


# ------------------------------------------------------------------ success paths
async def test_create_with_accounts_normalises_and_derives(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = await _create(
        client,
        tenant,
        email="Jane@Example.com",
        country="de",
        city="Berlin",
        languages=["DE", "en", "de"],
        niches=[" Running", "nutrition"],
        rate_card={"reel": 45_000, "story": 15_000},
        rate_currency="eur",
        accounts=[ACCOUNT, {"platform": "tiktok", "handle": "JaneRuns", "followers": 120_500}],
    )
    assert body["country"] == "DE" and body["rate_currency"] == "EUR"
    assert body["languages"] == ["de", "en"] and body["niches"] == ["running", "nutrition"]
    assert body["status"] == "active" and body["max_followers"] == 120_500
    assert body["collaborations_count"] == 0 and body["first_collaboration_at"] is None
    by_platform = {a["platform"]: a for a in body["accounts"]}
    ig = by_platform["instagram"]
    assert ig["handle"] == "jane.runs" and ig["tier"] == "micro"
    assert ig["posts_per_week"] == 4.5 and ig["sponsored_share_bps"] == 1200
    assert ig["audience_countries"] == {"DE": 61, "AT": 14}
    assert ig["audience_languages"] == {"de": 82, "en": 18}
    assert by_platform["tiktok"]["handle"] == "janeruns"
    assert by_platform["tiktok"]["tier"] == "macro"
    again = await client.get(f"/v1/influencers/{body['id']}", headers=tenant.headers)
    assert again.status_code == 200 and again.json() == body


async def test_account_crud_updates_tier_and_sort_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inf = await _create(client, tenant)
    base = f"/v1/influencers/{inf['id']}/accounts"
    acc = await _add_account(
        client, tenant, inf["id"], platform="youtube", handle="@JR", followers=9_999
    )
    assert acc["tier"] == "nano" and acc["handle"] == "jr" and acc["influencer_id"] == inf["id"]

    listed = (await client.get(base, headers=tenant.headers)).json()
    assert [a["id"] for a in listed["items"]] == [acc["id"]] and listed["next_cursor"] is None
    got = await client.get(f"{base}/{acc['id']}", headers=tenant.headers)
    assert got.json() == acc

    resp = await client.patch(
        f"{base}/{acc['id']}",
        headers=tenant.headers,
        json={"followers": 10_000, "audience_gender": {"female": 50}, "profile_url": None},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["tier"] == "micro" and resp.json()["audience_gender"] == {"female": 50}
    assert (await client.get(f"/v1/influencers/{inf['id']}", headers=tenant.headers)).json()[
        "max_followers"
    ] == 10_000

    resp = await client.patch(
        f"/v1/influencers/{inf['id']}",
        headers=tenant.headers,
        json={"notes": "Great on trail content", "status": "archived"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "archived" and resp.json()["notes"] == "Great on trail content"
    assert resp.json()["name"] == "Jane Runner"

    assert (await client.delete(f"{base}/{acc['id']}", headers=tenant.headers)).status_code == 204
    after = (await client.get(f"/v1/influencers/{inf['id']}", headers=tenant.headers)).json()
    assert after["accounts"] == [] and after["max_followers"] == 0
    assert_problem(await client.get(f"{base}/{acc['id']}", headers=tenant.headers), 404)


async def test_follower_history_records_each_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    inf = await _create(client, tenant)
    acc = await _add_account(
        client, tenant, inf["id"], platform="instagram", handle="h1", followers=5_000
    )
    url = f"/v1/influencers/{inf['id']}/accounts/{acc['id']}"
    for patch in (
        {"followers": 12_000},
        {"posts_per_week": 3},
        {"followers": 12_000},
        {"followers": 11_500},
    ):
        resp = await client.patch(url, headers=tenant.headers, json=patch)
        assert resp.status_code == 200, resp.text
    history = (await client.get(f"{url}/follower-history", headers=tenant.headers)).json()
    assert [p["followers"] for p in history["items"]] == [5_000, 12_000, 11_500]
    stamps = [p["captured_at"] for p in history["items"]]
    assert stamps == sorted(stamps)
    page1 = (
        await client.get(f"{url}/follower-history", headers=tenant.headers, params={"limit": 2})
    ).json()
    page2 = (
        await client.get(
            f"{url}/follower-history",
            headers=tenant.headers,
            params={"limit": 2, "cursor": page1["next_cursor"]},
        )
    ).json()
    assert page1["items"] + page2["items"] == history["items"] and page2["next_cursor"] is None


async def test_collaboration_facts_and_delete_rules(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    busy = await _create(client, tenant, "Busy", accounts=[{"platform": "x", "handle": "busy"}])
    first = await make_collaboration_for(sessionmaker, tenant.brand_id, uuid.UUID(busy["id"]))
    await make_collaboration_for(
        sessionmaker, tenant.brand_id, uuid.UUID(busy["id"]), status="declined"
    )
    body = (await client.get(f"/v1/influencers/{busy['id']}", headers=tenant.headers)).json()
    assert body["collaborations_count"] == 2
    assert body["first_collaboration_at"] < body["last_collaboration_at"]
    listed = (await client.get("/v1/influencers", headers=tenant.headers)).json()["items"]
    assert {i["id"]: i["collaborations_count"] for i in listed} == {busy["id"]: 2}

    refused = await client.delete(f"/v1/influencers/{busy['id']}", headers=tenant.headers)
    problem = assert_problem(refused, 409)
    assert problem["type"].endswith("influencer_has_collaborations")
    archived = await client.patch(
        f"/v1/influencers/{busy['id']}", headers=tenant.headers, json={"status": "archived"}
    )
    assert archived.json()["status"] == "archived"
    async with sessionmaker() as session:
        assert await session.get(Influencer, uuid.UUID(busy["id"])) is not None
        from shared.models import Collaboration

        assert await session.get(Collaboration, first) is not None

    free = await _create(client, tenant, "Free", accounts=[{"platform": "x", "handle": "free"}])
    resp = await client.delete(f"/v1/influencers/{free['id']}", headers=tenant.headers)
    assert resp.status_code == 204
    assert_problem(await client.get(f"/v1/influencers/{free['id']}", headers=tenant.headers), 404)
    async with sessionmaker() as session:
        left = await session.execute(
            select(func.count())
            .select_from(SocialAccount)
            .where(SocialAccount.handle == "free", SocialAccount.brand_id == tenant.brand_id)
        )
        assert left.scalar_one() == 0
    # The freed handle can be used again.
    await _add_account(client, tenant, busy["id"], platform="x", handle="free")


# ---------------------------------------------------------------------- conflicts
async def test_duplicate_handle_is_409_case_and_at_insensitive(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a = await _create(client, tenant, "A", accounts=[{"platform": "instagram", "handle": "Jane"}])
    b = await _create(client, tenant, "B")
    resp = await client.post(
        f"/v1/influencers/{b['id']}/accounts",
        headers=tenant.headers,
        json={"platform": "instagram", "handle": "@JANE"},
    )
    problem = assert_problem(resp, 409, field="body.handle")
    assert problem["type"].endswith("handle_taken") and problem["handle"] == "jane"

    resp = await client.post(
        "/v1/influencers",
        headers=tenant.headers,
        json={
            "name": "C",
            "accounts": [
                {"platform": "tiktok", "handle": "c"},
                {"platform": "instagram", "handle": "jane"},
            ],
        },
    )
    assert_problem(resp, 409, field="body.accounts.1.handle")
    resp = await client.post(
        "/v1/influencers",
        headers=tenant.headers,
        json={
            "name": "D",
            "accounts": [
                {"platform": "tiktok", "handle": "d"},
                {"platform": "tiktok", "handle": "@D"},
            ],
        },
    )
    assert_problem(resp, 422, field="body.accounts.1.handle")
    names = {
        i["name"]
        for i in (await client.get("/v1/influencers", headers=tenant.headers)).json()["items"]
    }
    assert names == {"A", "B"}  # nothing half-written

    # Another platform, or another brand, may use the same handle.
    await _add_account(client, tenant, b["id"], platform="tiktok", handle="jane")
    await _create(
        client, other_tenant, "Other", accounts=[{"platform": "instagram", "handle": "jane"}]
    )

    # Renaming onto a taken handle is a conflict too.
    tiktok = (await client.get(f"/v1/influencers/{b['id']}", headers=tenant.headers)).json()[
        "accounts"
    ][0]
    resp = await client.patch(
        f"/v1/influencers/{b['id']}/accounts/{tiktok['id']}",
        headers=tenant.headers,
        json={"platform": "instagram"},
    )
    assert_problem(resp, 409, field="body.handle")
    assert (
        len(
            (await client.get(f"/v1/influencers/{a['id']}", headers=tenant.headers)).json()[
                "accounts"
            ]
        )
        == 1
    )


async def test_duplicate_email_is_409(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _create(client, tenant, "A", email="same@example.com")
    resp = await client.post(
        "/v1/influencers", headers=tenant.headers, json={"name": "B", "email": "SAME@example.com"}
    )
    assert_problem(resp, 409, field="body.email")
    b = await _create(client, tenant, "B", email="b@example.com")
    resp = await client.patch(
        f"/v1/influencers/{b['id']}", headers=tenant.headers, json={"email": "Same@Example.com"}
    )
    assert_problem(resp, 409, field="body.email")


# --------------------------------------------------------------------- bad input
async def test_invalid_input_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    def acc(**over: Any) -> dict[str, Any]:
        return {"name": "X", "accounts": [{"platform": "instagram", "handle": "x", **over}]}

    cases: list[tuple[dict[str, Any], str]] = [
        (acc(audience_age={"18-24": 60, "25-34": 50}), "body.accounts.0.audience_age"),
        (acc(audience_age={"18-25": 10}), "body.accounts.0.audience_age"),
        (acc(audience_age={"18-24": 101}), "body.accounts.0.audience_age"),
        (acc(audience_age={"18-24": -1}), "body.accounts.0.audience_age"),
        (acc(audience_age=[1, 2]), "body.accounts.0.audience_age"),
        (acc(audience_gender={"female": 60, "male": 50}), "body.accounts.0.audience_gender"),
        (acc(audience_gender={"unknown": 5}), "body.accounts.0.audience_gender"),
        (acc(audience_countries={"XX": 5}), "body.accounts.0.audience_countries"),
        (acc(audience_countries={"DE": 70, "AT": 40}), "body.accounts.0.audience_countries"),
        (acc(audience_languages={"english": 5}), "body.accounts.0.audience_languages"),
        (acc(followers=-1), "body.accounts.0.followers"),
        (acc(followers=1.5), "body.accounts.0.followers"),
        (acc(platform="myspace"), "body.accounts.0.platform"),
        (acc(tier="micro"), "body.accounts.0.tier"),
        (acc(handle="ja ne"), "body.accounts.0.handle"),
        (acc(handle="@"), "body.accounts.0.handle"),
        (acc(sponsored_share_bps=10_001), "body.accounts.0.sponsored_share_bps"),
        (acc(posts_per_week=-2), "body.accounts.0.posts_per_week"),
        (acc(profile_url="javascript:alert(1)"), "body.accounts.0.profile_url"),
        ({"name": "X", "nickname": "x"}, "body.nickname"),
        ({"name": ""}, "body.name"),
        ({"name": "X", "country": "Germany"}, "body.country"),
        ({"name": "X", "languages": ["english"]}, "body.languages"),
        ({"name": "X", "email": "not-an-email"}, "body.email"),
        ({"name": "X", "status": "deleted"}, "body.status"),
        ({"name": "X", "rate_card": {"tweet": 100}, "rate_currency": "EUR"}, "body.rate_card"),
        ({"name": "X", "rate_card": {"reel": -100}, "rate_currency": "EUR"}, "body.rate_card"),
        ({"name": "X", "rate_card": {"reel": 100}}, "body.rate_currency"),
        ({"name": "X", "rate_card": {"reel": 100}, "rate_currency": "EURO"}, "body.rate_currency"),
    ]
    for payload, field in cases:
        resp = await client.post("/v1/influencers", headers=tenant.headers, json=payload)
        assert_problem(resp, 422, field=field)

    inf = await _create(client, tenant, accounts=[{"platform": "instagram", "handle": "ok"}])
    account_id = inf["accounts"][0]["id"]
    patches: list[tuple[str, dict[str, Any], str]] = [
        ("", {"name": None}, "body.name"),
        ("", {"niches": None}, "body.niches"),
        ("", {"rate_card": {"reel": 5}}, "body.rate_currency"),
        ("", {"max_followers": 5}, "body.max_followers"),
        (f"/accounts/{account_id}", {"followers": None}, "body.followers"),
        (f"/accounts/{account_id}", {"tier": "mega"}, "body.tier"),
        (
            f"/accounts/{account_id}",
            {"audience_age": {"55+": 80, "45-54": 30}},
            "body.audience_age",
        ),
        (f"/accounts/{account_id}", {"followers": -5}, "body.followers"),
    ]
    for suffix, payload, field in patches:
        resp = await client.patch(
            f"/v1/influencers/{inf['id']}{suffix}", headers=tenant.headers, json=payload
        )
        assert_problem(resp, 422, field=field)

    async with sessionmaker() as session:
        count = await session.execute(
            select(func.count())
            .select_from(Influencer)
            .where(Influencer.brand_id == tenant.brand_id)
        )
        assert count.scalar_one() == 1
        snaps = await session.execute(
            select(func.count())
            .select_from(FollowerSnapshot)
            .where(FollowerSnapshot.brand_id == tenant.brand_id)
        )
        assert snaps.scalar_one() == 1
    unchanged = (await client.get(f"/v1/influencers/{inf['id']}", headers=tenant.headers)).json()
    assert unchanged == inf


async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reader = bearer(await make_key(sessionmaker, tenant.brand_id, ["read"]))
    assert_problem(await client.post("/v1/influencers", headers=reader, json={"name": "X"}), 403)
    assert (await client.get("/v1/influencers", headers=reader)).status_code == 200


# ------------------------------------------------------------------------ tenancy
async def test_another_brands_ids_are_404_everywhere(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    mine = await _create(
        client, tenant, "Mine", accounts=[{"platform": "instagram", "handle": "mine"}]
    )
    sibling = await _create(
        client, tenant, "Sibling", accounts=[{"platform": "x", "handle": "sib"}]
    )
    theirs = await _create(
        client, other_tenant, "Theirs", accounts=[{"platform": "x", "handle": "t"}]
    )
    m, acc = mine["id"], mine["accounts"][0]["id"]
    sib_acc = sibling["accounts"][0]["id"]
    unknown = str(uuid.uuid4())
    o = other_tenant.headers

    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/v1/influencers/{m}", None),
        ("PATCH", f"/v1/influencers/{m}", {"name": "Stolen"}),
        ("DELETE", f"/v1/influencers/{m}", None),
        ("GET", f"/v1/influencers/{m}/accounts", None),
        ("POST", f"/v1/influencers/{m}/accounts", {"platform": "tiktok", "handle": "stolen"}),
        ("GET", f"/v1/influencers/{m}/accounts/{acc}", None),
        ("PATCH", f"/v1/influencers/{m}/accounts/{acc}", {"followers": 1}),
        ("DELETE", f"/v1/influencers/{m}/accounts/{acc}", None),
        ("GET", f"/v1/influencers/{m}/accounts/{acc}/follower-history", None),
        # Brand B's own influencer with brand A's account id.
        ("GET", f"/v1/influencers/{theirs['id']}/accounts/{acc}", None),
        ("PATCH", f"/v1/influencers/{theirs['id']}/accounts/{acc}", {"followers": 1}),
        ("DELETE", f"/v1/influencers/{theirs['id']}/accounts/{acc}", None),
        ("GET", f"/v1/influencers/{theirs['id']}/accounts/{acc}/follower-history", None),
    ]
    for method, url, body in calls:
        resp = await client.request(method, url, headers=o, json=body)
        assert_problem(resp, 404)
    # Within one brand, an account id under the wrong influencer is a 404 as well.
    for method, body in (("GET", None), ("PATCH", {"followers": 2}), ("DELETE", None)):
        resp = await client.request(
            method, f"/v1/influencers/{m}/accounts/{sib_acc}", headers=tenant.headers, json=body
        )
        assert_problem(resp, 404)
    resp = await client.get(
        f"/v1/influencers/{m}/accounts/{sib_acc}/follower-history", headers=tenant.headers
    )
    assert_problem(resp, 404)
    for method in ("GET", "DELETE"):
        resp = await client.request(method, f"/v1/influencers/{unknown}", headers=tenant.headers)
        assert_problem(resp, 404)
    assert_problem(
        await client.get("/v1/influencers/nope", headers=tenant.headers),
        422,
        field="path.influencer_id",
    )

    listed = (await client.get("/v1/influencers", headers=o)).json()["items"]
    assert [i["id"] for i in listed] == [theirs["id"]]
    assert (await client.get("/v1/influencers", headers=o, params={"q": "mine"})).json()[
        "items"
    ] == []
    again = (await client.get(f"/v1/influencers/{m}", headers=tenant.headers)).json()
    assert again == mine  # untouched


# ------------------------------------------------------------ filters and sorting
TIER_CASES = [
    (9_999, "nano"),
    (10_000, "micro"),
    (99_999, "micro"),
    (100_000, "macro"),
    (999_999, "macro"),
    (1_000_000, "mega"),
    (9_999_999, "mega"),
    (10_000_000, "celebrity"),
]


async def test_tier_boundaries_and_filters(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids: dict[int, str] = {}
    for i, (followers, tier) in enumerate(TIER_CASES):
        body = await _create(
            client,
            tenant,
            f"Creator {followers}",
            country="DE" if i % 2 else "FR",
            languages=["de"] if i % 2 else ["fr", "en"],
            niches=["running"] if i < 4 else ["food"],
            accounts=[
                {
                    "platform": "instagram" if i < 5 else "tiktok",
                    "handle": f"c_{followers}",
                    "followers": followers,
                }
            ],
        )
        assert body["accounts"][0]["tier"] == tier, (followers, body["accounts"][0]["tier"])
        ids[followers] = body["id"]
    archived = await client.patch(
        f"/v1/influencers/{ids[9_999]}", headers=tenant.headers, json={"status": "archived"}
    )
    assert archived.status_code == 200

    async def find(**params: Any) -> set[int]:
        resp = await client.get(
            "/v1/influencers", headers=tenant.headers, params={"limit": 200, **params}
        )
        assert resp.status_code == 200, resp.text
        found = {i["id"] for i in resp.json()["items"]}
        return {f for f, id_ in ids.items() if id_ in found}

    assert await find(tier="nano") == {9_999}
    assert await find(tier="micro") == {10_000, 99_999}
    assert await find(tier="macro") == {100_000, 999_999}
    assert await find(tier="mega") == {1_000_000, 9_999_999}
    assert await find(tier="celebrity") == {10_000_000}
    assert await find(min_followers=10_000, max_followers=999_999) == {
        10_000,
        99_999,
        100_000,
        999_999,
    }
    assert await find(min_followers=10_000_000) == {10_000_000}
    assert await find(platform="tiktok") == {1_000_000, 9_999_999, 10_000_000}
    # Account filters apply to the same account: no tiktok account is micro.
    assert await find(platform="tiktok", tier="micro") == set()
    assert await find(platform="instagram", tier="macro") == {100_000, 999_999}
    assert await find(platform="tiktok", tier="mega", max_followers=9_999_998) == {1_000_000}
    assert await find(niche="RUNNING") == {9_999, 10_000, 99_999, 100_000}
    assert await find(country="de") == {10_000, 100_000, 1_000_000, 10_000_000}
    assert await find(language="en") == {9_999, 99_999, 999_999, 9_999_999}
    assert await find(status="archived") == {9_999}
    assert await find(status="active") == set(ids) - {9_999}
    assert await find(q="REATOR 99999") == {99_999, 999_999, 9_999_999}
    assert await find(q="@C_10000000") == {10_000_000}
    assert await find(q="%") == set()
    assert await find(q="c_1", niche="food", platform="tiktok") == {1_000_000, 10_000_000}

    for params, field in (
        ({"tier": "giant"}, "query.tier"),
        ({"platform": "myspace"}, "query.platform"),
        ({"min_followers": -1}, "query.min_followers"),
        ({"min_followers": 10, "max_followers": 5}, "query.max_followers"),
        ({"country": "XX"}, "query.country"),
        ({"language": "xx"}, "query.language"),
        ({"sort": "name"}, "query.sort"),
        ({"status": "gone"}, "query.status"),
    ):
        resp = await client.get("/v1/influencers", headers=tenant.headers, params=params)
        assert_problem(resp, 422, field=field)


async def test_sorts_paginate_without_gaps_or_repeats(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    followers = [500, 70_000, 70_000, 3_000_000, 0, 12_000, 70_000]
    made: list[tuple[str, int]] = []
    for i, f in enumerate(followers):
        accounts = [] if f == 0 else [{"platform": "youtube", "handle": f"s{i}", "followers": f}]
        if i == 3:  # the max across accounts is the sort key
            accounts.append({"platform": "x", "handle": f"s{i}x", "followers": 10})
        body = await _create(client, tenant, f"S{i}", accounts=accounts)
        made.append((body["id"], f))

    async def walk(sort: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 3} | (
                {"cursor": cursor} if cursor else {}
            )
            body = (
                await client.get("/v1/influencers", headers=tenant.headers, params=params)
            ).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return seen

    by_followers = [id_ for id_, _ in sorted(made, key=lambda m: (m[1], m[0]))]
    assert await walk("followers") == by_followers
    assert await walk("-followers") == by_followers[::-1]
    created = [id_ for id_, _ in made]  # uuid7 ids follow creation order
    assert await walk("created") == created
    assert await walk("-created") == created[::-1]
    default = (await client.get("/v1/influencers", headers=tenant.headers)).json()["items"]
    assert [i["id"] for i in default] == created[::-1]


async def test_service_factory_builds_the_same_influencer(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    influencer_id = await make_influencer(
        sessionmaker,
        tenant.brand_id,
        "Factory",
        accounts=[{"platform": "twitch", "handle": "fac", "followers": 100_000}],
    )
    body = (await client.get(f"/v1/influencers/{influencer_id}", headers=tenant.headers)).json()
    assert body["max_followers"] == 100_000 and body["accounts"][0]["tier"] == "macro"
