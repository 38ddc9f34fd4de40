"""/v1/integrations: store connections, webhook URLs, once-shown rotatable secrets."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import Integration
from tests.factories import Tenant, insert_webhook_event, make_integration
from tests.problems import assert_problem


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict:
    body.setdefault("kind", "shopify")
    body.setdefault("name", "Main store")
    resp = await client.post("/v1/integrations", headers=tenant.headers, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_create_returns_urls_and_secret_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = await create(client, tenant, kind="shopify", shop_domain="Acme-Outdoors.myshopify.com.")
    base = settings.base_url
    assert body["webhook_urls"] == {"shopify": f"{base}/webhooks/shopify/{body['id']}"}
    assert body["shop_domain"] == "acme-outdoors.myshopify.com"
    assert body["currency"] == "USD"  # the brand's default
    assert body["status"] == "active"
    assert body["signature_scheme"] == "shopify-hmac-sha256"
    secret = body["signing_secret"]
    assert len(secret) >= 40
    async with sessionmaker() as session:
        row = await session.get(Integration, uuid.UUID(body["id"]))
        assert row is not None and row.signing_secret == secret
    # never again: not in get, list, update, disable
    got = (await client.get(f"/v1/integrations/{body['id']}", headers=tenant.headers)).json()
    listed = (await client.get("/v1/integrations", headers=tenant.headers)).json()["items"]
    patched = await client.patch(
        f"/v1/integrations/{body['id']}", headers=tenant.headers, json={"name": "Renamed"}
    )
    for shown in (got, *listed, patched.json()):
        assert "signing_secret" not in shown and secret not in str(shown)
    assert patched.json()["name"] == "Renamed"


async def test_urls_and_secret_format_per_kind(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    base = settings.base_url
    woo = await create(client, tenant, kind="woocommerce", currency="eur")
    assert woo["webhook_urls"] == {"woocommerce": f"{base}/webhooks/woocommerce/{woo['id']}"}
    assert woo["currency"] == "EUR"
    custom = await create(client, tenant, kind="custom")
    assert custom["webhook_urls"] == {"orders": f"{base}/webhooks/orders/{custom['id']}"}
    assert custom["signature_scheme"] == "standard-webhooks"
    assert custom["signing_secret"].startswith("whsec_")
    assert len(base64.b64decode(custom["signing_secret"][6:])) == 32
    engagement = await create(client, tenant, kind="engagement")
    assert engagement["webhook_urls"] == {
        "engagement": f"{base}/webhooks/engagement/{engagement['id']}",
        "instagram": f"{base}/webhooks/instagram/{engagement['id']}",
    }


async def test_bring_your_own_secret(client: httpx.AsyncClient, tenant: Tenant) -> None:
    own = "shpss_" + "a" * 32
    body = await create(client, tenant, kind="shopify", signing_secret=own)
    assert body["signing_secret"] == own
    bad = await client.post(
        "/v1/integrations",
        headers=tenant.headers,
        json={"kind": "custom", "name": "x", "signing_secret": "whsec_not!base64!!!!"},
    )
    assert_problem(bad, 422, field="body.signing_secret")


async def test_bad_input_names_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cases = [
        ({"kind": "magento", "name": "x"}, "body.kind"),
        ({"kind": "shopify"}, "body.name"),
        ({"kind": "shopify", "name": "x", "currency": "EURO"}, "body.currency"),
        ({"kind": "shopify", "name": "x", "shop_domain": "https://x.com/a"}, "body.shop_domain"),
        ({"kind": "shopify", "name": "x", "signing_secret": "short"}, "body.signing_secret"),
        ({"kind": "shopify", "name": "x", "secret": "typo"}, "body.secret"),
    ]
    for payload, field in cases:
        resp = await client.post("/v1/integrations", headers=tenant.headers, json=payload)
        assert_problem(resp, 422, field=field)


async def test_rotate_secret_keeps_the_old_one_for_the_grace_period(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = await create(client, tenant, kind="custom")
    old = body["signing_secret"]
    before = datetime.now(UTC)
    resp = await client.post(f"/v1/integrations/{body['id']}/rotate-secret", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    rotated = resp.json()
    new = rotated["signing_secret"]
    assert new != old and new.startswith("whsec_")
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    grace = timedelta(hours=settings.webhook_secret_grace_hours)
    assert before + grace - timedelta(minutes=1) < expires < before + grace + timedelta(minutes=1)
    async with sessionmaker() as session:
        row = await session.get(Integration, uuid.UUID(body["id"]))
        assert row is not None
        assert (row.signing_secret, row.previous_secret) == (new, old)
    got = (await client.get(f"/v1/integrations/{body['id']}", headers=tenant.headers)).json()
    assert "signing_secret" not in got and new not in str(got)
    # A second rotation drops the first secret: at most two verify at a time.
    again = await client.post(
        f"/v1/integrations/{body['id']}/rotate-secret",
        headers=tenant.headers,
        json={"signing_secret": "whsec_" + base64.b64encode(b"k" * 32).decode()},
    )
    assert again.status_code == 200, again.text
    async with sessionmaker() as session:
        row = await session.get(Integration, uuid.UUID(body["id"]))
        assert row is not None
        assert row.previous_secret == new and row.signing_secret == again.json()["signing_secret"]


async def test_disable_enable_state_machine(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await create(client, tenant)
    url = f"/v1/integrations/{body['id']}"
    resp = await client.post(f"{url}/disable", headers=tenant.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "disabled"
    problem = assert_problem(await client.post(f"{url}/disable", headers=tenant.headers), 409)
    assert problem["current_status"] == "disabled" and problem["requested_status"] == "disabled"
    listed = await client.get("/v1/integrations?status=disabled", headers=tenant.headers)
    assert body["id"] in {i["id"] for i in listed.json()["items"]}
    resp = await client.post(f"{url}/enable", headers=tenant.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "active"
    assert_problem(await client.post(f"{url}/enable", headers=tenant.headers), 409)


async def test_delete_only_without_events(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    unused = await create(client, tenant)
    resp = await client.delete(f"/v1/integrations/{unused['id']}", headers=tenant.headers)
    assert resp.status_code == 204
    assert_problem(
        await client.get(f"/v1/integrations/{unused['id']}", headers=tenant.headers), 404
    )
    used = await make_integration(sessionmaker, tenant.brand_id)
    await insert_webhook_event(sessionmaker, used)
    resp = await client.delete(f"/v1/integrations/{used.id}", headers=tenant.headers)
    assert assert_problem(resp, 409)["type"].endswith("integration_has_events")
    async with sessionmaker() as session:
        assert (
            await session.execute(select(Integration.id).where(Integration.id == used.id))
        ).first() is not None


async def test_list_filters_and_pages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [await create(client, tenant, kind="woocommerce", name=f"w{i}") for i in range(3)]
    await create(client, tenant, kind="shopify")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kind": "woocommerce", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/integrations", headers=tenant.headers, params=params)).json()
        seen += [i["id"] for i in page["items"]]
        assert all(i["kind"] == "woocommerce" for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [m["id"] for m in reversed(made)]  # newest first, no gaps


async def test_another_brands_integration_is_404_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = await create(client, tenant)
    url = f"/v1/integrations/{body['id']}"
    h = other_tenant.headers
    assert_problem(await client.get(url, headers=h), 404)
    assert_problem(await client.patch(url, headers=h, json={"name": "x"}), 404)
    assert_problem(await client.post(f"{url}/rotate-secret", headers=h), 404)
    assert_problem(await client.post(f"{url}/disable", headers=h), 404)
    assert_problem(await client.post(f"{url}/enable", headers=h), 404)
    assert_problem(await client.delete(url, headers=h), 404)
    listed = (await client.get("/v1/integrations", headers=h)).json()["items"]
    assert body["id"] not in {i["id"] for i in listed}
    # untouched for its owner
    got = (await client.get(url, headers=tenant.headers)).json()
    assert got["name"] == body["name"] and got["status"] == "active"


async def test_read_only_key_cannot_create(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import bearer, make_key

    key = await make_key(sessionmaker, tenant.brand_id, ["read"])
    resp = await client.post(
        "/v1/integrations", headers=bearer(key), json={"kind": "shopify", "name": "x"}
    )
    assert_problem(resp, 403)
