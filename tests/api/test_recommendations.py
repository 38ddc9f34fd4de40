"""Campaign-fit recommendations on a crafted roster: the order, each component of the
breakdown (hand-computed), weight overrides, exclusions and cross-brand 404s."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import (
    AccountSignals,
    Campaign,
    Collaboration,
    Deliverable,
    Influencer,
    Order,
    SocialAccount,
)
from tests.factories import Tenant, make_integration
from tests.problems import assert_problem

AUDIENCE = {
    "audience_age": {"13-17": 5, "18-24": 60, "25-34": 30},
    "audience_gender": {"female": 80, "male": 20},
    "audience_countries": {"DE": 70, "AT": 10},
}
TARGET = {
    "age_min": 18,
    "age_max": 24,
    "genders": ["female"],
    "countries": ["DE"],
    "interests": ["running", "fitness"],
}


async def _creator(
    session: AsyncSession,
    brand_id: uuid.UUID,
    name: str,
    *,
    followers: int,
    niches: list[str],
    audience: dict[str, Any] | None = None,
    signals: dict[str, Any] | None = None,
    rate: int | None = None,
    status: str = "active",
) -> uuid.UUID:
    influencer = Influencer(
        brand_id=brand_id,
        name=name,
        niches=niches,
        status=status,
        rate_card={"post": rate, "reel": rate * 2} if rate else {},
        rate_currency="USD" if rate else None,
    )
    session.add(influencer)
    await session.flush()
    account = SocialAccount(
        brand_id=brand_id,
        influencer_id=influencer.id,
        platform="instagram",
        handle=name.lower(),
        followers=followers,
        **(audience or {}),
    )
    session.add(account)
    await session.flush()
    if signals is not None:
        session.add(
            AccountSignals(
                account_id=account.id,
                brand_id=brand_id,
                sample_size=12,
                computed_at=datetime.now(UTC),
                **signals,
            )
        )
    return influencer.id


async def _roster(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID
) -> dict[str, Any]:
    shop = await make_integration(sessionmaker, brand_id, "custom")
    ids: dict[str, Any] = {}
    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Spring run",
            slug=f"spring-{uuid.uuid4().hex[:8]}",
            goal="sales",
            currency="USD",
            budget_minor=100_000,
            target_audience=TARGET,
        )
        earlier = Campaign(
            brand_id=brand_id,
            name="Winter",
            slug=f"winter-{uuid.uuid4().hex[:8]}",
            goal="sales",
            currency="USD",
        )
        session.add_all([campaign, earlier])
        await session.flush()
        ids["campaign"] = campaign.id
        ids["A"] = await _creator(
            session,
            brand_id,
            "Ideal",
            followers=50_000,
            niches=["running", "fitness"],
            audience=AUDIENCE,
            rate=20_000,
            signals={"engagement_rate": 0.078, "authenticity_score": 95, "sponsored_share": 0.05},
        )
        ids["B"] = await _creator(
            session,
            brand_id,
            "Cook",
            followers=40_000,
            niches=["cooking"],
            audience=AUDIENCE,
            rate=90_000,
            signals={"engagement_rate": 0.039, "authenticity_score": 90, "sponsored_share": 0.3},
        )
        ids["G"] = await _creator(
            session,
            brand_id,
            "Proven",
            followers=45_000,
            niches=["cooking"],
            audience=AUDIENCE,
            rate=90_000,
            signals={"engagement_rate": 0.039, "authenticity_score": 90, "sponsored_share": 0.3},
        )
        ids["C"] = await _creator(
            session,
            brand_id,
            "Fake",
            followers=60_000,
            niches=["running"],
            audience={
                "audience_age": {"18-24": 10, "35-44": 90},
                "audience_gender": {"female": 50, "male": 50},
                "audience_countries": {"DE": 20, "US": 80},
            },
            signals={"engagement_rate": 0.005, "authenticity_score": 40, "sponsored_share": 0.6},
        )
        ids["D"] = await _creator(session, brand_id, "Blank", followers=30_000, niches=[])
        ids["E"] = await _creator(
            session,
            brand_id,
            "Member",
            followers=55_000,
            niches=["running", "fitness"],
            audience=AUDIENCE,
            rate=20_000,
            signals={"engagement_rate": 0.078, "authenticity_score": 95, "sponsored_share": 0.05},
        )
        ids["F"] = await _creator(
            session,
            brand_id,
            "Archived",
            followers=70_000,
            niches=["running", "fitness"],
            audience=AUDIENCE,
            status="archived",
            signals={"engagement_rate": 0.078, "authenticity_score": 95, "sponsored_share": 0.05},
        )
        session.add(
            Collaboration(
                brand_id=brand_id, campaign_id=campaign.id, influencer_id=ids["E"], currency="USD"
            )
        )
        # G worked with the brand before: fee 10,000; 5 orders of 10,000 (CPO 2,000 = 20% of
        # the average order: full marks); 2 of 2 deliverables published.
        past = Collaboration(
            brand_id=brand_id,
            campaign_id=earlier.id,
            influencer_id=ids["G"],
            currency="USD",
            status="completed",
            flat_fee_minor=10_000,
        )
        session.add(past)
        await session.flush()
        for _n in range(2):
            session.add(
                Deliverable(
                    brand_id=brand_id,
                    collaboration_id=past.id,
                    type="post",
                    platform="instagram",
                    status="published",
                )
            )
        now = datetime.now(UTC)
        for _n in range(5):
            session.add(
                Order(
                    brand_id=brand_id,
                    integration_id=shop.id,
                    source="orders",
                    external_order_id=f"o-{uuid.uuid4().hex}",
                    status="paid",
                    currency="USD",
                    subtotal_minor=10_000,
                    total_minor=11_000,
                    placed_at=now,
                    source_updated_at=now,
                    collaboration_id=past.id,
                    campaign_id=earlier.id,
                    influencer_id=ids["G"],
                )
            )
    return ids


def _names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["items"]]


async def test_ranking_and_breakdown_on_a_crafted_roster(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    ids = await _roster(sessionmaker, tenant.brand_id)
    resp = await client.get(
        f"/v1/campaigns/{ids['campaign']}/recommendations", headers=tenant.headers
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # E is in the campaign already, F is archived.
    assert _names(body) == ["Ideal", "Proven", "Cook", "Blank", "Fake"]
    assert body["not_applicable"] == {} and body["remaining_budget_minor"] == 100_000
    assert body["candidates"] == 5
    scores = {i["name"]: i["score"] for i in body["items"]}
    # Hand-computed: weights 0.2/0.25/0.2/0.15/0.05/0.05 over 0.9 (no past performance).
    assert scores["Ideal"] == pytest.approx(
        100 * (0.2 + 0.25 * 0.7 + 0.2 + 0.15 * 0.95 + 0.05 + 0.05) / 0.9, abs=0.05
    )
    cook = 0.25 * 0.7 + 0.2 * 0.5 + 0.15 * 0.9 + 0.05 * 0.5 + 0.05 * (10_000 / 75_000)
    assert scores["Cook"] == pytest.approx(100 * cook / 0.9, abs=0.05)
    # Proven = Cook + past performance 1.0 at weight 0.1 (weights now over 1.0).
    assert scores["Proven"] == pytest.approx(100 * (cook + 0.1), abs=0.05)
    assert scores["Blank"] == pytest.approx(
        100 * (0.25 + 0.2 + 0.15 + 0.05 + 0.05) * 0.5 / 0.9, abs=0.05
    )
    fake = (
        0.2 * 0.5
        + 0.25 * (0.1 + 0.5 + 0.2) / 3
        + 0.2 * (0.005 / 0.039 / 2)
        + 0.15 * 0.4
        + 0.05 * 0.5
    )
    assert scores["Fake"] == pytest.approx(100 * fake / 0.9, abs=0.05)

    ideal = body["items"][0]["breakdown"]
    assert ideal["niche"]["value"] == 1.0
    assert ideal["niche"]["detail"] == "matches 2 of 2 target interests: running, fitness"
    assert ideal["audience"]["value"] == pytest.approx(0.7)
    assert ideal["audience"]["detail"] == "audience 60.0% aged 18-24, 80.0% female, 70.0% in DE"
    assert ideal["engagement"]["value"] == 1.0 and "2.00x" in ideal["engagement"]["detail"]
    assert ideal["authenticity"]["value"] == 0.95
    assert ideal["sponsored"]["value"] == 1.0
    assert ideal["cost"]["value"] == 1.0 and "20000" in ideal["cost"]["detail"]
    assert ideal["past_performance"]["value"] is None and ideal["past_performance"]["weight"] == 0
    assert sum(c["points"] for c in ideal.values()) == pytest.approx(scores["Ideal"], abs=0.05)
    assert sum(c["weight"] for c in ideal.values()) == pytest.approx(1.0, abs=0.001)

    proven = body["items"][1]["breakdown"]["past_performance"]
    assert proven["value"] == 1.0 and proven["has_data"] is True
    assert "1 earlier collaboration" in proven["detail"]
    assert "2 of 2 deliverables published" in proven["detail"]
    blank = body["items"][3]["breakdown"]
    assert blank["niche"]["value"] == 0.0
    assert blank["engagement"]["has_data"] is False and blank["engagement"]["value"] == 0.5
    fake_breakdown = body["items"][4]["breakdown"]
    assert fake_breakdown["sponsored"]["value"] == 0.0
    assert fake_breakdown["cost"]["has_data"] is False


async def test_weights_existing_members_and_filters(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    ids = await _roster(sessionmaker, tenant.brand_id)
    url = f"/v1/campaigns/{ids['campaign']}/recommendations"
    only_auth = {
        "weight_niche": 0,
        "weight_audience": 0,
        "weight_engagement": 0,
        "weight_sponsored": 0,
        "weight_past_performance": 0,
        "weight_cost": 0,
        "weight_authenticity": 1,
    }
    body = (await client.get(url, headers=tenant.headers, params=only_auth)).json()
    # Authenticity alone: 95, 90 (Proven, more followers than Cook), 90, neutral 50, 40.
    assert _names(body) == ["Ideal", "Proven", "Cook", "Blank", "Fake"]
    assert [i["score"] for i in body["items"]] == [95.0, 90.0, 90.0, 50.0, 40.0]
    assert body["weights"]["authenticity"] == 1.0 and body["weights"]["niche"] == 0.0

    body = (
        await client.get(
            url, headers=tenant.headers, params={"include_existing": "true", "limit": 2}
        )
    ).json()
    assert _names(body) == ["Member", "Ideal"]  # same score, more followers first
    assert body["items"][0]["in_campaign"] is True

    resp = await client.get(url, headers=tenant.headers, params={"weight_niche": -1})
    assert_problem(resp, 422, field="query.weight_niche")
    zero = {k: 0 for k in only_auth}
    assert_problem(await client.get(url, headers=tenant.headers, params=zero), 422)
    body = (await client.get(url, headers=tenant.headers, params={"platform": "tiktok"})).json()
    assert body["items"] == []


async def test_components_without_campaign_data_are_not_applicable(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    ids = await _roster(sessionmaker, tenant.brand_id)
    async with sessionmaker() as session, session.begin():
        bare = Campaign(
            brand_id=tenant.brand_id,
            name="Bare",
            slug=f"bare-{uuid.uuid4().hex[:8]}",
            goal="awareness",
            currency="USD",
        )
        session.add(bare)
    body = (
        await client.get(f"/v1/campaigns/{bare.id}/recommendations", headers=tenant.headers)
    ).json()
    assert set(body["not_applicable"]) == {"niche", "audience", "cost"}
    assert body["weights"]["niche"] == 0.0
    top = body["items"][0]
    assert top["breakdown"]["cost"]["value"] is None
    assert top["breakdown"]["cost"]["detail"].startswith("not applicable")
    assert ids["campaign"] != bare.id


async def test_other_brands_campaign_is_404(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    ids = await _roster(sessionmaker, tenant.brand_id)
    resp = await client.get(
        f"/v1/campaigns/{ids['campaign']}/recommendations", headers=other_tenant.headers
    )
    assert_problem(resp, 404)
    resp = await client.get(f"/v1/campaigns/{uuid.uuid4()}/recommendations", headers=tenant.headers)
    assert_problem(resp, 404)
