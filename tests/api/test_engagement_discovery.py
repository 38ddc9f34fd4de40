"""Discovery: accounts filtered by engagement rate, authenticity and audience shares, sorted
by the signals, keyset-paginated, brand-scoped."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import AccountSignals, Influencer, SocialAccount
from tests.factories import Tenant
from tests.problems import assert_problem


async def _roster(sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID) -> None:
    rows: list[tuple[str, float | None, int | None, dict[str, Any]]] = [
        (
            "young.de",
            0.05,
            90,
            {"age": {"18-24": 55}, "countries": {"DE": 70}, "gender": {"female": 70}},
        ),
        (
            "older.de",
            0.04,
            80,
            {"age": {"18-24": 20, "35-44": 60}, "countries": {"DE": 60}, "gender": {"male": 60}},
        ),
        (
            "young.us",
            0.02,
            60,
            {"age": {"18-24": 45}, "countries": {"US": 80}, "gender": {"female": 55}},
        ),
        (
            "lowauth",
            0.09,
            30,
            {"age": {"18-24": 70}, "countries": {"DE": 90}, "gender": {"female": 90}},
        ),
        ("nodata", None, None, {}),
    ]
    async with sessionmaker() as session, session.begin():
        influencer = Influencer(brand_id=brand_id, name="Discovery", niches=["running"])
        session.add(influencer)
        await session.flush()
        for handle, rate, auth, aud in rows:
            account = SocialAccount(
                brand_id=brand_id,
                influencer_id=influencer.id,
                platform="instagram",
                handle=handle,
                followers=20_000,
                audience_age=aud.get("age", {}),
                audience_countries=aud.get("countries", {}),
                audience_gender=aud.get("gender", {}),
            )
            session.add(account)
            await session.flush()
            session.add(
                AccountSignals(
                    account_id=account.id,
                    brand_id=brand_id,
                    engagement_rate=rate,
                    authenticity_score=auth,
                    sample_size=12 if rate is not None else 0,
                )
            )


def _handles(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [i["handle"] for i in resp.json()["items"]]


async def test_discovery_filters_and_sorts(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    await _roster(sessionmaker, tenant.brand_id)
    get = lambda **p: client.get("/v1/discovery/accounts", headers=tenant.headers, params=p)  # noqa: E731
    assert _handles(await get()) == ["lowauth", "young.de", "older.de", "young.us", "nodata"]
    assert _handles(await get(sort="authenticity")) == [
        "nodata",
        "lowauth",
        "young.us",
        "older.de",
        "young.de",
    ]
    assert _handles(await get(min_engagement_rate=0.03, min_authenticity=50)) == [
        "young.de",
        "older.de",
    ]
    # At least 40% of the audience aged 18-24.
    assert _handles(await get(audience_age="18-24", min_age_share=40)) == [
        "lowauth",
        "young.de",
        "young.us",
    ]
    assert _handles(
        await get(
            audience_country="de",
            min_country_share=65,
            audience_gender="female",
            min_gender_share=60,
        )
    ) == ["lowauth", "young.de"]
    assert _handles(await get(niche="Running", max_engagement_rate=0.045)) == [
        "older.de",
        "young.us",
    ]

    first = await get(limit=2, sort="-authenticity")
    assert _handles(first) == ["young.de", "older.de"]
    second = await get(limit=2, sort="-authenticity", cursor=first.json()["next_cursor"])
    assert _handles(second) == ["young.us", "lowauth"]
    item = first.json()["items"][0]
    assert item["influencer_name"] == "Discovery" and item["audience_countries"] == {"DE": 70}
    assert item["authenticity"]["score"] == 90 and item["engagement_rate"] == 0.05

    assert _handles(await client.get("/v1/discovery/accounts", headers=other_tenant.headers)) == []
    assert_problem(await get(audience_age="18-25"), 422, field="query.audience_age")
    assert_problem(await get(min_authenticity=101), 422, field="query.min_authenticity")


async def test_influencer_list_takes_the_signal_and_audience_filters(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    async with sessionmaker() as session, session.begin():
        for name, rate, young in (("Young Runner", 0.05, 55), ("Older Runner", 0.02, 20)):
            influencer = Influencer(brand_id=tenant.brand_id, name=name)
            session.add(influencer)
            await session.flush()
            account = SocialAccount(
                brand_id=tenant.brand_id,
                influencer_id=influencer.id,
                platform="instagram",
                handle=name.lower().replace(" ", "."),
                followers=20_000,
                audience_age={"18-24": young},
            )
            session.add(account)
            await session.flush()
            session.add(
                AccountSignals(
                    account_id=account.id,
                    brand_id=tenant.brand_id,
                    engagement_rate=rate,
                    authenticity_score=80,
                )
            )

    async def names(headers: dict[str, str] | None = None, **params: Any) -> list[str]:
        resp = await client.get("/v1/influencers", headers=headers or tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return sorted(i["name"] for i in resp.json()["items"])

    assert await names() == ["Older Runner", "Young Runner"]
    assert await names(audience_age="18-24", min_age_share=40) == ["Young Runner"]
    assert await names(min_engagement_rate=0.04, min_authenticity=70) == ["Young Runner"]
    # The engagement filters apply to the same one account as platform/tier/followers.
    assert await names(min_engagement_rate=0.04, platform="tiktok") == []
    assert await names(min_engagement_rate=0.01, max_engagement_rate=0.03) == ["Older Runner"]
    assert await names(other_tenant.headers, min_engagement_rate=0.01) == []
