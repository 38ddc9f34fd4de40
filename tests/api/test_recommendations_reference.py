"""Recommendations (scored from account_features) against a plain Python reference computed
from the source tables (social_accounts, influencers, account_signals, benchmarks), on a
roster crafted to reach every branch: partial age buckets, a gender the audience lacks,
empty distributions, missing and placeholder signals, the sponsored-share fallback, rate
cards in another currency, over budget or without the requested deliverable, several
accounts per influencer, ties, exclusions and filters; then again after writes to each
source table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.engagement.recommendations import (
    COST_GOOD,
    DEFAULT_WEIGHTS,
    NEUTRAL,
    SPONSORED_FREE,
    SPONSORED_SATURATED,
    Target,
    target_of,
)
from shared.engagement.signals import Benchmark, benchmarks_of
from shared.models import (
    AccountSignals,
    Campaign,
    Collaboration,
    Influencer,
    SocialAccount,
)
from shared.models.enums import DeliverableType
from tests.factories import Tenant

FULL = {
    "audience_age": {"18-24": 30, "25-34": 40, "35-44": 20, "45-54": 10},
    "audience_gender": {"female": 55, "male": 40, "other": 5},
    "audience_countries": {"DE": 50, "AT": 20, "US": 30},
    "audience_languages": {"de": 70, "en": 30},
}
TARGET = {
    "age_min": 20,  # 18-24 counts 5/7, 35-44 counts 6/10
    "age_max": 40,
    "genders": ["female", "other"],
    "countries": ["DE", "AT"],
    "languages": ["de"],
    "interests": ["running", "yoga"],
}


def _signals(er: float | None, auth: int | None, sponsored: float | None) -> dict[str, Any]:
    return {"engagement_rate": er, "authenticity_score": auth, "sponsored_share": sponsored}


# name: (influencer fields, [(account fields, signals or None)])
ROSTER: dict[str, tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any] | None]]]] = {
    "Alpha": (
        {"niches": ["running", "yoga"], "rate_card": {"post": 20_000, "reel": 45_000}},
        [
            ({"platform": "instagram", "followers": 40_000, **FULL}, _signals(0.05, 92, 0.08)),
            (
                {"platform": "tiktok", "followers": 150_000, "audience_age": {"18-24": 80}},
                _signals(0.12, 85, 0.2),
            ),
        ],
    ),
    "Bravo": (
        {"niches": ["yoga"], "rate_card": {"story": 5_000}},
        [
            (
                {
                    "platform": "instagram",
                    "followers": 8_000,
                    "sponsored_share_bps": 3_000,
                    "audience_gender": {"female": 90, "male": 10},
                    "audience_countries": {"AT": 50},
                },
                _signals(None, None, None),  # the recompute's placeholder
            )
        ],
    ),
    "Charlie": (
        {"niches": [], "rate_card": {"post": 80_000}, "rate_currency": "USD"},
        [({"platform": "youtube", "followers": 2_000_000, **FULL}, _signals(0.02, 70, 0.45))],
    ),
    "Delta": (
        {"niches": ["running"], "rate_card": {}},
        [({"platform": "x", "followers": 500}, None)],
    ),
    "Echo": (
        {"niches": ["running", "yoga"], "status": "archived"},
        [({"platform": "instagram", "followers": 90_000, **FULL}, _signals(0.2, 100, 0.0))],
    ),
    "Member": (
        {"niches": ["running", "yoga"], "rate_card": {"post": 1_000}},
        [({"platform": "instagram", "followers": 60_000, **FULL}, _signals(0.2, 100, 0.0))],
    ),
    "Foxtrot": (
        {"niches": ["running", "yoga", "cooking"], "rate_card": {"reel": 150_000}},
        [
            (
                {
                    "platform": "blog",
                    "followers": 20_000,
                    "audience_languages": {"de": 90, "en": 10},
                    "sponsored_share_bps": 9_000,
                },
                _signals(0.5, 100, 0.0),
            )
        ],
    ),
    # Two accounts scoring the same with the same followers: the smaller id is the best.
    "Golf": (
        {"niches": ["running"], "rate_card": {"post": 30_000}},
        [
            ({"platform": "instagram", "followers": 30_000, **FULL}, _signals(None, 80, 0.3)),
            ({"platform": "tiktok", "followers": 30_000, **FULL}, _signals(None, 80, 0.3)),
        ],
    ),
}


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, other: uuid.UUID
) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Yoga run",
            slug=f"yoga-{uuid.uuid4().hex[:8]}",
            goal="sales",
            currency="EUR",
            budget_minor=100_000,
            target_audience=TARGET,
        )
        session.add(campaign)
        for owner, roster in ((brand_id, ROSTER), (other, {"Alpha": ROSTER["Alpha"]})):
            for name, (fields, accounts) in roster.items():
                influencer = Influencer(
                    brand_id=owner,
                    name=name,
                    **{"rate_currency": "EUR" if fields.get("rate_card") else None, **fields},
                )
                session.add(influencer)
                await session.flush()
                for n, (account, signals) in enumerate(accounts):
                    row = SocialAccount(
                        brand_id=owner,
                        influencer_id=influencer.id,
                        handle=f"{name.lower()}{n}",
                        **account,
                    )
                    session.add(row)
                    await session.flush()
                    if signals is not None:
                        session.add(
                            AccountSignals(
                                account_id=row.id,
                                brand_id=owner,
                                computed_at=datetime.now(UTC),
                                **signals,
                            )
                        )
                if name == "Member" and owner == brand_id:
                    await session.flush()
                    session.add(
                        Collaboration(
                            brand_id=brand_id,
                            campaign_id=campaign.id,
                            influencer_id=influencer.id,
                            currency="EUR",
                        )
                    )
    return campaign.id


# ------------------------------------------------------------------------- the reference
def _capped(total: float) -> float:
    return min(1.0, total / 100.0)


def _components(
    a: SocialAccount,
    i: Influencer,
    s: AccountSignals | None,
    target: Target,
    benches: dict[tuple[str, str], Benchmark],
    currency: str,
    remaining: int | None,
    deliverable_type: str | None,
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if target.interests:
        out["niche"] = sum(t in i.niches for t in target.interests) / len(target.interests)
    dims: list[float | None] = []
    if target.age_weights:
        dims.append(
            _capped(sum(float(a.audience_age.get(b, 0)) * w for b, w in target.age_weights.items()))
            if a.audience_age
            else None
        )
    for distribution, keys in (
        (a.audience_gender, target.genders),
        (a.audience_countries, target.countries),
        (a.audience_languages, target.languages),
    ):
        if keys:
            dims.append(
                _capped(sum(float(distribution.get(k, 0)) for k in keys)) if distribution else None
            )
    known = [d for d in dims if d is not None]
    out["audience"] = sum(known) / len(known) if known else None
    er = s.engagement_rate if s else None
    bench = benches.get((a.platform, a.tier))
    if er is None or bench is None or not bench.rate > 0:
        out["engagement"] = None
    else:
        out["engagement"] = min(1.0, max(0.0, er / bench.rate / 2.0))
    auth = s.authenticity_score if s else None
    out["authenticity"] = None if auth is None else auth / 100.0
    sp = s.sponsored_share if s and s.sponsored_share is not None else None
    if sp is None and a.sponsored_share_bps is not None:
        sp = a.sponsored_share_bps / 10_000
    out["sponsored"] = (
        None
        if sp is None
        else 1.0
        - min(1.0, max(0.0, (sp - SPONSORED_FREE) / (SPONSORED_SATURATED - SPONSORED_FREE)))
    )
    if remaining is not None:
        listed = [i.rate_card[t.value] for t in DeliverableType if t.value in i.rate_card]
        price = i.rate_card.get(deliverable_type) if deliverable_type else min(listed, default=None)
        if i.rate_currency != currency or price is None:
            out["cost"] = None
        elif remaining <= 0:
            out["cost"] = 0.0
        else:
            out["cost"] = min(1.0, max(0.0, (remaining - price) / ((1 - COST_GOOD) * remaining)))
    return out


async def _reference(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    remaining: int | None,
    params: dict[str, Any],
) -> tuple[int, list[tuple[str, str, float, dict[str, float | None]]]]:
    """(accounts considered, [(influencer name, platform, score, components)] in order)."""
    async with sessionmaker() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        target = target_of(campaign)
        benches = await benchmarks_of(session, brand_id)
        members = set(
            (
                await session.execute(
                    select(Collaboration.influencer_id).where(
                        Collaboration.campaign_id == campaign_id
                    )
                )
            ).scalars()
        )
        rows = (
            await session.execute(
                select(SocialAccount, Influencer, AccountSignals)
                .join(Influencer, Influencer.id == SocialAccount.influencer_id)
                .outerjoin(AccountSignals, AccountSignals.account_id == SocialAccount.id)
                .where(SocialAccount.brand_id == brand_id)
            )
        ).all()
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in params.items():
        if key.startswith("weight_"):
            weights[key.removeprefix("weight_")] = float(value)
    scored = []
    for a, i, s in rows:
        if i.status != "active" or (i.id in members and not params.get("include_existing")):
            continue
        if params.get("platform") not in (None, a.platform):
            continue
        if params.get("tier") not in (None, a.tier):
            continue
        comps = _components(
            a,
            i,
            s,
            target,
            benches,
            campaign.currency,
            remaining,
            params.get("deliverable_type"),
        )
        used = [c for c in comps if weights[c] > 0]
        total = sum(weights[c] for c in used)
        prelim = sum(
            weights[c] / total * (NEUTRAL if comps[c] is None else comps[c])  # type: ignore[operator]
            for c in used
        )
        scored.append((prelim, a, i, comps))
    scored.sort(key=lambda x: (-x[0], -x[1].followers, str(x[1].id)))
    best: dict[uuid.UUID, tuple[float, SocialAccount, Influencer, dict[str, float | None]]] = {}
    for entry in scored:
        best.setdefault(entry[2].id, entry)
    ranked = sorted(
        best.values(), key=lambda x: (-round(100 * x[0], 1), -x[1].followers, str(x[1].id))
    )
    limit = int(params.get("limit", 20))
    return len(scored), [
        (i.name, a.platform, round(100 * prelim, 1), comps) for prelim, a, i, comps in ranked
    ][:limit]


async def _check(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    campaign_id: uuid.UUID,
    params: dict[str, Any],
) -> list[str]:
    resp = await client.get(
        f"/v1/campaigns/{campaign_id}/recommendations", headers=tenant.headers, params=params
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    considered, expected = await _reference(
        sessionmaker, tenant.brand_id, campaign_id, body["remaining_budget_minor"], params
    )
    assert body["candidates"] == considered, params
    got = [(item["name"], item["platform"]) for item in body["items"]]
    assert got == [(name, platform) for name, platform, _, _ in expected], params
    for item, (_, _, score, comps) in zip(body["items"], expected, strict=True):
        assert item["score"] == pytest.approx(score, abs=0.051), (params, item["name"])
        for name, value in comps.items():
            component = item["breakdown"][name]
            assert component["has_data"] is (value is not None), (params, item["name"], name)
            want = NEUTRAL if value is None else value
            assert component["value"] == pytest.approx(want, abs=1e-4), (item["name"], name)
    return [name for name, _ in got]


VARIANTS: list[dict[str, Any]] = [
    {},
    {"deliverable_type": "reel"},
    {"deliverable_type": "story"},
    {"include_existing": "true", "limit": 50},
    {"platform": "instagram"},
    {"tier": "micro"},
    {"weight_engagement": 3, "weight_authenticity": 2, "weight_cost": 0},
    {"weight_niche": 0, "weight_audience": 1, "weight_engagement": 0, "weight_cost": 0},
    {"limit": 3},
]


async def test_ranking_matches_a_reference_computed_from_the_source_tables(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    campaign_id = await _seed(sessionmaker, tenant.brand_id, other_tenant.brand_id)
    for params in VARIANTS:
        await _check(client, sessionmaker, tenant, campaign_id, params)
    names = await _check(client, sessionmaker, tenant, campaign_id, {})
    assert "Echo" not in names and "Member" not in names  # archived; in the campaign
    assert len(names) == len(set(names))  # one account per influencer

    # Writes to each source table: the ranking follows (for another target, too).
    async with sessionmaker() as session, session.begin():
        ids = {
            i.name: i.id
            for i in (
                await session.execute(
                    select(Influencer).where(Influencer.brand_id == tenant.brand_id)
                )
            ).scalars()
        }
        await session.execute(
            update(Influencer)
            .where(Influencer.id.in_([ids["Bravo"], ids["Delta"]]))
            .values(niches=["running", "yoga"], rate_card={"post": 1_000}, rate_currency="EUR")
        )
        await session.execute(
            update(Influencer).where(Influencer.id == ids["Echo"]).values(status="active")
        )
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.influencer_id.in_([ids["Delta"], ids["Golf"]]))
            .values(followers=SocialAccount.followers * 7, **FULL)
        )
        await session.execute(
            update(AccountSignals)
            .where(AccountSignals.brand_id == tenant.brand_id)
            .values(engagement_rate=AccountSignals.authenticity_score / 1000.0)
        )
        # And another target: other keys, an open-ended age range, more than one language.
        await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(
                target_audience={
                    "age_min": 30,
                    "genders": ["male", "other"],
                    "countries": ["US"],
                    "languages": ["en", "de"],
                    "interests": ["cooking"],
                }
            )
        )
    for params in VARIANTS:
        await _check(client, sessionmaker, tenant, campaign_id, params)
