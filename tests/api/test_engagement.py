"""Engagement ingestion through the inbox: posts, snapshots (late and out of order), comments,
follower readings, matching to accounts, deliverables and campaigns, disclosure flags, the
posts API and manual linking, cross-brand 404s."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import (
    Campaign,
    CampaignHashtag,
    Collaboration,
    Deliverable,
    FollowerSnapshot,
    Influencer,
    OutboxEvent,
    Post,
    PostComment,
    PostMetricSnapshot,
    SocialAccount,
)
from tests.factories import (
    StoreIntegration,
    Tenant,
    deliver_engagement,
    engagement_post,
    make_influencer,
    make_integration,
    recompute_signals,
)
from tests.problems import assert_problem


async def _account(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, handle: str, **kw: Any
) -> tuple[uuid.UUID, uuid.UUID]:
    """(influencer id, account id) of a fresh influencer with one Instagram account."""
    influencer_id = await make_influencer(
        sessionmaker,
        brand_id,
        f"Creator {handle}",
        accounts=[{"platform": kw.pop("platform", "instagram"), "handle": handle, **kw}],
    )
    async with sessionmaker() as session:
        account_id = (
            await session.execute(
                select(SocialAccount.id).where(SocialAccount.influencer_id == influencer_id)
            )
        ).scalar_one()
    return influencer_id, account_id


async def _deliverable(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    influencer_id: uuid.UUID,
    *,
    post_url: str | None = None,
    external_post_id: str | None = None,
    hashtag: str | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """(campaign id, deliverable id): a published Instagram reel of `influencer_id`."""
    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Summer",
            slug=f"summer-{uuid.uuid4().hex[:8]}",
            goal="sales",
            currency="USD",
            status="active",
        )
        session.add(campaign)
        await session.flush()
        if hashtag:
            session.add(CampaignHashtag(brand_id=brand_id, campaign_id=campaign.id, tag=hashtag))
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign.id,
            influencer_id=influencer_id,
            currency="USD",
            status="active",
        )
        session.add(collab)
        await session.flush()
        deliverable = Deliverable(
            brand_id=brand_id,
            collaboration_id=collab.id,
            type="reel",
            platform="instagram",
            status="published",
            post_url=post_url,
            external_post_id=external_post_id,
        )
        session.add(deliverable)
    return campaign.id, deliverable.id


async def _post(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, ext: str
) -> Post:
    async with sessionmaker() as session:
        return (
            await session.execute(
                select(Post).where(Post.brand_id == brand_id, Post.external_post_id == ext)
            )
        ).scalar_one()


async def _engagement(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "engagement")


def _at(day: int, hour: int = 12) -> str:
    return datetime(2026, 11, day, hour, tzinfo=UTC).isoformat()


# --------------------------------------------------------------------------- snapshots
async def test_snapshots_late_and_out_of_order_keep_the_newest_values(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    _, account_id = await _account(sessionmaker, tenant.brand_id, "jane.runs", followers=10_000)

    def delivery(day: int, **metrics: Any) -> dict[str, Any]:
        return {
            "account": {"platform": "instagram", "handle": "@Jane.Runs"},
            "posts": [engagement_post("P1", metrics={"captured_at": _at(day), **metrics})],
        }

    assert (
        await deliver_engagement(sessionmaker, integration, delivery(5, likes=200, views=900))
        == "handled"
    )
    # A late, older snapshot: stored, but never overwrites the newer values ...
    late = delivery(3, likes=100, views=400, impressions=50)
    assert await deliver_engagement(sessionmaker, integration, late) == "handled"
    await recompute_signals(sessionmaker, account_id)  # the worker folds the snapshots in
    post = await _post(sessionmaker, tenant.brand_id, "P1")
    assert (post.likes, post.views, post.metrics_captured_at.day) == (200, 900, 5)
    # ... while a metric only the older one reported is still the latest known value.
    assert post.impressions == 50
    assert post.account_id == account_id and post.matched_by["account"] == "handle"
    # A newer one that no longer reports views (deprecated metric) keeps the last views.
    assert (
        await deliver_engagement(sessionmaker, integration, delivery(7, likes=300, views=None))
        == "handled"
    )
    # The same snapshot again (a re-sent delivery with a new webhook id) changes nothing.
    assert await deliver_engagement(sessionmaker, integration, delivery(7, likes=999)) == "handled"
    await recompute_signals(sessionmaker, account_id)
    post = await _post(sessionmaker, tenant.brand_id, "P1")
    assert (post.likes, post.views, post.impressions) == (300, 900, 50)
    async with sessionmaker() as session:
        n = (
            await session.execute(select(func.count()).where(PostMetricSnapshot.post_id == post.id))
        ).scalar_one()
    assert n == 3


async def test_comments_are_scored_once_and_foreign_ones_unscored(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    _, account_id = await _account(sessionmaker, tenant.brand_id, "sam.cooks")
    comments = [
        {"id": "c1", "text": "Love this, so good!"},
        {"id": "c2", "text": "Terrible, it broke in a day"},
        {"id": "c3", "text": "Where can I buy it?"},
        {"id": "c4", "text": "Que lindo, me encanta"},
        {"id": "c5", "text": "これは素晴らしい"},
    ]
    body = {
        "account": {"platform": "instagram", "handle": "sam.cooks"},
        "posts": [engagement_post("C1", comments=comments)],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"  # resent
    await recompute_signals(sessionmaker, account_id)
    post = await _post(sessionmaker, tenant.brand_id, "C1")
    assert (
        post.comments_positive,
        post.comments_negative,
        post.comments_neutral,
        post.comments_unscored,
    ) == (1, 1, 1, 2)
    async with sessionmaker() as session:
        result = await session.execute(
            select(PostComment.external_id, PostComment.sentiment).where(
                PostComment.post_id == post.id
            )
        )
        rows = {r[0]: r[1] for r in result.all()}
    assert rows == {
        "c1": "positive",
        "c2": "negative",
        "c3": "neutral",
        "c4": "unscored",
        "c5": "unscored",
    }


async def test_follower_readings_update_the_account_unless_late(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_id, account_id = await _account(
        sessionmaker, tenant.brand_id, "fol.lower", followers=10_000
    )
    async with sessionmaker() as session, session.begin():  # the roster entry is older
        await session.execute(
            update(FollowerSnapshot)
            .where(FollowerSnapshot.account_id == account_id)
            .values(captured_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    reading = {"platform": "instagram", "handle": "fol.lower"}
    for followers, at in ((12_000, _at(5)), (11_000, _at(3)), (12_000, _at(6))):
        body = {"account": {**reading, "followers": followers, "captured_at": at}}
        assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    # Readings only append history; the account row follows at the signals recompute (the
    # inbox handlers never lock account rows).
    await recompute_signals(sessionmaker, account_id)
    async with sessionmaker() as session:
        account = await session.get(SocialAccount, account_id)
        influencer = await session.get(Influencer, influencer_id)
        history = (
            (
                await session.execute(
                    select(FollowerSnapshot.followers)
                    .where(FollowerSnapshot.account_id == account_id)
                    .order_by(FollowerSnapshot.captured_at)
                )
            )
            .scalars()
            .all()
        )
    assert account is not None and account.followers == 12_000  # the late 11,000 did not win
    assert influencer is not None and influencer.max_followers == 12_000
    # 12,000 on day 6 repeats day 5's count in order: no new history row.
    assert list(history) == [10_000, 11_000, 12_000]


async def test_bad_payload_fails_the_event_naming_the_field(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    body = {
        "account": {"platform": "instagram", "handle": "x"},
        "posts": [engagement_post("B1", content_type="carousel")],
    }
    status = await deliver_engagement(sessionmaker, integration, body)
    assert status.startswith("failed") and "posts[0].content_type" in status
    assert (await deliver_engagement(sessionmaker, integration, b"not json")).startswith("failed")


# ---------------------------------------------------------------------------- matching
async def test_post_matches_deliverable_by_normalised_url_and_flags_missing_disclosure(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_id, account_id = await _account(sessionmaker, tenant.brand_id, "dee.rev")
    campaign_id, deliverable_id = await _deliverable(
        sessionmaker,
        tenant.brand_id,
        influencer_id,
        post_url="https://instagram.com/p/AbC123/",
    )
    # Scheme/host case, www., tracking parameters and the trailing slash differ; the
    # post's handle is unknown to the roster, so the deliverable brings the account too.
    post = engagement_post(
        "9001",
        handle="someone.else",
        post_url="HTTPS://WWW.Instagram.com/p/AbC123?igsh=zz&utm_source=ig_web",
        caption="Loving my new shoes",
    )
    assert (
        await deliver_engagement(
            sessionmaker, integration, {"posts": [{"platform": "instagram", **post}]}
        )
        == "handled"
    )
    row = await _post(sessionmaker, tenant.brand_id, "9001")
    assert row.deliverable_id == deliverable_id and row.campaign_id == campaign_id
    assert row.account_id == account_id
    assert row.matched_by == {
        "deliverable": "post_url",
        "campaign": "deliverable",
        "account": "deliverable",
    }
    assert row.sponsored and not row.disclosed
    async with sessionmaker() as session:
        deliverable = await session.get(Deliverable, deliverable_id)
        events = (
            (
                await session.execute(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.brand_id == tenant.brand_id,
                        OutboxEvent.type == "deliverable.disclosure_missing",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert deliverable is not None and deliverable.disclosure_missing is True
    assert [e["deliverable_id"] for e in events] == [str(deliverable_id)]

    # The creator edits the caption to add #ad: the flag clears.
    post["caption"] = "Loving my new shoes #AD"
    assert (
        await deliver_engagement(
            sessionmaker, integration, {"posts": [{"platform": "instagram", **post}]}
        )
        == "handled"
    )
    async with sessionmaker() as session:
        deliverable = await session.get(Deliverable, deliverable_id)
    assert deliverable is not None and deliverable.disclosure_missing is False


async def test_post_matches_deliverable_by_external_id_and_paid_label_discloses(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_id, account_id = await _account(sessionmaker, tenant.brand_id, "ext.match")
    _, deliverable_id = await _deliverable(
        sessionmaker, tenant.brand_id, influencer_id, external_post_id="17890000000000001"
    )
    body = {
        "account": {"platform": "instagram", "handle": "ext.match"},
        "posts": [
            engagement_post(
                "17890000000000001", post_url=None, caption="no tags", paid_partnership=True
            )
        ],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    row = await _post(sessionmaker, tenant.brand_id, "17890000000000001")
    assert (
        row.deliverable_id == deliverable_id and row.matched_by["deliverable"] == "external_post_id"
    )
    assert row.disclosed and row.account_id == account_id
    async with sessionmaker() as session:
        deliverable = await session.get(Deliverable, deliverable_id)
    assert deliverable is not None and deliverable.disclosure_missing is False


async def test_post_matches_campaign_by_tracking_hashtag(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_id, _ = await _account(sessionmaker, tenant.brand_id, "tag.user")
    campaign_id, _ = await _deliverable(
        sessionmaker, tenant.brand_id, influencer_id, hashtag="vouchsummer"
    )
    body = {
        "account": {"platform": "instagram", "handle": "tag.user"},
        "posts": [engagement_post("H1", caption="Beach day #VouchSummer #sponsored")],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    row = await _post(sessionmaker, tenant.brand_id, "H1")
    assert row.campaign_id == campaign_id and row.matched_by["campaign"] == "hashtag"
    assert row.deliverable_id is None and row.disclosed


# ----------------------------------------------------------------------- posts API
async def test_unmatched_posts_are_listed_and_linked_by_hand(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_id, account_id = await _account(sessionmaker, tenant.brand_id, "link.me")
    campaign_id, deliverable_id = await _deliverable(sessionmaker, tenant.brand_id, influencer_id)
    body = {
        "account": {"platform": "instagram", "handle": "not.on.roster"},
        "posts": [engagement_post("U1", caption="no disclosure here")],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"

    resp = await client.get("/v1/posts?matched=false", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [p["external_post_id"] for p in items] == ["U1"]
    post_id = items[0]["id"]
    assert items[0]["account_id"] is None and items[0]["handle"] == "not.on.roster"
    assert (await client.get("/v1/posts?matched=false", headers=other_tenant.headers)).json()[
        "items"
    ] == []

    resp = await client.post(
        f"/v1/posts/{post_id}/link",
        headers=tenant.headers,
        json={"deliverable_id": str(deliverable_id)},
    )
    assert resp.status_code == 200, resp.text
    linked = resp.json()
    assert linked["deliverable_id"] == str(deliverable_id)
    assert linked["campaign_id"] == str(campaign_id)
    assert linked["account_id"] == str(account_id)  # the influencer's only Instagram account
    assert linked["matched_by"]["deliverable"] == "manual"
    assert linked["sponsored"] is True
    async with sessionmaker() as session:
        deliverable = await session.get(Deliverable, deliverable_id)
    assert deliverable is not None and deliverable.disclosure_missing is True

    assert (await client.get("/v1/posts?matched=false", headers=tenant.headers)).json()[
        "items"
    ] == []
    resp = await client.get(f"/v1/posts?deliverable_id={deliverable_id}", headers=tenant.headers)
    assert [p["id"] for p in resp.json()["items"]] == [post_id]

    # Unlink the campaign only.
    resp = await client.post(
        f"/v1/posts/{post_id}/link", headers=tenant.headers, json={"campaign_id": None}
    )
    assert resp.status_code == 200 and resp.json()["campaign_id"] is None
    assert resp.json()["deliverable_id"] == str(deliverable_id)


async def test_link_validation(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    _, tiktok_account = await _account(sessionmaker, tenant.brand_id, "tt.user", platform="tiktok")
    body = {
        "account": {"platform": "instagram", "handle": "nobody"},
        "posts": [engagement_post("V1")],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    post_id = (await _post(sessionmaker, tenant.brand_id, "V1")).id
    resp = await client.post(f"/v1/posts/{post_id}/link", headers=tenant.headers, json={})
    assert_problem(resp, 422, field="body")
    resp = await client.post(
        f"/v1/posts/{post_id}/link",
        headers=tenant.headers,
        json={"account_id": str(tiktok_account)},
    )
    assert_problem(resp, 422, field="body.account_id")
    resp = await client.post(
        f"/v1/posts/{post_id}/link", headers=tenant.headers, json={"nickname": "x"}
    )
    assert_problem(resp, 422, field="body.nickname")


async def test_cross_brand_ids_are_404(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    integration = await _engagement(sessionmaker, tenant)
    influencer_a, account_a = await _account(sessionmaker, tenant.brand_id, "mine")
    body = {
        "account": {"platform": "instagram", "handle": "ghost"},
        "posts": [engagement_post("X1")],
    }
    assert await deliver_engagement(sessionmaker, integration, body) == "handled"
    post_a = (await _post(sessionmaker, tenant.brand_id, "X1")).id
    influencer_b, account_b = await _account(sessionmaker, other_tenant.brand_id, "theirs")
    campaign_b, deliverable_b = await _deliverable(
        sessionmaker, other_tenant.brand_id, influencer_b
    )
    shopify_a = await make_integration(sessionmaker, tenant.brand_id, "shopify")

    b = other_tenant.headers
    assert_problem(await client.get(f"/v1/posts/{post_a}", headers=b), 404)
    assert_problem(
        await client.post(f"/v1/posts/{post_a}/link", headers=b, json={"campaign_id": None}), 404
    )
    assert_problem(await client.get(f"/v1/influencers/{influencer_a}/signals", headers=b), 404)
    assert_problem(await client.get(f"/v1/social-accounts/{account_a}/signals", headers=b), 404)
    assert_problem(
        await client.put(
            f"/v1/integrations/{integration.id}/instagram",
            headers=b,
            json={"verify_token": "x" * 8},
        ),
        404,
    )
    # Brand B's ids inside brand A's request body are 404s too.
    a = tenant.headers
    for field, value in (
        ("account_id", account_b),
        ("deliverable_id", deliverable_b),
        ("campaign_id", campaign_b),
    ):
        resp = await client.post(f"/v1/posts/{post_a}/link", headers=a, json={field: str(value)})
        assert_problem(resp, 404)
    # Own ids work; a store integration is not an engagement one.
    assert (await client.get(f"/v1/posts/{post_a}", headers=a)).status_code == 200
    resp = await client.put(
        f"/v1/integrations/{shopify_a.id}/instagram", headers=a, json={"verify_token": "x" * 8}
    )
    assert_problem(resp, 409)
