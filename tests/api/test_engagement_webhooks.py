"""The engagement receivers: Vouch's format (Standard Webhooks) and Instagram Graph
(X-Hub-Signature-256, hub.challenge handshake), end to end through the inbox processor."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

import shared.engagement.handlers  # noqa: F401  (registers the engagement handlers)
from shared.models import Post, PostComment, SocialAccount, WebhookEvent
from shared.webhooks.processing import process_event
from tests.factories import (
    StoreIntegration,
    Tenant,
    engagement_post,
    make_influencer,
    make_integration,
    recompute_signals,
)
from tests.problems import assert_problem

APP_SECRET = "meta-app-secret-0123456789"
VERIFY_TOKEN = "vouch-verify-7f3a"


def signed(secret: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
    """Signed by the Standard Webhooks reference implementation."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _events(
    sessionmaker: async_sessionmaker[AsyncSession], integration_id: uuid.UUID
) -> list[WebhookEvent]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(WebhookEvent)
            .where(WebhookEvent.integration_id == integration_id)
            .order_by(WebhookEvent.received_at)
        )
        return list(rows.scalars())


async def _process(sessionmaker: async_sessionmaker[AsyncSession], event_id: str) -> None:
    async with sessionmaker() as session, session.begin():
        await process_event(session, uuid.UUID(event_id), max_attempts=5)


# ------------------------------------------------------------------ Vouch engagement format
async def test_engagement_receiver_verifies_stores_dedupes_and_processes(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    await make_influencer(
        sessionmaker,
        tenant.brand_id,
        accounts=[{"platform": "tiktok", "handle": "dance.daily", "followers": 50_000}],
    )
    payload = {
        "account": {"platform": "tiktok", "handle": "@Dance.Daily"},
        "posts": [
            engagement_post(
                "7301",
                post_url="https://www.tiktok.com/@dance.daily/video/7301",
                content_type="video",
                metrics={"likes": 900, "comments": 40, "shares": 30, "saves": 30, "views": 20_000},
            )
        ],
    }
    body = json.dumps(payload, indent=1).encode()  # HMAC is over the raw bytes, spaces included
    url = f"/webhooks/engagement/{integration.id}"

    # Bad, missing and stale signatures: 401, nothing stored.
    bad = signed(integration.secret, body)
    bad["webhook-signature"] = "v1," + "A" * 44
    assert_problem(await client.post(url, content=body, headers=bad), 401)
    assert_problem(
        await client.post(url, content=body, headers={"content-type": "application/json"}), 401
    )
    stale = signed(integration.secret, body, at=datetime.now(UTC) - timedelta(minutes=6))
    assert_problem(await client.post(url, content=body, headers=stale), 401)
    tampered = signed(integration.secret, body)
    assert_problem(await client.post(url, content=body + b" ", headers=tampered), 401)
    assert await _events(sessionmaker, integration.id) == []

    headers = signed(integration.secret, body)
    resp = await client.post(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    event_id = resp.json()["id"]
    again = await client.post(url, content=body, headers=headers)  # a retry of the delivery
    assert again.json() == {"status": "duplicate", "id": event_id}
    events = await _events(sessionmaker, integration.id)
    assert [(e.source, e.topic) for e in events] == [("engagement", "engagement")]

    await _process(sessionmaker, event_id)
    async with sessionmaker() as session:
        event = await session.get(WebhookEvent, uuid.UUID(event_id))
        post = (
            await session.execute(select(Post).where(Post.external_post_id == "7301"))
        ).scalar_one()
    assert event is not None and event.status == "handled", event and event.last_error
    assert post.brand_id == tenant.brand_id and post.account_id is not None
    await recompute_signals(sessionmaker, post.account_id)  # folds the snapshot into the post
    async with sessionmaker() as session:
        post = (
            await session.execute(select(Post).where(Post.external_post_id == "7301"))
        ).scalar_one()
    assert (post.likes, post.views, post.content_type) == (900, 20_000, "video")


async def test_engagement_receiver_refuses_other_kinds_and_unknown_ids(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    shop = await make_integration(sessionmaker, tenant.brand_id, "custom")
    body = b'{"posts": []}'
    resp = await client.post(
        f"/webhooks/engagement/{shop.id}", content=body, headers=signed(shop.secret, body)
    )
    assert_problem(resp, 404)
    resp = await client.post(
        f"/webhooks/engagement/{uuid.uuid4()}", content=body, headers=signed(shop.secret, body)
    )
    assert_problem(resp, 404)


# ------------------------------------------------------------------------- Instagram Graph
async def _instagram(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> StoreIntegration:
    integration = await make_integration(sessionmaker, tenant.brand_id, "engagement")
    resp = await client.put(
        f"/v1/integrations/{integration.id}/instagram",
        headers=tenant.headers,
        json={
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "accounts": {"17841400000000001": "@Ig.Creator"},
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["callback_url"].endswith(f"/webhooks/instagram/{integration.id}")
    assert body["app_secret_set"] is True and "app_secret" not in body
    assert body["accounts"] == {"17841400000000001": "ig.creator"}
    return integration


async def test_instagram_handshake(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
) -> None:
    integration = await _instagram(client, sessionmaker, tenant)
    url = f"/webhooks/instagram/{integration.id}"
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    resp = await client.get(url, params=ok)
    assert resp.status_code == 200 and resp.text == "1158201444"
    assert resp.headers["content-type"].startswith("text/plain")
    assert_problem(await client.get(url, params={**ok, "hub.verify_token": "wrong-token"}), 403)
    assert_problem(await client.get(url, params={**ok, "hub.mode": "unsubscribe"}), 403)
    assert_problem(await client.get(f"/webhooks/instagram/{uuid.uuid4()}", params=ok), 404)
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    assert_problem(await client.get(f"/webhooks/instagram/{store.id}", params=ok), 404)


def _ig_body(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"object": "instagram", "entry": entries}).encode()


async def test_instagram_deliveries_are_verified_and_processed(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
) -> None:
    integration = await _instagram(client, sessionmaker, tenant)
    await make_influencer(
        sessionmaker,
        tenant.brand_id,
        accounts=[{"platform": "instagram", "handle": "ig.creator", "followers": 20_000}],
    )
    now = int(datetime.now(UTC).timestamp())
    body = _ig_body(
        [
            {
                "id": "17841400000000001",
                "time": now,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "id": "17865799348089039",
                            "text": "Absolutely love this look!",
                            "media": {"id": "18000000000000001", "media_product_type": "REELS"},
                            "from": {"id": "1", "username": "fan"},
                        },
                    },
                    {
                        "field": "story_insights",
                        "value": {
                            "media_id": "18000000000000002",
                            "impressions": 444,
                            "reach": 300,
                            "replies": 3,
                            "exits": 7,
                        },
                    },
                ],
            },
            {
                "id": "17841400000000099",  # the brand's own account, mentioned by someone
                "time": now,
                "changes": [{"field": "mentions", "value": {"media_id": "18000000000000003"}}],
            },
        ]
    )
    url = f"/webhooks/instagram/{integration.id}"
    assert_problem(
        await client.post(
            url, content=body, headers={"x-hub-signature-256": hub_signature("wrong", body)}
        ),
        401,
    )
    assert_problem(await client.post(url, content=body), 401)
    assert await _events(sessionmaker, integration.id) == []

    headers = {"x-hub-signature-256": hub_signature(APP_SECRET, body)}
    resp = await client.post(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    event_id = resp.json()["id"]
    again = await client.post(url, content=body, headers=headers)  # Meta retries the same body
    assert again.json() == {"status": "duplicate", "id": event_id}
    events = await _events(sessionmaker, integration.id)
    assert len(events) == 1 and (events[0].source, events[0].topic) == ("instagram", "instagram")
    assert "x-hub-signature-256" not in events[0].headers

    await _process(sessionmaker, event_id)
    async with sessionmaker() as session:
        event = await session.get(WebhookEvent, uuid.UUID(event_id))
        assert event is not None and event.status == "handled", event.last_error
        account_id = (
            await session.execute(
                select(SocialAccount.id).where(
                    SocialAccount.brand_id == tenant.brand_id,
                    SocialAccount.handle == "ig.creator",
                )
            )
        ).scalar_one()
        await recompute_signals(sessionmaker, account_id)  # folds metrics and comments in
        posts = {
            p.external_post_id: p
            for p in (
                await session.execute(select(Post).where(Post.integration_id == integration.id))
            ).scalars()
        }
        comments = (
            await session.execute(
                select(func.count()).where(
                    PostComment.post_id == posts["18000000000000001"].id,
                    PostComment.sentiment == "positive",
                )
            )
        ).scalar_one()
    reel, story, mention = (
        posts["18000000000000001"],
        posts["18000000000000002"],
        posts["18000000000000003"],
    )
    assert (reel.content_type, reel.account_id, reel.comments_positive) == ("reel", account_id, 1)
    assert comments == 1
    assert (story.content_type, story.impressions, story.reach, story.comments) == (
        "story",
        444,
        300,
        3,
    )
    assert mention.account_id is None and mention.handle is None  # kept, listable, linkable
