"""Quality signals: each formula on hand-computed examples, every authenticity reason, the
benchmarks (defaults vs roster medians), and the recompute jobs (stale versions, sweeper)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.jobs.engagement import (
    recompute_account_signals,
    refresh_engagement_benchmarks,
    sweep_stale_signals,
)
from shared.config import Settings
from shared.engagement import sentiment
from shared.engagement.signals import (
    DEFAULT_BENCHMARKS,
    Benchmark,
    PostSample,
    SignalInputs,
    benchmark_for,
    default_benchmark,
    derive,
    engagement_rate,
    engagement_rate_by_views,
    is_stale,
    normalise_comment,
    select_sample,
)
from shared.models import AccountSignals, Influencer, SocialAccount
from tests.factories import (
    Tenant,
    deliver_engagement,
    engagement_post,
    make_influencer,
    make_integration,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
MICRO_IG = default_benchmark("instagram", "micro")


def day(n: int) -> datetime:
    """`n` days before NOW."""
    return NOW - timedelta(days=n)


def inputs(**kw: Any) -> SignalInputs:
    base: dict[str, Any] = {
        "platform": "instagram",
        "followers": 20_000,
        "posts": [],
        "follower_history": [],
        "post_times": [],
        "comment_texts": [],
        "benchmark": MICRO_IG,
        "now": NOW,
    }
    base.update(kw)
    return SignalInputs(**base)


def healthy_posts(n: int = 5, **kw: Any) -> list[PostSample]:
    """`n` posts a day apart at 4% engagement on 20,000 followers, 2% comments per like."""
    return [
        PostSample(
            posted_at=day(i + 1),
            content_type="post",
            likes=700,
            comments=14,
            shares=40,
            saves=46,
            followers_at_time=20_000,
            **kw,
        )
        for i in range(n)
    ]


# ------------------------------------------------------------------------------ formulas
def test_engagement_rate_by_followers_at_the_time() -> None:
    posts = [
        # (300 + 20 + 10 + 20) / 10,000 = 0.035
        PostSample(
            day(1), "reel", likes=300, comments=20, shares=10, saves=20, followers_at_time=10_000
        ),
        # (150 + 10) / 8,000 = 0.02: missing metrics count as 0
        PostSample(day(2), "post", likes=150, comments=10, followers_at_time=8_000),
        # reports none of the four: left out
        PostSample(day(3), "post", views=5_000, followers_at_time=8_000),
        # no follower reading: the current count (20,000): 500 / 20,000 = 0.025
        PostSample(day(4), "post", likes=500),
    ]
    rate, n = engagement_rate(posts, followers_now=20_000)
    assert n == 3
    assert rate == pytest.approx((0.035 + 0.02 + 0.025) / 3)


def test_engagement_rate_by_views_for_video_first_posts() -> None:
    posts = [
        PostSample(
            day(1), "reel", likes=300, comments=20, shares=10, saves=20, views=7_000
        ),  # 0.05
        PostSample(day(2), "short", likes=90, comments=10, views=2_000),  # 0.05 ... 100/2000
        PostSample(day(3), "post", likes=100, views=1_000),  # a photo post: not video-first
        PostSample(day(4), "reel", likes=100, views=0),  # no views: left out
    ]
    rate, n = engagement_rate_by_views(posts, "instagram")
    assert (rate, n) == (pytest.approx(0.05), 2)
    # On TikTok every post is video-first: (0.05 + 0.05 + 0.1) / 3
    rate, n = engagement_rate_by_views(posts, "tiktok")
    assert (rate, n) == (pytest.approx(0.2 / 3), 3)


def test_sample_is_90_days_or_the_last_12_posts() -> None:
    frequent = [PostSample(day(i * 5 + 1), "post", likes=1) for i in range(20)]  # 18 in 90 d
    assert len(select_sample(frequent, NOW)) == 18
    rare = [PostSample(day(i * 30 + 1), "post", likes=1) for i in range(20)]  # 3 in 90 days
    assert len(select_sample(rare, NOW)) == 12
    assert select_sample(rare, NOW)[0].posted_at == day(1)


def test_sentiment_shares_and_unscored() -> None:
    assert sentiment.score("Love it, amazing!").label == "positive"
    assert sentiment.score("This is awful and broke").label == "negative"
    assert sentiment.score("Where can I buy it?").label == "neutral"
    assert sentiment.score("😍🔥").label == "positive"  # emoji are language-neutral
    for foreign in ("Me encanta, qué bonito", "Das ist wunderschön", "Отлично!", "太棒了"):
        assert sentiment.score(foreign) == sentiment.UNSCORED, foreign
    assert sentiment.score("Love it", "es") == sentiment.UNSCORED  # the source says Spanish


# --------------------------------------------------------------------------- authenticity
def test_clean_account_scores_100_without_reasons() -> None:
    signals = derive(inputs(posts=healthy_posts(), post_times=[day(1)]))
    assert signals.engagement_rate == pytest.approx(0.04)
    assert (signals.authenticity_score, signals.authenticity_reasons) == (100, [])
    assert signals.sponsored_share == 0


def _codes(signals: Any) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in signals.authenticity_reasons}


def test_low_engagement_against_the_tier_benchmark() -> None:
    # 0.01 vs micro Instagram 0.039: 0.26x, below 0.35x.
    posts = [
        PostSample(day(i + 1), "post", likes=190, comments=10, followers_at_time=20_000)
        for i in range(4)
    ]
    signals = derive(inputs(posts=posts))
    reason = _codes(signals)["low_engagement"]
    assert reason["value"] == pytest.approx(0.01)
    assert reason["threshold"] == pytest.approx(0.039 * 0.35)
    assert "1.0%" in reason["message"] and "0.26x" in reason["message"]
    assert signals.authenticity_score == 100 - reason["penalty"]


def test_follower_jump_without_posts() -> None:
    history = [(day(40), 10_000), (day(30), 10_200), (day(25), 15_300), (day(10), 15_400)]
    signals = derive(inputs(posts=healthy_posts(), follower_history=history, post_times=[day(1)]))
    reason = _codes(signals)["follower_jump_without_posts"]
    assert reason["value"] == pytest.approx(0.5)  # 10,200 -> 15,300
    assert "10,200 -> 15,300" in reason["message"]
    # A post in the window explains the jump (a viral post): no reason.
    signals = derive(inputs(posts=healthy_posts(), follower_history=history, post_times=[day(27)]))
    assert "follower_jump_without_posts" not in _codes(signals)
    # +1,000 minimum: a 50% jump from 1,000 to 1,500 is noise.
    small = [(day(30), 1_000), (day(25), 1_500)]
    assert "follower_jump_without_posts" not in _codes(derive(inputs(follower_history=small)))


def test_comment_to_like_ratio_outside_normal_bands() -> None:
    farm = [
        PostSample(day(i + 1), "post", likes=2_500, comments=1, followers_at_time=60_000)
        for i in range(4)
    ]
    reason = _codes(derive(inputs(posts=farm)))["comment_like_ratio"]
    assert reason["value"] == pytest.approx(4 / 10_000)
    assert "like-farm" in reason["message"]
    pods = [
        PostSample(day(i + 1), "post", likes=200, comments=50, followers_at_time=5_000)
        for i in range(4)
    ]
    reason = _codes(derive(inputs(posts=pods)))["comment_like_ratio"]
    assert reason["value"] == pytest.approx(0.25) and "comment-pod" in reason["message"]


def test_repeated_generic_comments() -> None:
    texts = (
        ["Nice!!", "nice", "NICE"] * 3
        + ["🔥🔥🔥", "🔥🔥", "🔥"]
        + [f"I tried the recipe number {i} and it worked" for i in range(8)]
    )
    assert normalise_comment("Niceee!!!") == "nice"
    signals = derive(inputs(posts=healthy_posts(), comment_texts=texts))
    reason = _codes(signals)["repeated_generic_comments"]
    assert reason["value"] == pytest.approx(12 / 20)
    assert "'nice' x9" in reason["message"]
    varied = [f"Comment number {i} about the post" for i in range(30)]
    assert "repeated_generic_comments" not in _codes(
        derive(inputs(posts=healthy_posts(), comment_texts=varied))
    )


def test_sponsored_share_above_threshold() -> None:
    posts = healthy_posts(6) + healthy_posts(4, sponsored=True)
    signals = derive(inputs(posts=posts))
    reason = _codes(signals)["sponsored_saturation"]
    assert reason["value"] == pytest.approx(0.4)
    assert "4 of the last 10 posts" in reason["message"]
    assert signals.sponsored_share == pytest.approx(0.4)


def test_penalties_add_up() -> None:
    posts = [
        PostSample(day(i + 1), "post", likes=190, comments=10, followers_at_time=20_000)
        for i in range(4)
    ]
    history = [(day(60), 10_000), (day(50), 20_000)]
    signals = derive(inputs(posts=posts, follower_history=history))
    assert set(_codes(signals)) == {"low_engagement", "follower_jump_without_posts"}
    assert signals.authenticity_score == 100 - 30 - 25


# ------------------------------------------------------------------------ with the database
async def _roster_account(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, handle: str, followers: int
) -> uuid.UUID:
    influencer_id = await make_influencer(
        sessionmaker,
        brand_id,
        handle,
        accounts=[{"platform": "instagram", "handle": handle, "followers": followers}],
    )
    async with sessionmaker() as session:
        return (
            await session.execute(
                select(SocialAccount.id).where(SocialAccount.influencer_id == influencer_id)
            )
        ).scalar_one()


async def test_recompute_uses_follower_history_and_is_idempotent(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
) -> None:
    account_id = await _roster_account(sessionmaker, tenant.brand_id, "hist.acc", 10_000)
    async with sessionmaker() as session, session.begin():
        for at, followers in (
            (datetime(2026, 10, 1, tzinfo=UTC), 8_000),
            (datetime(2026, 10, 20, tzinfo=UTC), 10_000),
        ):
            await session.execute(
                text(
                    "INSERT INTO follower_snapshots (brand_id, account_id, followers, captured_at) "
                    "VALUES (:b, :a, :f, :t)"
                ),
                {"b": tenant.brand_id, "a": account_id, "f": followers, "t": at},
            )
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    posts = [
        # before any reading: the earliest reading after it (8,000): 400 / 8,000 = 0.05
        engagement_post("E1", posted_at="2026-09-01T10:00:00Z", metrics={"likes": 400}),
        # 8,000 at the time: (160 + 40) / 8,000 = 0.025
        engagement_post(
            "E2", posted_at="2026-10-10T10:00:00Z", metrics={"likes": 160, "comments": 40}
        ),
        # 10,000 at the time: 300 / 10,000 = 0.03
        engagement_post(
            "E3",
            posted_at="2026-10-25T10:00:00Z",
            metrics={"likes": 300, "views": 6_000},
            comments=[{"id": "k1", "text": "Love it!"}, {"id": "k2", "text": "Meh, boring"}],
        ),
        # a story: never in the engagement sample
        engagement_post("E4", content_type="story", metrics={"likes": 9_999}),
    ]
    body = {"account": {"platform": "instagram", "handle": "hist.acc"}, "posts": posts}
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"

    ctx: Any = {"sessionmaker": sessionmaker, "settings": settings}
    stale = await client.get(f"/v1/social-accounts/{account_id}/signals", headers=tenant.headers)
    assert stale.json()["stale"] is True and stale.json()["engagement_rate"] is None
    assert await recompute_account_signals(ctx, str(account_id)) is True
    assert await recompute_account_signals(ctx, str(account_id)) is False  # nothing changed

    resp = await client.get(f"/v1/social-accounts/{account_id}/signals", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    body_out = resp.json()
    assert body_out["engagement_rate"] == pytest.approx((0.05 + 0.025 + 0.03) / 3)
    assert body_out["sample_size"] == 3
    assert body_out["engagement_rate_views"] == pytest.approx(300 / 6_000)  # reels only
    assert body_out["views_sample_size"] == 1
    assert body_out["benchmark"] == {
        "rate": DEFAULT_BENCHMARKS["instagram"]["micro"],
        "source": "default",
    }
    assert body_out["sentiment"]["positive"] == 1 and body_out["sentiment"]["negative"] == 1
    assert body_out["sentiment"]["positive_share"] == 0.5
    assert body_out["stale"] is False and body_out["authenticity"]["score"] is not None

    # New data: stale again; the sweeper (a lost enqueue) catches up.
    more = {
        "account": {"platform": "instagram", "handle": "hist.acc"},
        "posts": [engagement_post("E5", posted_at="2026-10-28T10:00:00Z", metrics={"likes": 500})],
    }
    assert await deliver_engagement(sessionmaker, integration, more) == "handled"
    async with sessionmaker() as session:
        assert await is_stale(session, [account_id]) == {account_id}
    assert (await sweep_stale_signals(ctx))["recomputed"] >= 1
    resp = await client.get(
        f"/v1/influencers/{body_out['influencer_id']}/signals", headers=tenant.headers
    )
    [one] = resp.json()
    assert one["sample_size"] == 4 and one["stale"] is False
    assert one["engagement_rate"] == pytest.approx((0.05 + 0.025 + 0.03 + 0.05) / 4)


async def test_benchmark_is_the_roster_median_from_20_accounts(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, tenant: Tenant
) -> None:
    async def add_accounts(rates: list[float]) -> None:
        async with sessionmaker() as session, session.begin():
            influencer = Influencer(brand_id=tenant.brand_id, name="Bulk")
            session.add(influencer)
            await session.flush()
            for rate in rates:
                account = SocialAccount(
                    brand_id=tenant.brand_id,
                    influencer_id=influencer.id,
                    platform="instagram",
                    handle=f"b{uuid.uuid4().hex[:10]}",
                    followers=50_000,
                )
                session.add(account)
                await session.flush()
                session.add(
                    AccountSignals(
                        account_id=account.id,
                        brand_id=tenant.brand_id,
                        engagement_rate=rate,
                        sample_size=12,
                    )
                )

    ctx: Any = {"sessionmaker": sessionmaker, "settings": settings}
    await add_accounts([0.01 * (i + 1) for i in range(19)])  # 19 accounts: median 0.10
    await refresh_engagement_benchmarks(ctx)
    async with sessionmaker() as session:
        bench = await benchmark_for(session, tenant.brand_id, "instagram", "micro")
    assert bench == Benchmark("instagram", "micro", 0.039, "default")  # 19 < 20
    await add_accounts([0.20])  # 20 accounts: 0.01 .. 0.20, median 0.105
    await refresh_engagement_benchmarks(ctx)
    async with sessionmaker() as session:
        bench = await benchmark_for(session, tenant.brand_id, "instagram", "micro")
        other = await benchmark_for(session, tenant.brand_id, "tiktok", "micro")
    assert (bench.source, bench.accounts) == ("roster", 20)
    assert bench.rate == pytest.approx(0.105)
    assert other.source == "default"
