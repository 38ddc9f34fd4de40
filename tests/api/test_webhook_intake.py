"""The store receivers: verify on raw bytes, dedupe in the inbox, commit before 2xx, enqueue."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from services.api.public.webhooks import WebhookReceiver
from shared.config import Settings
from shared.db.engine import create_engine
from shared.integrations.signatures import (
    Scheme,
    SigningKey,
    StandardVerdict,
    key_bytes,
    sign_standard,
    verify_standard,
)
from shared.models import Integration, WebhookEvent
from shared.webhooks.intake import InboxWriter
from tests.factories import StoreIntegration, Tenant, make_integration
from tests.problems import assert_problem

# --------------------------------------------------------------------------- real-format payloads
SHOPIFY_ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#1001",
    "email": "jon@example.com",
    "created_at": "2024-05-01T10:15:00-04:00",
    "updated_at": "2024-05-01T10:15:05-04:00",
    "currency": "USD",
    "current_subtotal_price": "89.10",
    "subtotal_price": "89.10",
    "total_price": "97.34",
    "total_discounts": "9.90",
    "financial_status": "paid",
    "cancelled_at": None,
    "discount_codes": [{"code": "ANNA10", "amount": "9.90", "type": "percentage"}],
    "landing_site": "/products/trail-shoe?utm_source=instagram&vclid=01HX5Z3K",
    "referring_site": "https://l.instagram.com/",
    "note_attributes": [{"name": "vclid", "value": "01HX5Z3K"}],
    "customer": {"id": 115310627314723954, "email": "jon@example.com", "first_name": "Jon"},
    "line_items": [
        {"id": 866550311766439020, "product_id": 632910392, "quantity": 1, "price": "99.00"}
    ],
}

WOO_ORDER: dict[str, Any] = {
    "id": 727,
    "parent_id": 0,
    "status": "processing",
    "currency": "EUR",
    "date_created": "2024-05-01T16:15:00",
    "date_modified": "2024-05-01T16:15:02",
    "discount_total": "5.00",
    "total": "45.00",
    "customer_id": 12,
    "billing": {"email": "ana@example.com", "first_name": "Ana"},
    "line_items": [{"id": 315, "product_id": 93, "quantity": 1, "total": "45.00"}],
    "coupon_lines": [{"id": 313, "code": "anna10", "discount": "5.00"}],
    "meta_data": [{"id": 1001, "key": "_vclid", "value": "01HX5Z3K"}],
}

VOUCH_ORDER: dict[str, Any] = {
    "order_id": "A-10023",
    "status": "paid",
    "placed_at": "2024-05-01T14:15:00Z",
    "updated_at": "2024-05-01T14:15:00Z",
    "currency": "GBP",
    "subtotal_minor": 8910,
    "discount_minor": 990,
    "total_minor": 9734,
    "discount_codes": ["ANNA10"],
    "landing_url": "https://shop.example.com/p?vclid=01HX5Z3K",
    "customer": {"id": "c-77", "email_sha256": hashlib.sha256(b"jon@example.com").hexdigest()},
    "line_items": [{"sku": "TRAIL-42", "quantity": 1, "price_minor": 9900}],
}


def b64hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    secret: str, body: bytes, topic: str = "orders/create", **extra: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": b64hmac(secret, body),
        "X-Shopify-Shop-Domain": "acme-outdoors.myshopify.com",
        "X-Shopify-API-Version": "2024-07",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2024-05-01T14:15:05.877041743Z",
        **extra,
    }


def woo_headers(secret: str, body: bytes, topic: str = "order.created") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": b64hmac(secret, body),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }


def standard_headers(secret: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
    """Signed by the reference implementation (the `standardwebhooks` package)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=1).encode()  # indentation kept: HMAC is on raw bytes


# --------------------------------------------------------------------------- fixtures, helpers
@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url or "")
    yield client
    await client.aclose()


@pytest.fixture
def receiver(app: FastAPI) -> WebhookReceiver:
    r: WebhookReceiver = app.state.webhooks
    return r


@pytest.fixture
async def shop(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "shopify")


@pytest.fixture
async def woo(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "woocommerce")


@pytest.fixture
async def custom(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "custom")


async def inbox(
    sessionmaker: async_sessionmaker[AsyncSession], integration: StoreIntegration
) -> list[WebhookEvent]:
    async with sessionmaker() as session:
        stmt = select(WebhookEvent).where(WebhookEvent.integration_id == integration.id)
        return list((await session.execute(stmt)).scalars().all())


async def queued(redis: aioredis.Redis, event_id: str) -> bool:
    return (
        await redis.zscore("arq:queue", event_id) is not None
        and await redis.exists(f"arq:job:{event_id}") == 1
    )


# --------------------------------------------------------------------------- Shopify
async def test_shopify_order_is_verified_stored_and_queued(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    body = dumps(SHOPIFY_ORDER)
    headers = shopify_headers(shop.secret, body)
    resp = await client.post(f"/webhooks/shopify/{shop.id}", content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "accepted"
    rows = await inbox(sessionmaker, shop)
    assert len(rows) == 1
    row = rows[0]
    assert str(row.id) == out["id"]
    assert (row.source, row.topic, row.status, row.attempts) == (
        "shopify",
        "orders/create",
        "pending",
        0,
    )
    assert row.external_id == headers["X-Shopify-Event-Id"]
    assert row.body == body  # the raw bytes, untouched
    assert row.brand_id == shop.brand_id
    assert row.source_timestamp == datetime(2024, 5, 1, 14, 15, 5, 877041, tzinfo=UTC)
    assert row.headers["x-shopify-shop-domain"] == "acme-outdoors.myshopify.com"
    assert await queued(redis, out["id"])


async def test_shopify_compliance_topics_are_stored_like_any_other(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    payloads = {
        "customers/data_request": {"shop_id": 954889, "customer": {"id": 191167}},
        "customers/redact": {
            "shop_id": 954889,
            "customer": {"id": 191167},
            "orders_to_redact": [1],
        },
        "shop/redact": {"shop_id": 954889, "shop_domain": "acme-outdoors.myshopify.com"},
    }
    for topic, payload in payloads.items():
        body = dumps(payload)
        resp = await client.post(
            f"/webhooks/shopify/{shop.id}",
            content=body,
            headers=shopify_headers(shop.secret, body, topic),
        )
        assert resp.json()["status"] == "accepted", resp.text
    assert sorted(r.topic for r in await inbox(sessionmaker, shop)) == sorted(payloads)


async def test_bad_missing_or_foreign_signature_is_401_and_writes_nothing(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
) -> None:
    other = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    body = dumps(SHOPIFY_ORDER)
    good = shopify_headers(shop.secret, body)
    url = f"/webhooks/shopify/{shop.id}"
    cases = [
        {k: v for k, v in good.items() if k != "X-Shopify-Hmac-Sha256"},  # missing
        {**good, "X-Shopify-Hmac-Sha256": ""},
        {**good, "X-Shopify-Hmac-Sha256": "bm90IGEgc2lnbmF0dXJl"},
        {**good, "X-Shopify-Hmac-Sha256": b64hmac(other.secret, body)},  # another store's
        {**good, "X-Shopify-Hmac-Sha256": good["X-Shopify-Hmac-Sha256"].lower()},
    ]
    for headers in cases:
        assert_problem(await client.post(url, content=body, headers=headers), 401)
    # signed bytes differ from sent bytes (re-serialised JSON): still 401
    reencoded = json.dumps(SHOPIFY_ORDER).encode()
    assert_problem(await client.post(url, content=reencoded, headers=good), 401)
    assert await inbox(sessionmaker, shop) == []


async def test_duplicate_delivery_is_200_and_one_row(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    headers = shopify_headers(shop.secret, body)
    url = f"/webhooks/shopify/{shop.id}"
    first = (await client.post(url, content=body, headers=headers)).json()
    # Shopify retries the same event with a new webhook id but the same event id
    retry = {**headers, "X-Shopify-Webhook-Id": str(uuid.uuid4())}
    second = await client.post(url, content=body, headers=retry)
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "id": first["id"]}
    assert len(await inbox(sessionmaker, shop)) == 1
    # without X-Shopify-Event-Id the webhook id is the key
    no_event = {k: v for k, v in headers.items() if k != "X-Shopify-Event-Id"}
    a = (await client.post(url, content=body, headers=no_event)).json()
    b = (await client.post(url, content=body, headers=no_event)).json()
    assert a["status"] == "accepted" and b == {"status": "duplicate", "id": a["id"]}
    rows = await inbox(sessionmaker, shop)
    assert len(rows) == 2
    assert no_event["X-Shopify-Webhook-Id"] in {r.external_id for r in rows}


async def test_concurrent_deliveries_and_duplicates_group_commit_correctly(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    distinct = [shopify_headers(shop.secret, body) for _ in range(20)]
    sends = distinct * 3
    random.shuffle(sends)
    url = f"/webhooks/shopify/{shop.id}"
    results = await asyncio.gather(*(client.post(url, content=body, headers=h) for h in sends))
    assert all(r.status_code == 200 for r in results)
    by_event: dict[str, set[str]] = {}
    statuses = []
    for headers, resp in zip(sends, results, strict=True):
        by_event.setdefault(headers["X-Shopify-Event-Id"], set()).add(resp.json()["id"])
        statuses.append(resp.json()["status"])
    assert statuses.count("accepted") == 20 and statuses.count("duplicate") == 40
    assert all(len(ids) == 1 for ids in by_event.values())  # every copy names the same row
    rows = await inbox(sessionmaker, shop)
    assert {str(r.id) for r in rows} == {next(iter(ids)) for ids in by_event.values()}


async def test_2xx_only_after_commit(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)

    async def deliver_and_look() -> bool:
        resp = await client.post(
            f"/webhooks/shopify/{shop.id}", content=body, headers=shopify_headers(shop.secret, body)
        )
        assert resp.status_code == 200
        async with sessionmaker() as session:  # another connection, right at receipt
            found = await session.get(WebhookEvent, uuid.UUID(resp.json()["id"]))
        return found is not None

    assert all(await asyncio.gather(*(deliver_and_look() for _ in range(25))))


async def test_database_down_is_503_never_2xx(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    receiver: WebhookReceiver,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    url = f"/webhooks/shopify/{shop.id}"
    await client.post(url, content=body, headers=shopify_headers(shop.secret, body))  # cache it
    writer = receiver.writer
    assert writer is not None
    dead = create_engine(
        settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}),
        "postgresql+asyncpg://nobody@127.0.0.1:9/none",
    )
    receiver.writer = InboxWriter(dead, None)
    try:
        resp = await client.post(url, content=body, headers=shopify_headers(shop.secret, body))
    finally:
        receiver.writer = writer
        await dead.dispose()
    assert_problem(resp, 503)
    assert len(await inbox(sessionmaker, shop)) == 1


async def test_redis_down_still_acknowledges_the_committed_row(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    receiver: WebhookReceiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The row is the record of truth: a failed enqueue is counted and left to the sweeper."""
    body = dumps(SHOPIFY_ORDER)
    url = f"/webhooks/shopify/{shop.id}"
    writer = receiver.writer
    assert writer is not None
    down = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    receiver.writer = InboxWriter(writer.engine, down, on_enqueue_failure=writer.on_enqueue_failure)
    failures = receiver.counters.enqueue_failures
    try:
        resp = await client.post(url, content=body, headers=shopify_headers(shop.secret, body))
    finally:
        receiver.writer = writer
        await down.aclose()
    assert resp.status_code == 200 and resp.json()["status"] == "accepted", resp.text
    assert receiver.counters.enqueue_failures == failures + 1
    [row] = await inbox(sessionmaker, shop)
    assert row.status == "pending" and str(row.id) == resp.json()["id"]


async def test_unknown_wrong_kind_disabled_and_malformed_are_404(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    woo: StoreIntegration,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    headers = shopify_headers(shop.secret, body)
    for path in (
        f"/webhooks/shopify/{uuid.uuid4()}",  # unknown
        f"/webhooks/woocommerce/{shop.id}",  # a Shopify integration on the WooCommerce URL
        f"/webhooks/orders/{shop.id}",
        f"/webhooks/shopify/{woo.id}",
        "/webhooks/shopify/not-a-uuid",
        f"/webhooks/magento/{shop.id}",
        f"/webhooks/shopify/{shop.id}/extra",
    ):
        assert_problem(await client.post(path, content=body, headers=headers), 404)
    resp = await client.post(f"/v1/integrations/{shop.id}/disable", headers=tenant.headers)
    assert resp.status_code == 200
    assert_problem(
        await client.post(f"/webhooks/shopify/{shop.id}", content=body, headers=headers), 404
    )
    resp = await client.post(f"/v1/integrations/{shop.id}/enable", headers=tenant.headers)
    assert resp.status_code == 200
    ok = await client.post(f"/webhooks/shopify/{shop.id}", content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    get = await client.get(f"/webhooks/shopify/{shop.id}")
    assert_problem(get, 405)
    assert get.headers["allow"] == "POST"
    assert len(await inbox(sessionmaker, shop)) == 1


async def test_body_over_one_mebibyte_is_413(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = b'{"note": "' + b"x" * (1024 * 1024) + b'"}'
    headers = shopify_headers(shop.secret, body)
    url = f"/webhooks/shopify/{shop.id}"
    assert_problem(await client.post(url, content=body, headers=headers), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted while reading
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    assert_problem(await client.post(url, content=chunks(), headers=headers), 413)
    assert await inbox(sessionmaker, shop) == []


async def test_rotated_secret_old_works_within_grace_not_after(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    tenant: Tenant,
    receiver: WebhookReceiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    url = f"/webhooks/shopify/{shop.id}"
    assert (
        await client.post(url, content=body, headers=shopify_headers(shop.secret, body))
    ).status_code == 200  # the receiver now caches the old secret
    rotated = await client.post(f"/v1/integrations/{shop.id}/rotate-secret", headers=tenant.headers)
    new = rotated.json()["signing_secret"]
    for secret in (new, shop.secret):  # both verify during the grace period
        resp = await client.post(url, content=body, headers=shopify_headers(secret, body))
        assert resp.status_code == 200, resp.text
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Integration)
            .where(Integration.id == shop.id)
            .values(previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert receiver.cache is not None
    receiver.cache.invalidate(shop.id)
    assert_problem(
        await client.post(url, content=body, headers=shopify_headers(shop.secret, body)), 401
    )
    resp = await client.post(url, content=body, headers=shopify_headers(new, body))
    assert resp.status_code == 200
    assert len(await inbox(sessionmaker, shop)) == 4


async def test_secret_rotated_in_another_process_verifies_without_waiting(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    receiver: WebhookReceiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A stale cached snapshot is reloaded once when a signature fails against it."""
    body = dumps(SHOPIFY_ORDER)
    url = f"/webhooks/shopify/{shop.id}"
    assert (
        await client.post(url, content=body, headers=shopify_headers(shop.secret, body))
    ).status_code == 200
    new = "rotated-elsewhere-" + uuid.uuid4().hex
    async with sessionmaker() as session, session.begin():  # what another API process did
        await session.execute(
            update(Integration).where(Integration.id == shop.id).values(signing_secret=new)
        )
    assert receiver.cache is not None
    expires, snapshot = receiver.cache.entries[shop.id]
    assert snapshot is not None
    aged = dataclasses.replace(snapshot, loaded_at=snapshot.loaded_at - 5)
    receiver.cache.entries[shop.id] = (expires, aged)
    resp = await client.post(url, content=body, headers=shopify_headers(new, body))
    assert resp.status_code == 200, resp.text


async def test_webhook_metrics(client: httpx.AsyncClient, shop: StoreIntegration) -> None:
    body = dumps(SHOPIFY_ORDER)
    headers = shopify_headers(shop.secret, body)
    url = f"/webhooks/shopify/{shop.id}"
    await client.post(url, content=body, headers=headers)
    await client.post(url, content=body, headers=headers)
    await client.post(url, content=body, headers={**headers, "X-Shopify-Hmac-Sha256": "x"})
    text = (await client.get("/metrics")).text
    for outcome in ("accepted", "duplicate", "rejected"):
        assert f'vouch_webhooks_total{{outcome="{outcome}",source="shopify"}}' in text
    assert 'vouch_webhook_rejections_total{reason="signature",source="shopify"}' in text


# --------------------------------------------------------------------------- WooCommerce
async def test_woocommerce_order_and_dedupe(
    client: httpx.AsyncClient,
    woo: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    url = f"/webhooks/woocommerce/{woo.id}"
    body = dumps(WOO_ORDER)
    headers = woo_headers(woo.secret, body)
    first = await client.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    assert await queued(redis, first.json()["id"])
    # the same state re-delivered (a new delivery id): a duplicate
    again = await client.post(url, content=body, headers=woo_headers(woo.secret, body))
    assert again.json() == {"status": "duplicate", "id": first.json()["id"]}
    # the order changed (cancelled), same delivery id (same second): a new event
    cancelled = dumps({**WOO_ORDER, "status": "cancelled", "date_modified": "2024-05-02T09:00:00"})
    resp = await client.post(
        url,
        content=cancelled,
        headers={
            **woo_headers(woo.secret, cancelled, "order.updated"),
            "X-WC-Webhook-Delivery-ID": headers["X-WC-Webhook-Delivery-ID"],
        },
    )
    assert resp.json()["status"] == "accepted"
    rows = sorted(await inbox(sessionmaker, woo), key=lambda r: r.received_at)
    assert [r.topic for r in rows] == ["order.created", "order.updated"]
    assert rows[0].external_id == f"12:order.created:{hashlib.sha256(body).hexdigest()}"


async def test_woocommerce_activation_ping_is_200_without_a_row(
    client: httpx.AsyncClient, woo: StoreIntegration, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    url = f"/webhooks/woocommerce/{woo.id}"
    resp = await client.post(
        url,
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200 and resp.json() == {"status": "ping"}
    # anything else unsigned is refused
    for body in (b"webhook_id=12&x=1", dumps(WOO_ORDER), b""):
        resp = await client.post(url, content=body, headers={"X-WC-Webhook-Topic": "order.created"})
        assert_problem(resp, 401)
    # and the ping needs a live integration of the right kind
    assert_problem(
        await client.post(f"/webhooks/woocommerce/{uuid.uuid4()}", content=b"webhook_id=12"), 404
    )
    assert await inbox(sessionmaker, woo) == []


async def test_woocommerce_bad_signature_is_401(
    client: httpx.AsyncClient, woo: StoreIntegration, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = dumps(WOO_ORDER)
    headers = woo_headers("not-the-secret-at-all", body)
    resp = await client.post(f"/webhooks/woocommerce/{woo.id}", content=body, headers=headers)
    assert_problem(resp, 401)
    assert await inbox(sessionmaker, woo) == []


# --------------------------------------------------------------------------- Standard Webhooks
async def test_vouch_order_format_signed_per_standard_webhooks(
    client: httpx.AsyncClient,
    custom: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    url = f"/webhooks/orders/{custom.id}"
    body = dumps(VOUCH_ORDER)
    headers = standard_headers(custom.secret, body)
    resp = await client.post(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    assert await queued(redis, resp.json()["id"])
    dup = await client.post(url, content=body, headers=headers)
    assert dup.json() == {"status": "duplicate", "id": resp.json()["id"]}
    [row] = await inbox(sessionmaker, custom)
    assert (row.source, row.topic, row.external_id) == ("orders", "order", headers["webhook-id"])
    assert row.source_timestamp == datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)


async def test_standard_webhooks_rejections(
    client: httpx.AsyncClient,
    custom: StoreIntegration,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    url = f"/webhooks/orders/{custom.id}"
    body = dumps(VOUCH_ORDER)
    now = datetime.now(UTC)
    other = await make_integration(sessionmaker, tenant.brand_id, "custom")
    good = standard_headers(custom.secret, body)
    cases = [
        standard_headers(custom.secret, body, at=now - timedelta(minutes=6)),  # stale
        standard_headers(custom.secret, body, at=now + timedelta(minutes=6)),  # future
        standard_headers(other.secret, body),  # another integration's secret
        {k: v for k, v in good.items() if k != "webhook-signature"},
        {k: v for k, v in good.items() if k != "webhook-timestamp"},
        {k: v for k, v in good.items() if k != "webhook-id"},
        {**good, "webhook-id": "msg_other"},  # the id is signed too
        {**good, "webhook-signature": good["webhook-signature"].replace("v1,", "v2,")},
        {**good, "webhook-timestamp": "soon"},
    ]
    for headers in cases:
        assert_problem(await client.post(url, content=body, headers=headers), 401)
    assert await inbox(sessionmaker, custom) == []
    # several signatures (the sender rotating): one match is enough
    several = {
        **good,
        "webhook-signature": "v1,bm9wZQ== " + good["webhook-signature"] + " v1a,xyz",
    }
    assert (await client.post(url, content=body, headers=several)).status_code == 200


def test_standard_webhooks_verification_matches_the_reference() -> None:
    """Our verifier accepts exactly what `standardwebhooks` accepts (and signs identically)."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    for n in range(300):
        secret = "whsec_" + base64.b64encode(rng.randbytes(32)).decode()
        other = "whsec_" + base64.b64encode(rng.randbytes(24)).decode()
        body = json.dumps({"n": n, "text": "héllo ✓", "r": rng.random()}).encode()
        msg_id = f"msg_{rng.getrandbits(64):x}"
        at = now + timedelta(seconds=rng.choice([0, -200, 200, -299, -301, 301, 3600]))
        ts = int(at.timestamp())
        sig = Webhook(secret).sign(msg_id, at, body.decode())
        assert sig == sign_standard(key_bytes(Scheme.STANDARD, secret), msg_id, ts, body)
        variant = rng.choice(["ok", "body", "id", "key", "multi", "garbage"])
        header_sig, sent_body, sent_id = sig, body, msg_id
        if variant == "body":
            sent_body = body.replace(b"n", b"m", 1)
        elif variant == "id":
            sent_id = msg_id + "x"
        elif variant == "key":
            header_sig = Webhook(other).sign(msg_id, at, body.decode())
        elif variant == "multi":
            header_sig = f"{Webhook(other).sign(msg_id, at, body.decode())} {sig}"
        elif variant == "garbage":
            header_sig = "v1,!!!!"
        headers = {
            "webhook-id": sent_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": header_sig,
        }
        try:
            Webhook(secret).verify(sent_body.decode(), headers)
            reference = True
        except (WebhookVerificationError, ValueError):
            reference = False
        ours = verify_standard(
            [SigningKey(key_bytes(Scheme.STANDARD, secret), None)],
            sent_body,
            sent_id,
            str(ts),
            header_sig,
            time.time(),
        )
        assert (ours is StandardVerdict.OK) == reference, (variant, ts, ours)


async def test_unsigned_requests_write_nothing_across_sources(
    client: httpx.AsyncClient,
    shop: StoreIntegration,
    woo: StoreIntegration,
    custom: StoreIntegration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = dumps(SHOPIFY_ORDER)
    for source, integration in (("shopify", shop), ("woocommerce", woo), ("orders", custom)):
        resp = await client.post(
            f"/webhooks/{source}/{integration.id}",
            content=body,
            headers={"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"},
        )
        assert_problem(resp, 401)
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.integration_id.in_([shop.id, woo.id, custom.id]))
        )
    assert count == 0
