"""account_features follows every write to its sources (migration 0011's triggers): accounts
created and updated (through the API and in bulk), influencers updated and deleted, signals
inserted and updated, accounts deleted; in the writer's transaction, without rewriting rows
that did not change, and without a lost update when two transactions change different
inputs of one account."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.influencers import rules
from shared.models import AccountFeatures, AccountSignals, Influencer, SocialAccount
from shared.models.enums import DeliverableType
from tests.factories import Tenant, make_influencer, recompute_signals

AUDIENCE = {
    "audience_age": {"13-17": 1, "18-24": 2, "25-34": 3, "35-44": 4, "45-54": 5, "55+": 6},
    "audience_gender": {"female": 60, "male": 30.5, "other": 9.5},
    "audience_countries": {"DE": 61, "AT": 14},
    "audience_languages": {"de": 82},
}


async def _features(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> dict[str, Any] | None:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(AccountFeatures).where(AccountFeatures.account_id == account_id)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in AccountFeatures.__mapper__.column_attrs}


async def _xmin(sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID) -> str:
    async with sessionmaker() as session:
        value = (
            await session.execute(
                text("SELECT xmin::text FROM account_features WHERE account_id = :a"),
                {"a": account_id},
            )
        ).scalar_one()
        return str(value)


async def _accounts(
    sessionmaker: async_sessionmaker[AsyncSession], influencer_id: uuid.UUID
) -> list[uuid.UUID]:
    async with sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(SocialAccount.id)
                    .where(SocialAccount.influencer_id == influencer_id)
                    .order_by(SocialAccount.platform)
                )
            ).scalars()
        )


async def _creator(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, name: str, **fields: Any
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    accounts = fields.pop(
        "accounts",
        [
            {"platform": "instagram", "handle": f"{name}.ig", "followers": 5_000, **AUDIENCE},
            {"platform": "tiktok", "handle": f"{name}.tt", "followers": 120_000},
        ],
    )
    influencer_id = await make_influencer(
        sessionmaker,
        brand_id,
        name,
        niches=["running", "yoga"],
        rate_card={"post": 30_000, "reel": 50_000, "story": 12_000},
        rate_currency="EUR",
        accounts=accounts,
        **fields,
    )
    return influencer_id, await _accounts(sessionmaker, influencer_id)


async def test_a_new_account_gets_its_features_in_the_layout_the_scoring_reads(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    influencer_id, (ig, tt) = await _creator(sessionmaker, tenant.brand_id, "layout")
    f = await _features(sessionmaker, ig)
    assert f is not None
    assert f["brand_id"] == tenant.brand_id and f["influencer_id"] == influencer_id
    assert f["active"] is True and f["platform"] == "instagram"
    assert f["tier"] == "nano" and f["followers"] == 5_000
    assert f["niches"] == ["running", "yoga"] and f["rate_currency"] == "EUR"
    # Prices in DeliverableType order, NULL where the rate card lists none; the cheapest.
    card = {"post": 30_000, "reel": 50_000, "story": 12_000}
    assert f["prices"] == [card.get(t.value) for t in DeliverableType]
    assert f["price_min"] == 12_000
    # Shares in the bucket and gender order of shared/influencers/rules.py.
    assert rules.AGE_BUCKETS == ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
    assert f["age"] == [1, 2, 3, 4, 5, 6]
    assert rules.GENDERS == ("female", "male", "other")
    assert f["gender"] == [60, 30.5, 9.5]
    assert f["countries"] == {"DE": 61, "AT": 14} and f["languages"] == {"de": 82}
    assert f["engagement_rate"] is None and f["authenticity_score"] is None
    assert f["sponsored_share"] is None

    # Empty distributions are NULL, not zeros: "no data" is neutral, 0% is not.
    blank = await _features(sessionmaker, tt)
    assert blank is not None and blank["tier"] == "macro"
    assert blank["age"] is None and blank["gender"] is None
    assert blank["countries"] is None and blank["languages"] is None


async def test_account_updates_through_the_api_follow(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    influencer_id, (ig, _) = await _creator(sessionmaker, tenant.brand_id, "acct")
    resp = await client.patch(
        f"/v1/influencers/{influencer_id}/accounts/{ig}",
        headers=tenant.headers,
        json={
            "followers": 50_000,
            "sponsored_share_bps": 2_500,
            "audience_age": {"18-24": 40},
            "audience_gender": {},
            "audience_countries": {"FR": 30},
        },
    )
    assert resp.status_code == 200, resp.text
    f = await _features(sessionmaker, ig)
    assert f is not None
    assert f["followers"] == 50_000 and f["tier"] == "micro"
    assert f["sponsored_share"] == 0.25  # no signals yet: the account's own share
    assert f["age"] == [0, 40, 0, 0, 0, 0]  # missing buckets read as 0
    assert f["gender"] is None
    assert f["countries"] == {"FR": 30} and f["languages"] == {"de": 82}

    # A column the features do not read changes nothing: the row is not rewritten.
    before = await _xmin(sessionmaker, ig)
    resp = await client.patch(
        f"/v1/influencers/{influencer_id}/accounts/{ig}",
        headers=tenant.headers,
        json={"profile_url": "https://instagram.com/acct"},
    )
    assert resp.status_code == 200, resp.text
    assert await _xmin(sessionmaker, ig) == before


async def test_influencer_updates_reach_all_its_accounts(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    influencer_id, accounts = await _creator(sessionmaker, tenant.brand_id, "infl")
    url = f"/v1/influencers/{influencer_id}"
    resp = await client.patch(
        url,
        headers=tenant.headers,
        json={
            "niches": ["Cooking"],
            "rate_card": {"video": 90_000, "blog": 70_000},
            "rate_currency": "USD",
            "status": "archived",
        },
    )
    assert resp.status_code == 200, resp.text
    for account_id in accounts:
        f = await _features(sessionmaker, account_id)
        assert f is not None
        assert f["niches"] == ["cooking"] and f["rate_currency"] == "USD"
        assert f["prices"][list(DeliverableType).index(DeliverableType.VIDEO)] == 90_000
        assert f["prices"][list(DeliverableType).index(DeliverableType.POST)] is None
        assert f["price_min"] == 70_000
        assert f["active"] is False

    resp = await client.patch(url, headers=tenant.headers, json={"status": "active"})
    assert resp.status_code == 200, resp.text
    for account_id in accounts:
        f = await _features(sessionmaker, account_id)
        assert f is not None and f["active"] is True

    # Only the notes changed: no features row is rewritten.
    before = [await _xmin(sessionmaker, a) for a in accounts]
    resp = await client.patch(url, headers=tenant.headers, json={"notes": "met at a fair"})
    assert resp.status_code == 200, resp.text
    assert [await _xmin(sessionmaker, a) for a in accounts] == before


async def test_signals_inserted_and_updated_follow(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    _, (ig, tt) = await _creator(
        sessionmaker,
        tenant.brand_id,
        "sig",
        accounts=[
            {"platform": "instagram", "handle": "sig.ig", "followers": 20_000},
            {
                "platform": "tiktok",
                "handle": "sig.tt",
                "followers": 20_000,
                "sponsored_share_bps": 1_234,
            },
        ],
    )
    # The worker's recompute: a placeholder signals row, then its values (no posts: no rate,
    # no score, no share). The account's own sponsored share stays the fallback.
    await recompute_signals(sessionmaker, tt)
    f = await _features(sessionmaker, tt)
    assert f is not None and f["sponsored_share"] == 1_234 / 10_000
    assert f["engagement_rate"] is None and f["authenticity_score"] is None

    async with sessionmaker() as session, session.begin():
        session.add(
            AccountSignals(
                account_id=ig,
                brand_id=tenant.brand_id,
                computed_at=datetime.now(UTC),
                engagement_rate=0.051,
                authenticity_score=88,
                sponsored_share=0.2,
            )
        )
    f = await _features(sessionmaker, ig)
    assert f is not None
    assert (f["engagement_rate"], f["authenticity_score"], f["sponsored_share"]) == (
        0.051,
        88,
        0.2,
    )

    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(AccountSignals)
            .where(AccountSignals.account_id.in_([ig, tt]))
            .values(engagement_rate=0.07, authenticity_score=60, sponsored_share=None)
        )
    f = await _features(sessionmaker, ig)
    assert f is not None
    assert (f["engagement_rate"], f["authenticity_score"], f["sponsored_share"]) == (
        0.07,
        60,
        None,
    )
    f = await _features(sessionmaker, tt)
    assert f is not None
    assert (f["engagement_rate"], f["authenticity_score"], f["sponsored_share"]) == (
        0.07,
        60,
        0.1234,  # the signals' share is unknown: the account's own again
    )


async def test_one_statement_updating_many_accounts_updates_all_their_features(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant, other_tenant: Tenant
) -> None:
    ids = []
    for n in range(3):
        _, accounts = await _creator(sessionmaker, tenant.brand_id, f"bulk{n}")
        ids += accounts
    _, theirs = await _creator(sessionmaker, other_tenant.brand_id, "bulkother")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.brand_id == tenant.brand_id)
            .values(followers=SocialAccount.followers * 100)
        )
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    SocialAccount.id,
                    SocialAccount.brand_id,
                    SocialAccount.followers,
                    SocialAccount.tier,
                    AccountFeatures.brand_id,
                    AccountFeatures.followers,
                    AccountFeatures.tier,
                )
                .join(AccountFeatures, AccountFeatures.account_id == SocialAccount.id)
                .where(SocialAccount.id.in_(ids + theirs))
            )
        ).all()
    assert len(rows) == 8
    for _, brand, followers, tier, f_brand, f_followers, f_tier in rows:
        assert (f_brand, f_followers, f_tier) == (brand, followers, tier)
    mine = {r[0]: r for r in rows if r[1] == tenant.brand_id}
    assert {r[3] for r in mine.values()} == {"macro", "celebrity"}  # 500k and 12M
    assert {r[2] for r in rows if r[1] == other_tenant.brand_id} == {5_000, 120_000}


async def test_rows_go_with_their_account_and_influencer(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    influencer_id, (ig, tt) = await _creator(sessionmaker, tenant.brand_id, "gone")
    resp = await client.delete(
        f"/v1/influencers/{influencer_id}/accounts/{ig}", headers=tenant.headers
    )
    assert resp.status_code == 204, resp.text
    assert await _features(sessionmaker, ig) is None
    assert await _features(sessionmaker, tt) is not None
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Influencer).where(Influencer.id == influencer_id))
    assert await _features(sessionmaker, tt) is None


async def test_concurrent_changes_to_different_inputs_are_both_kept(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """A signals write waits for a concurrent influencer edit of the same account and then
    computes from its committed niches (computing before the wait would lose them)."""
    influencer_id, (ig, _) = await _creator(sessionmaker, tenant.brand_id, "race")
    async with sessionmaker() as session, session.begin():
        session.add(AccountSignals(account_id=ig, brand_id=tenant.brand_id, engagement_rate=0.01))

    edit = sessionmaker()
    await edit.begin()
    await edit.execute(
        update(Influencer).where(Influencer.id == influencer_id).values(niches=["trail"])
    )

    async def signals() -> None:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(AccountSignals)
                .where(AccountSignals.account_id == ig)
                .values(engagement_rate=0.09)
            )

    task = asyncio.create_task(signals())
    await asyncio.sleep(0.5)
    assert not task.done()  # waiting for the edit's lock on the features row
    await edit.commit()
    await edit.close()
    await asyncio.wait_for(task, 10)
    f = await _features(sessionmaker, ig)
    assert f is not None
    assert f["niches"] == ["trail"] and f["engagement_rate"] == 0.09
