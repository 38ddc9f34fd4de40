"""/v1/webhook-endpoints, /v1/webhook-deliveries and /v1/events: subscriptions, secrets,
status changes, listing and re-sending. Delivery itself: tests/worker/test_outbound_delivery.py.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import WebhookDelivery, WebhookEndpoint
from shared.outbound.destinations import DestinationRefused, check_destination
from tests.factories import Tenant, api_webhook_endpoint, make_key, record_outbox_event
from tests.problems import assert_problem

# Port 9 (discard) on loopback: nothing listens, so a stray delivery fails at once.
HOOK = "http://127.0.0.1:9/hooks/vouch"
UNKNOWN = "01a20a0f-a0c0-7677-9145-f12f6502aa9d"


@pytest.fixture(autouse=True)
async def _park_endpoints(
    tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """Deliveries these tests create must not be picked up by the delivery tests' worker."""
    yield
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.brand_id == tenant.brand_id, WebhookEndpoint.status == "active")
            .values(
                status="disabled", disabled_reason="manual", disabled_at=WebhookEndpoint.created_at
            )
        )


async def test_create_shows_secret_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await api_webhook_endpoint(
        client,
        tenant,
        HOOK,
        ["payout.paid", "payout.created", "payout.paid"],
        description="Payout provider",
    )
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["event_types"] == ["payout.created", "payout.paid"]  # deduplicated, sorted
    assert body["status"] == "active" and body["disabled_reason"] is None
    got = await client.get(f"/v1/webhook-endpoints/{body['id']}", headers=tenant.headers)
    assert got.status_code == 200 and "secret" not in got.json()
    listed = (await client.get("/v1/webhook-endpoints", headers=tenant.headers)).json()["items"]
    assert body["id"] in {e["id"] for e in listed}
    assert all("secret" not in e for e in listed)


async def test_star_subscribes_to_everything(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid", "*"])
    assert body["event_types"] == ["*"]


async def test_bad_input_names_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cases = [
        ({"url": "ftp://x.example.com/h", "event_types": ["payout.paid"]}, "body.url"),
        ({"url": "https://user:pw@x.example.com/h", "event_types": ["payout.paid"]}, "body.url"),
        ({"url": "not a url", "event_types": ["payout.paid"]}, "body.url"),
        ({"url": "https://x.example.com/h#frag", "event_types": ["payout.paid"]}, "body.url"),
        ({"url": HOOK, "event_types": []}, "body.event_types"),
        ({"url": HOOK, "event_types": ["payout.exploded"]}, "body.event_types.0"),
        ({"url": HOOK}, "body.event_types"),
        ({"url": HOOK, "event_types": ["payout.paid"], "secret": "whsec_x"}, "body.secret"),
    ]
    for payload, field in cases:
        resp = await client.post("/v1/webhook-endpoints", headers=tenant.headers, json=payload)
        assert_problem(resp, 422, field=field)
    made = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    resp = await client.patch(
        f"/v1/webhook-endpoints/{made['id']}",
        headers=tenant.headers,
        json={"url": "javascript:alert(1)"},
    )
    assert_problem(resp, 422, field="body.url")


async def test_production_refuses_private_destinations() -> None:
    for url in (
        "http://127.0.0.1:8080/h",
        "http://localhost/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://printer.local/h",
        "http://0.0.0.0/h",
    ):
        with pytest.raises(DestinationRefused):
            await check_destination(url, allow_private=False)
        await check_destination(url, allow_private=True)  # development and tests: allowed
    await check_destination("https://93.184.215.14/hooks", allow_private=False)


async def test_update_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    resp = await client.patch(
        f"/v1/webhook-endpoints/{made['id']}",
        headers=tenant.headers,
        json={"event_types": ["commission.created"], "description": "ledger"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["event_types"] == ["commission.created"]
    assert resp.json()["description"] == "ledger" and resp.json()["url"] == HOOK
    deleted = await client.delete(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=tenant.headers)
    assert_problem(gone, 404)


async def test_rotate_secret_keeps_previous_for_grace(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    made = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    resp = await client.post(
        f"/v1/webhook-endpoints/{made['id']}/rotate-secret",
        headers=tenant.headers,
        json={"grace_hours": 2},
    )
    assert resp.status_code == 200, resp.text
    rotated = resp.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    async with sessionmaker() as session:
        row = await session.get(WebhookEndpoint, uuid.UUID(made["id"]))
        assert row is not None
        assert row.previous_secret == made["secret"] and row.secret == rotated["secret"]
    # Without a body the server default applies; with grace 0 the old secret stops at once.
    assert (
        await client.post(
            f"/v1/webhook-endpoints/{made['id']}/rotate-secret", headers=tenant.headers
        )
    ).status_code == 200
    again = await client.post(
        f"/v1/webhook-endpoints/{made['id']}/rotate-secret",
        headers=tenant.headers,
        json={"grace_hours": 0},
    )
    assert again.json()["previous_secret_expires_at"] is None
    bad = await client.post(
        f"/v1/webhook-endpoints/{made['id']}/rotate-secret",
        headers=tenant.headers,
        json={"grace_hours": -1},
    )
    assert_problem(bad, 422, field="body.grace_hours")


async def test_enable_disable_is_a_state_machine(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    base = f"/v1/webhook-endpoints/{made['id']}"
    body = assert_problem(await client.post(f"{base}/enable", headers=tenant.headers), 409)
    assert body["current_status"] == "active" and body["requested_status"] == "active"
    off = await client.post(f"{base}/disable", headers=tenant.headers)
    assert off.status_code == 200
    assert off.json()["status"] == "disabled" and off.json()["disabled_reason"] == "manual"
    body = assert_problem(await client.post(f"{base}/disable", headers=tenant.headers), 409)
    assert body["current_status"] == "disabled"
    disabled = await client.get(
        "/v1/webhook-endpoints", headers=tenant.headers, params={"status": "disabled"}
    )
    assert made["id"] in {e["id"] for e in disabled.json()["items"]}
    on = await client.post(f"{base}/enable", headers=tenant.headers)
    assert on.json()["status"] == "active" and on.json()["disabled_reason"] is None


async def test_events_list_and_resend(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    paid = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    other = await api_webhook_endpoint(client, tenant, HOOK + "/2", ["commission.created"])
    event_id = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid", {"x": 1})
    listed = await client.get("/v1/events", headers=tenant.headers, params={"type": "payout.paid"})
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [e["id"] for e in items] == [str(event_id)]
    assert items[0]["payload"] == {"x": 1} and items[0]["dispatched_at"] is None
    got = await client.get(f"/v1/events/{event_id}", headers=tenant.headers)
    assert got.json()["type"] == "payout.paid"

    resent = await client.post(f"/v1/events/{event_id}/resend", headers=tenant.headers)
    assert resent.status_code == 202, resent.text
    deliveries = resent.json()
    assert [d["endpoint_id"] for d in deliveries] == [paid["id"]]  # only the subscriber
    assert deliveries[0]["status"] == "pending" and deliveries[0]["event_id"] == str(event_id)

    # Explicitly to another endpoint: allowed; twice: still one delivery per endpoint.
    for _ in range(2):
        resp = await client.post(
            f"/v1/events/{event_id}/resend",
            headers=tenant.headers,
            json={"endpoint_id": other["id"]},
        )
        assert resp.status_code == 202
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
            )
        ).scalars()
        assert sorted(str(r.endpoint_id) for r in rows) == sorted([paid["id"], other["id"]])
    per_event = await client.get(f"/v1/events/{event_id}/deliveries", headers=tenant.headers)
    assert len(per_event.json()["items"]) == 2
    per_endpoint = await client.get(
        f"/v1/webhook-endpoints/{paid['id']}/deliveries",
        headers=tenant.headers,
        params={"status": "pending"},
    )
    assert [d["event_id"] for d in per_endpoint.json()["items"]] == [str(event_id)]
    delivery_id = per_endpoint.json()["items"][0]["id"]
    one = await client.get(f"/v1/webhook-deliveries/{delivery_id}", headers=tenant.headers)
    assert one.json()["endpoint_id"] == paid["id"]
    attempts = await client.get(
        f"/v1/webhook-deliveries/{delivery_id}/attempts", headers=tenant.headers
    )
    assert attempts.status_code == 200 and attempts.json()["items"] == []

    # A disabled endpoint is refused (409), an unknown one is 404 naming the field.
    await client.post(f"/v1/webhook-endpoints/{other['id']}/disable", headers=tenant.headers)
    resp = await client.post(
        f"/v1/events/{event_id}/resend", headers=tenant.headers, json={"endpoint_id": other["id"]}
    )
    assert assert_problem(resp, 409)["current_status"] == "disabled"
    resp = await client.post(
        f"/v1/events/{event_id}/resend", headers=tenant.headers, json={"endpoint_id": UNKNOWN}
    )
    assert_problem(resp, 404, field="body.endpoint_id")


async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = await make_key(sessionmaker, tenant.brand_id, ["read"])
    resp = await client.post(
        "/v1/webhook-endpoints",
        headers={"Authorization": f"Bearer {key}"},
        json={"url": HOOK, "event_types": ["payout.paid"]},
    )
    assert_problem(resp, 403)
    ok = await client.get("/v1/webhook-endpoints", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200


async def test_another_brands_ids_are_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    made = await api_webhook_endpoint(client, tenant, HOOK, ["payout.paid"])
    event_id = await record_outbox_event(sessionmaker, tenant.brand_id, "payout.paid")
    resent = await client.post(f"/v1/events/{event_id}/resend", headers=tenant.headers)
    delivery_id = resent.json()[0]["id"]
    ep = f"/v1/webhook-endpoints/{made['id']}"
    theirs = other_tenant.headers
    requests = [
        ("GET", ep, None),
        ("PATCH", ep, {"description": "mine now"}),
        ("DELETE", ep, None),
        ("POST", f"{ep}/rotate-secret", None),
        ("POST", f"{ep}/disable", None),
        ("POST", f"{ep}/enable", None),
        ("GET", f"{ep}/deliveries", None),
        ("GET", f"/v1/webhook-deliveries/{delivery_id}", None),
        ("GET", f"/v1/webhook-deliveries/{delivery_id}/attempts", None),
        ("GET", f"/v1/events/{event_id}", None),
        ("GET", f"/v1/events/{event_id}/deliveries", None),
        ("POST", f"/v1/events/{event_id}/resend", None),
    ]
    for method, path, body in requests:
        resp = await client.request(method, path, headers=theirs, json=body)
        assert_problem(resp, 404)
    # Their own event, our endpoint in the body: still 404 (never 403).
    their_event = await record_outbox_event(sessionmaker, other_tenant.brand_id, "payout.paid")
    resp = await client.post(
        f"/v1/events/{their_event}/resend", headers=theirs, json={"endpoint_id": made["id"]}
    )
    assert_problem(resp, 404, field="body.endpoint_id")
    assert str(event_id) not in {
        e["id"] for e in (await client.get("/v1/events", headers=theirs)).json()["items"]
    }
    assert made["id"] not in {
        e["id"] for e in (await client.get("/v1/webhook-endpoints", headers=theirs)).json()["items"]
    }
    # Nothing changed for the owner.
    mine = (await client.get(ep, headers=tenant.headers)).json()
    assert mine["status"] == "active" and mine["description"] is None


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for path in (
        f"/v1/webhook-endpoints/{UNKNOWN}",
        f"/v1/webhook-deliveries/{UNKNOWN}",
        f"/v1/events/{UNKNOWN}",
    ):
        assert_problem(await client.get(path, headers=tenant.headers), 404)
    assert_problem(
        await client.get("/v1/webhook-endpoints/nope", headers=tenant.headers),
        422,
        field="path.endpoint_id",
    )
