"""Small async factories. Each commits, as a real caller's transaction would."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.brands import service as brands


@dataclass(frozen=True)
class Tenant:
    brand_id: uuid.UUID
    key_id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_tenant(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str = "Brand",
    *,
    scopes: list[str] | None = None,
    allowed_domains: list[str] | None = None,
) -> Tenant:
    async with sessionmaker() as session, session.begin():
        brand = await brands.create_brand(
            session, name, allowed_domains=allowed_domains or ["shop.example.com"]
        )
        issued = await brands.issue_key(session, brand.id, name="test", scopes=scopes)
    return Tenant(brand_id=brand.id, key_id=issued.key.id, key=issued.secret)


async def make_key(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, scopes: list[str]
) -> str:
    async with sessionmaker() as session, session.begin():
        issued = await brands.issue_key(session, brand_id, name="extra", scopes=scopes)
    return issued.secret


# --- campaigns (tests/api/test_campaigns.py, tests/api/test_kpis_costs.py) --------------------
# Rows inserted directly, for tests that need a campaign or collaboration without the API.


async def insert_campaign_row(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    *,
    name: str = "Campaign",
    currency: str = "USD",
    budget_minor: int | None = None,
    status: str = "draft",
) -> uuid.UUID:
    from shared.models import Campaign

    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name=name,
            slug=f"c-{uuid.uuid4().hex[:12]}",
            goal="sales",
            currency=currency,
            budget_minor=budget_minor,
            status=status,
        )
        session.add(campaign)
    return campaign.id


async def insert_collaboration_row(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    status: str = "prospect",
    currency: str = "USD",
    flat_fee_minor: int | None = None,
    gifted_value_minor: int | None = None,
) -> uuid.UUID:
    """A collaboration with a fresh influencer of the same brand."""
    from shared.models import Collaboration, Influencer

    async with sessionmaker() as session, session.begin():
        influencer = Influencer(brand_id=brand_id, name=f"Creator {uuid.uuid4().hex[:6]}")
        session.add(influencer)
        await session.flush()
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign_id,
            influencer_id=influencer.id,
            status=status,
            currency=currency,
            flat_fee_minor=flat_fee_minor,
            gifted_value_minor=gifted_value_minor,
        )
        session.add(collab)
    return collab.id


# --- end campaigns ---------------------------------------------------------------------------


# --- links and promo codes (tests/api/test_links.py, tests/api/test_promo_codes.py) ----------


@dataclass(frozen=True)
class LinkCollaboration:
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    campaign_slug: str


async def make_link_collaboration(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    *,
    campaign_slug: str | None = None,
    accounts: list[tuple[str, str, int]] | None = None,
) -> LinkCollaboration:
    """A campaign, an influencer with social `accounts` [(platform, handle, followers)] and
    their collaboration, all of `brand_id`."""
    from shared.models import Campaign, Collaboration, Influencer, SocialAccount

    slug = campaign_slug or f"camp-{uuid.uuid4().hex[:10]}"
    async with sessionmaker() as session, session.begin():
        campaign = Campaign(brand_id=brand_id, name=slug, slug=slug, goal="traffic", currency="USD")
        influencer = Influencer(brand_id=brand_id, name=f"Creator {uuid.uuid4().hex[:6]}")
        session.add_all([campaign, influencer])
        await session.flush()
        for platform, handle, followers in accounts or []:
            session.add(
                SocialAccount(
                    brand_id=brand_id,
                    influencer_id=influencer.id,
                    platform=platform,
                    handle=handle,
                    followers=followers,
                )
            )
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign.id,
            influencer_id=influencer.id,
            currency="USD",
        )
        session.add(collab)
    return LinkCollaboration(collab.id, campaign.id, influencer.id, slug)


# --- end links and promo codes ---------------------------------------------------------------


# --- collaborations and deliverables (tests/api/test_collaborations.py, test_deliverables.py,
# test_collaboration_flow.py, tests/worker/test_deliverable_crons.py) -------------------------


@dataclass(frozen=True)
class CollabParties:
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID


async def make_collab_parties(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    *,
    currency: str = "USD",
    budget_minor: int | None = None,
) -> CollabParties:
    """A campaign and an influencer of `brand_id`, ready to be paired."""
    from shared.models import Campaign, Influencer

    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Collab campaign",
            slug=f"collab-{uuid.uuid4().hex[:12]}",
            goal="sales",
            currency=currency,
            budget_minor=budget_minor,
        )
        influencer = Influencer(brand_id=brand_id, name=f"Creator {uuid.uuid4().hex[:6]}")
        session.add_all([campaign, influencer])
    return CollabParties(campaign.id, influencer.id)


COLLAB_TERMS: dict[str, Any] = {
    "deliverables": [
        {"type": "reel", "platform": "instagram", "count": 2, "due_dates": ["2030-01-10"]},
    ],
    "approval_required": True,
    "usage_rights": {"scope": ["organic"], "territory": "EU"},
}


async def api_collaboration(
    client: httpx.AsyncClient,
    tenant: Tenant,
    parties: CollabParties,
    *,
    to: str = "prospect",
    terms: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a collaboration through the API and drive it to `to` (putting `terms`, default
    COLLAB_TERMS, before contracting). Returns the collaboration body."""
    resp = await client.post(
        "/v1/collaborations",
        headers=tenant.headers,
        json={
            "campaign_id": str(parties.campaign_id),
            "influencer_id": str(parties.influencer_id),
            **fields,
        },
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    path = ["contacted", "negotiating", "contracted", "active", "completed"]
    if to == "prospect":
        return body
    for step in path[: path.index(to) + 1]:
        if step == "contracted":
            put = await client.put(
                f"/v1/collaborations/{body['id']}/terms",
                headers=tenant.headers,
                json=terms if terms is not None else COLLAB_TERMS,
            )
            assert put.status_code in (200, 201), put.text
        resp = await client.post(
            f"/v1/collaborations/{body['id']}/transitions",
            headers=tenant.headers,
            json={"to": step},
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
    return body


# --- end collaborations and deliverables ------------------------------------------------------


# --- influencers (tests/api/test_influencers.py, tests/api/test_influencer_import.py) ---------


async def make_influencer(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    name: str = "Jane Runner",
    *,
    accounts: list[dict[str, object]] | None = None,
    **fields: object,
) -> uuid.UUID:
    """An influencer through the roster service; `accounts` as {platform, handle, ...}."""
    from shared.influencers import service as roster

    async with sessionmaker() as session, session.begin():
        view = await roster.create_influencer(
            session, brand_id, {"name": name, **fields}, accounts or []
        )
    return view.influencer.id


async def make_collaboration_for(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    influencer_id: uuid.UUID,
    *,
    status: str = "prospect",
) -> uuid.UUID:
    """A collaboration of `influencer_id` in a fresh campaign (rows inserted directly)."""
    from shared.models import Campaign, Collaboration

    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Roster test",
            slug=f"roster-{uuid.uuid4().hex[:12]}",
            goal="sales",
            currency="USD",
        )
        session.add(campaign)
        await session.flush()
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign.id,
            influencer_id=influencer_id,
            status=status,
            currency="USD",
        )
        session.add(collab)
    return collab.id


# --- end influencers ---------------------------------------------------------------------------


# --- redirect and clicks (tests/api/test_redirect.py, tests/worker/test_click_pipeline.py) ----


async def make_link(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    redis: Any,
    *,
    handle: str | None = None,
    **fields: Any,
) -> Any:
    """A tracking link created through the links service (commit, then its after-commit cache
    invalidation against `redis`), on a fresh collaboration of `brand_id` whose influencer
    has one Instagram account, `handle`."""
    from shared.jobs import flush_jobs
    from shared.links.service import create_link

    handle = handle or f"creator{uuid.uuid4().hex[:8]}"
    collab = await make_link_collaboration(
        sessionmaker, brand_id, accounts=[("instagram", handle, 5000)]
    )
    fields.setdefault("destination_url", "https://shop.example.com/p")
    async with sessionmaker() as session:
        link = await create_link(
            session, brand_id, collaboration_id=collab.collaboration_id, **fields
        )
        await session.commit()
        await flush_jobs(session, redis)
    return link


async def change_link(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    link_id: uuid.UUID,
    redis: Any,
    **fields: Any,
) -> Any:
    """update_link through the service, committed, with its cache invalidation."""
    from shared.jobs import flush_jobs
    from shared.links.service import update_link

    async with sessionmaker() as session:
        link = await update_link(session, brand_id, link_id, **fields)
        await session.commit()
        await flush_jobs(session, redis)
    return link


# --- end redirect and clicks -------------------------------------------------------------------


# --- outbound webhooks (tests/api/test_webhook_endpoints.py,
# tests/worker/test_outbound_delivery.py) -------------------------------------------------------


async def record_outbox_event(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    type_: str,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An outbox event recorded (and committed) the way producers do; returns its id."""
    from sqlalchemy import select

    from shared.events import record_event
    from shared.models import OutboxEvent

    key = f"test:{uuid.uuid4()}"
    async with sessionmaker() as session, session.begin():
        await record_event(session, brand_id, type_, payload or {"n": 1}, dedupe_key=key)
        event_id: uuid.UUID = (
            await session.execute(
                select(OutboxEvent.id).where(
                    OutboxEvent.brand_id == brand_id, OutboxEvent.dedupe_key == key
                )
            )
        ).scalar_one()
    return event_id


async def api_webhook_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, url: str, event_types: list[str], **fields: Any
) -> dict[str, Any]:
    """POST /v1/webhook-endpoints; returns the body (with the one-time `secret`)."""
    resp = await client.post(
        "/v1/webhook-endpoints",
        headers=tenant.headers,
        json={"url": url, "event_types": event_types, **fields},
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


# --- end outbound webhooks ---------------------------------------------------------------------


# --- integrations and the webhook inbox (tests/api/test_integrations.py,
# tests/api/test_webhook_intake.py, tests/worker/test_inbox_processing.py) ---------------------


@dataclass(frozen=True)
class StoreIntegration:
    id: uuid.UUID
    brand_id: uuid.UUID
    kind: str
    secret: str


async def make_integration(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    kind: str = "shopify",
    **fields: Any,
) -> StoreIntegration:
    """An active integration through the service; returns its one-time signing secret."""
    from shared.integrations.service import create_integration

    fields.setdefault("name", f"{kind} store")
    async with sessionmaker() as session, session.begin():
        issued = await create_integration(session, brand_id, kind=kind, **fields)
    return StoreIntegration(issued.integration.id, brand_id, kind, issued.secret)


async def insert_webhook_event(
    sessionmaker: async_sessionmaker[AsyncSession],
    integration: StoreIntegration,
    *,
    source: str | None = None,
    topic: str = "orders/create",
    body: bytes = b"{}",
    **fields: Any,
) -> uuid.UUID:
    """An inbox row inserted directly (as the receiver would, minus the queue)."""
    from shared.models import WebhookEvent

    async with sessionmaker() as session, session.begin():
        event = WebhookEvent(
            brand_id=integration.brand_id,
            integration_id=integration.id,
            source=source or {"custom": "orders"}.get(integration.kind, integration.kind),
            topic=topic,
            external_id=fields.pop("external_id", uuid.uuid4().hex),
            headers=fields.pop("headers", {"x-test": "1"}),
            body=body,
            **fields,
        )
        session.add(event)
    return event.id


async def process_together(
    sessionmaker: async_sessionmaker[AsyncSession], ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """Lock exactly these inbox events in one transaction and run the real processor over
    them as one claimed batch (as the worker's drain does). Returns the outcome counts."""
    from sqlalchemy import select

    from shared.models import WebhookEvent
    from shared.webhooks.processing import process_claimed

    async with sessionmaker() as session, session.begin():
        events = (
            (
                await session.execute(
                    select(WebhookEvent)
                    .where(WebhookEvent.id.in_(list(ids)))
                    .order_by(WebhookEvent.received_at, WebhookEvent.id)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        outcome = await process_claimed(session, events, max_attempts=5)
    return outcome.counts()


# --- end integrations and the webhook inbox ----------------------------------------------------


# --- orders, attribution and commissions (tests/worker/test_orders_*.py, tests/api/test_orders.py,
# tests/api/test_commissions.py, tests/reliability/test_orders_sigkill.py, bench/attribution.py)


@dataclass(frozen=True)
class Earner:
    """A collaboration that earns commission: its campaign (active) and influencer."""

    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    email: str


async def make_earner(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    *,
    commission_bps: int | None = 1000,
    commission_fixed_minor: int | None = None,
    currency: str = "USD",
    status: str = "active",
    campaign_status: str = "active",
    hold_days: int = 30,
    window_days: int = 30,
    policy: dict[str, Any] | None = None,
    email: str | None = None,
) -> Earner:
    """An active campaign, an influencer (with an e-mail) and their active collaboration,
    rows inserted directly."""
    from shared.models import Campaign, Collaboration, Influencer

    email = email or f"creator-{uuid.uuid4().hex[:8]}@example.com"
    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name="Orders campaign",
            slug=f"orders-{uuid.uuid4().hex[:12]}",
            goal="sales",
            currency=currency,
            status=campaign_status,
            commission_hold_days=hold_days,
            attribution_window_days=window_days,
            attribution_policy=policy,
        )
        influencer = Influencer(
            brand_id=brand_id, name=f"Creator {uuid.uuid4().hex[:6]}", email=email
        )
        session.add_all([campaign, influencer])
        await session.flush()
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign.id,
            influencer_id=influencer.id,
            status=status,
            currency=currency,
            commission_bps=commission_bps,
            commission_fixed_minor=commission_fixed_minor,
        )
        session.add(collab)
    return Earner(collab.id, campaign.id, influencer.id, email)


async def make_promo(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    collaboration_id: uuid.UUID,
    code: str,
    *,
    generic: bool = False,
    active: bool = True,
) -> uuid.UUID:
    from shared.models import PromoCode

    async with sessionmaker() as session, session.begin():
        promo = PromoCode(
            brand_id=brand_id,
            collaboration_id=collaboration_id,
            code=code,
            generic=generic,
            active=active,
        )
        session.add(promo)
    return promo.id


async def make_tracking_link(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, collaboration_id: uuid.UUID
) -> uuid.UUID:
    from shared.models import TrackingLink

    async with sessionmaker() as session, session.begin():
        link = TrackingLink(
            brand_id=brand_id,
            collaboration_id=collaboration_id,
            code=f"t{uuid.uuid4().hex[:12]}",
            destination_url="https://shop.example.com/",
        )
        session.add(link)
    return link.id


def click_id_for(settings: Any, link_id: uuid.UUID, at: Any) -> str:
    """A genuine `vclid` for a click on `link_id` at datetime `at`."""
    from shared.links.clickid import ClickIds
    from shared.secrets import secret_key

    ms = int(at.timestamp() * 1000)
    return ClickIds(secret_key(settings)).issue(ClickIds.prefix(link_id), ms)


async def deliver_event(
    sessionmaker: async_sessionmaker[AsyncSession],
    integration: StoreIntegration,
    topic: str,
    body: dict[str, Any] | bytes,
    *,
    source_timestamp: Any = None,
    external_id: str | None = None,
) -> str:
    """Insert an inbox row and run the real inbox processor on it (order handlers
    registered): returns the event's status, e.g. "handled"."""
    import orjson

    import services.worker.jobs.orders  # noqa: F401  (registers the order handlers)
    from shared.models import WebhookEvent
    from shared.webhooks.processing import process_event

    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    event_id = await insert_webhook_event(
        sessionmaker,
        integration,
        topic=topic,
        body=raw,
        source_timestamp=source_timestamp,
        external_id=external_id or uuid.uuid4().hex,
    )
    async with sessionmaker() as session, session.begin():
        await process_event(session, event_id, max_attempts=5)
    async with sessionmaker() as session:
        event = await session.get(WebhookEvent, event_id)
        assert event is not None
        if event.status != "handled":
            return f"{event.status}: {event.last_error}"
        return event.status


def money(minor: int, exponent: int = 2) -> str:
    """Minor units as a store's decimal string: 12345 -> "123.45"."""
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"


def shopify_order(
    order_id: int,
    *,
    subtotal_minor: int = 10000,
    total_minor: int | None = None,
    currency: str = "USD",
    codes: list[str] | None = None,
    landing_site: str | None = "/",
    note_attributes: list[dict[str, str]] | None = None,
    email: str | None = "shopper@example.com",
    customer_id: int | None = 555,
    financial_status: str = "paid",
    cancelled_at: str | None = None,
    created_at: str = "2026-11-20T10:00:00-05:00",
    updated_at: str = "2026-11-20T10:00:05-05:00",
    refunds: list[dict[str, Any]] | None = None,
    browser_ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """A Shopify REST Order resource as orders/* webhooks carry it (fields Vouch reads, and
    a few it does not, as a real payload has)."""
    exp = 0 if currency == "JPY" else 2
    total_minor = subtotal_minor + 800 if total_minor is None else total_minor
    codes = codes or []
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id % 100000}",
        "order_number": order_id % 100000,
        "email": email,
        "contact_email": email,
        "created_at": created_at,
        "updated_at": updated_at,
        "processed_at": created_at,
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "currency": currency,
        "presentment_currency": currency,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "subtotal_price": money(subtotal_minor, exp),
        "current_subtotal_price": money(subtotal_minor, exp),
        "total_price": money(total_minor, exp),
        "current_total_price": money(total_minor, exp),
        "total_discounts": money(500 if codes else 0, exp),
        "total_tax": money(0, exp),
        "taxes_included": False,
        "discount_codes": [
            {"code": c, "amount": money(500, exp), "type": "fixed_amount"} for c in codes
        ],
        "landing_site": landing_site,
        "referring_site": "https://www.instagram.com/",
        "source_name": "web",
        "note": None,
        "note_attributes": note_attributes or [],
        "browser_ip": browser_ip,
        "client_details": {"browser_ip": browser_ip, "user_agent": user_agent},
        "customer": (
            {"id": customer_id, "email": email, "first_name": "Sam", "last_name": "Shopper"}
            if customer_id
            else None
        ),
        "line_items": [
            {
                "id": order_id * 10 + 1,
                "product_id": 7001,
                "variant_id": 8001,
                "sku": "TEE-M",
                "title": "Organic tee",
                "quantity": 1,
                "price": money(subtotal_minor, exp),
            }
        ],
        "refunds": refunds or [],
    }


def shopify_refund(
    order_id: int,
    refund_id: int,
    amount_minor: int,
    *,
    currency: str = "USD",
    created_at: str = "2026-11-21T09:00:00-05:00",
) -> dict[str, Any]:
    """A Shopify Refund resource as refunds/create carries it."""
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": created_at,
        "processed_at": created_at,
        "note": "Customer return",
        "restock": True,
        "refund_line_items": [
            {
                "id": refund_id * 10,
                "line_item_id": order_id * 10 + 1,
                "quantity": 1,
                "restock_type": "return",
                "subtotal": money(amount_minor),
                "total_tax": "0.00",
            }
        ],
        "transactions": [
            {
                "id": refund_id * 100,
                "order_id": order_id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "amount": money(amount_minor),
                "currency": currency,
            }
        ],
        "order_adjustments": [],
    }


def woo_order(
    order_id: int,
    *,
    line_totals_minor: tuple[int, ...] = (6000, 4000),
    total_minor: int | None = None,
    currency: str = "EUR",
    status: str = "processing",
    codes: list[str] | None = None,
    meta: dict[str, str] | None = None,
    email: str = "buyer@example.com",
    customer_id: int = 0,
    modified: str = "2026-11-20T15:00:05",
    refunds: list[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A WooCommerce REST v3 order, as order.created / order.updated deliver it."""
    subtotal = sum(line_totals_minor)
    total_minor = subtotal + 495 if total_minor is None else total_minor
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id}",
        "created_via": "checkout",
        "status": status,
        "currency": currency,
        "date_created": "2026-11-20T16:00:00",
        "date_created_gmt": "2026-11-20T15:00:00",
        "date_modified": "2026-11-20T16:00:05",
        "date_modified_gmt": modified,
        "discount_total": money(500 if codes else 0),
        "shipping_total": "4.95",
        "total": money(total_minor),
        "total_tax": "0.00",
        "customer_id": customer_id,
        "customer_ip_address": "203.0.113.9",
        "customer_user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        "billing": {"first_name": "Kim", "last_name": "Buyer", "email": email},
        "payment_method": "stripe",
        "line_items": [
            {
                "id": 100 + i,
                "name": f"Item {i}",
                "product_id": 900 + i,
                "variation_id": 0,
                "quantity": 1,
                "subtotal": money(t),
                "total": money(t),
                "sku": f"SKU-{i}",
                "price": t / 100,
            }
            for i, t in enumerate(line_totals_minor)
        ],
        "coupon_lines": [
            {"id": 300 + i, "code": c, "discount": "5.00", "discount_tax": "0.00"}
            for i, c in enumerate(codes or [])
        ],
        "meta_data": [
            {"id": 500 + i, "key": k, "value": v} for i, (k, v) in enumerate((meta or {}).items())
        ],
        "refunds": [
            {"id": rid, "reason": "", "total": money(-amount)} for rid, amount in refunds or []
        ],
    }


# --- end orders, attribution and commissions ---------------------------------------------------


# --- engagement (tests/api/test_engagement*.py, tests/worker/test_signals.py,
# tests/api/test_recommendations.py) ------------------------------------------------------------


def engagement_post(external_id: str, **fields: Any) -> dict[str, Any]:
    """One post of Vouch's engagement format (defaults: an Instagram reel)."""
    post: dict[str, Any] = {
        "external_post_id": external_id,
        "post_url": f"https://www.instagram.com/reel/{external_id}/",
        "posted_at": "2026-11-01T12:00:00Z",
        "content_type": "reel",
        "caption": "New drop",
    }
    post.update(fields)
    return post


async def deliver_engagement(
    sessionmaker: async_sessionmaker[AsyncSession],
    integration: StoreIntegration,
    body: dict[str, Any] | bytes,
    *,
    source: str = "engagement",
    source_timestamp: Any = None,
) -> str:
    """Insert an engagement inbox row and run the real inbox processor on it (engagement
    handlers registered): returns the event's status ("handled", or "failed: <error>")."""
    import orjson

    import shared.engagement.handlers  # noqa: F401  (registers the engagement handlers)
    from shared.models import WebhookEvent
    from shared.webhooks.processing import process_event

    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    event_id = await insert_webhook_event(
        sessionmaker,
        integration,
        source=source,
        topic=source,
        body=raw,
        source_timestamp=source_timestamp,
    )
    async with sessionmaker() as session, session.begin():
        await process_event(session, event_id, max_attempts=5)
    async with sessionmaker() as session:
        event = await session.get(WebhookEvent, event_id)
        assert event is not None
        return event.status if event.status == "handled" else f"{event.status}: {event.last_error}"


async def recompute_signals(
    sessionmaker: async_sessionmaker[AsyncSession], *account_ids: uuid.UUID, now: Any = None
) -> None:
    """Run the signals recompute for `account_ids`, as the worker job does: it folds the
    deliveries marked since the last run (post metrics, sentiment counts, followers)."""
    from shared.engagement.signals import recompute

    for account_id in account_ids:
        async with sessionmaker() as session, session.begin():
            await recompute(session, account_id, now=now)


# --- end engagement ------------------------------------------------------------------------------


# --- payouts (tests/api/test_payouts.py, tests/reliability/test_payouts_concurrency.py) --------


async def insert_ledger_entries(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    earner: Earner,
    amounts: list[int],
    *,
    status: str = "approved",
    currency: str = "USD",
) -> list[uuid.UUID]:
    """Ledger entries inserted directly, one order each: earned for amounts >= 0, clawback
    for negative ones (as a refund after an earlier payout books it). Returns their ids."""
    from datetime import UTC, datetime

    from shared.models import CommissionEntry, Integration, Order

    now = datetime.now(UTC)
    ids: list[uuid.UUID] = []
    async with sessionmaker() as session, session.begin():
        store = Integration(
            brand_id=brand_id, kind="custom", name="ledger store", signing_secret="whsec_dGVzdA=="
        )
        session.add(store)
        await session.flush()
        for amount in amounts:
            order = Order(
                brand_id=brand_id,
                integration_id=store.id,
                source="orders",
                external_order_id=uuid.uuid4().hex,
                status="paid",
                currency=currency,
                subtotal_minor=abs(amount) * 10,
                total_minor=abs(amount) * 10,
                placed_at=now,
                source_updated_at=now,
                collaboration_id=earner.collaboration_id,
                campaign_id=earner.campaign_id,
                influencer_id=earner.influencer_id,
            )
            session.add(order)
            await session.flush()
            entry = CommissionEntry(
                brand_id=brand_id,
                kind="earned" if amount >= 0 else "clawback",
                status=status,
                amount_minor=amount,
                currency=currency,
                order_id=order.id,
                collaboration_id=earner.collaboration_id,
                campaign_id=earner.campaign_id,
                influencer_id=earner.influencer_id,
                cause="earned" if amount >= 0 else f"refund:{uuid.uuid4().hex[:8]}",
            )
            session.add(entry)
            await session.flush()
            ids.append(entry.id)
    return ids


async def set_flat_fee(
    sessionmaker: async_sessionmaker[AsyncSession],
    collaboration_id: uuid.UUID,
    flat_fee_minor: int,
) -> None:
    from sqlalchemy import update

    from shared.models import Collaboration

    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Collaboration)
            .where(Collaboration.id == collaboration_id)
            .values(flat_fee_minor=flat_fee_minor)
        )


# --- end payouts -------------------------------------------------------------------------------


# --- analytics (tests/worker/test_rollups.py, tests/api/test_reports.py) -----------------------
# Raw rows inserted directly (as the click drain, order handlers and engagement handlers would
# write them); the rollup triggers mark them, `run_rollups` brings the rollups up to date.


@dataclass(frozen=True)
class ReportCollab:
    brand_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    collaboration_id: uuid.UUID
    link_id: uuid.UUID
    account_id: uuid.UUID
    deliverable_id: uuid.UUID
    integration_id: uuid.UUID


async def make_report_campaign(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    *,
    name: str = "Report campaign",
    currency: str = "USD",
    status: str = "active",
    starts_on: Any = None,
    ends_on: Any = None,
) -> uuid.UUID:
    from shared.models import Campaign

    async with sessionmaker() as session, session.begin():
        campaign = Campaign(
            brand_id=brand_id,
            name=name,
            slug=f"rep-{uuid.uuid4().hex[:12]}",
            goal="sales",
            currency=currency,
            status=status,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        session.add(campaign)
    return campaign.id


async def make_report_collab(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    name: str | None = None,
    influencer_id: uuid.UUID | None = None,
    status: str = "active",
    currency: str = "USD",
    flat_fee_minor: int | None = None,
    gifted_value_minor: int | None = None,
    platform: str = "instagram",
    followers: int = 20_000,
    deliverable_type: str = "reel",
) -> ReportCollab:
    """An influencer (new unless `influencer_id`) with one account, their collaboration in
    `campaign_id`, a tracking link, one deliverable and a store integration."""
    from sqlalchemy import select

    from shared.models import (
        Collaboration,
        Deliverable,
        Influencer,
        Integration,
        SocialAccount,
        TrackingLink,
    )

    async with sessionmaker() as session, session.begin():
        if influencer_id is None:
            influencer = Influencer(
                brand_id=brand_id, name=name or f"Creator {uuid.uuid4().hex[:6]}"
            )
            session.add(influencer)
            await session.flush()
            account = SocialAccount(
                brand_id=brand_id,
                influencer_id=influencer.id,
                platform=platform,
                handle=f"h{uuid.uuid4().hex[:10]}",
                followers=followers,
            )
            session.add(account)
            await session.flush()
            influencer_id, account_id = influencer.id, account.id
        else:
            account_id = (
                await session.execute(
                    select(SocialAccount.id)
                    .where(SocialAccount.influencer_id == influencer_id)
                    .order_by(SocialAccount.followers.desc())
                    .limit(1)
                )
            ).scalar_one()
        collab = Collaboration(
            brand_id=brand_id,
            campaign_id=campaign_id,
            influencer_id=influencer_id,
            status=status,
            currency=currency,
            flat_fee_minor=flat_fee_minor,
            gifted_value_minor=gifted_value_minor,
        )
        store = Integration(
            brand_id=brand_id, kind="custom", name="report store", signing_secret="whsec_dGVzdA=="
        )
        session.add_all([collab, store])
        await session.flush()
        link = TrackingLink(
            brand_id=brand_id,
            collaboration_id=collab.id,
            code=f"r{uuid.uuid4().hex[:12]}",
            destination_url="https://shop.example.com/",
        )
        deliverable = Deliverable(
            brand_id=brand_id,
            collaboration_id=collab.id,
            type=deliverable_type,
            platform=platform,
        )
        session.add_all([link, deliverable])
    return ReportCollab(
        brand_id,
        campaign_id,
        influencer_id,
        collab.id,
        link.id,
        account_id,
        deliverable.id,
        store.id,
    )


async def add_clicks(
    sessionmaker: async_sessionmaker[AsyncSession],
    rc: ReportCollab,
    times: list[Any],
    *,
    bot: bool = False,
    unique: bool = True,
) -> None:
    """Clicks on the collaboration's link at the given datetimes (partitions made as needed)."""
    from datetime import date

    from sqlalchemy import insert, text

    from shared.models import Click

    months = sorted({date(t.year, t.month, 1) for t in times})
    async with sessionmaker() as session, session.begin():
        for month in months:
            await session.execute(text("SELECT vouch_create_click_partitions(:m, 1)"), {"m": month})
        await session.execute(
            insert(Click),
            [
                {
                    "clicked_at": t,
                    "brand_id": rc.brand_id,
                    "link_id": rc.link_id,
                    "click_id": uuid.uuid4().hex,
                    "visitor_hash": uuid.uuid4().bytes,
                    "device": "bot" if bot else "mobile",
                    "is_bot": bot,
                    "is_unique": unique and not bot,
                }
                for t in times
            ],
        )


async def add_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    rc: ReportCollab,
    placed_at: Any,
    total_minor: int,
    *,
    refunded_minor: int = 0,
    status: str = "paid",
    currency: str = "USD",
    commission_minor: int | None = None,
    booked_at: Any = None,
) -> uuid.UUID:
    """An order credited to the collaboration; with `commission_minor`, its earned ledger
    entry booked at `booked_at` (default: when the order was placed)."""
    from shared.models import CommissionEntry, Order

    async with sessionmaker() as session, session.begin():
        order = Order(
            brand_id=rc.brand_id,
            integration_id=rc.integration_id,
            source="orders",
            external_order_id=uuid.uuid4().hex,
            status=status,
            currency=currency,
            subtotal_minor=total_minor,
            total_minor=total_minor,
            refunded_minor=refunded_minor,
            placed_at=placed_at,
            source_updated_at=placed_at,
            collaboration_id=rc.collaboration_id,
            campaign_id=rc.campaign_id,
            influencer_id=rc.influencer_id,
        )
        session.add(order)
        await session.flush()
        if commission_minor is not None:
            session.add(
                CommissionEntry(
                    brand_id=rc.brand_id,
                    kind="earned",
                    amount_minor=commission_minor,
                    currency=currency,
                    order_id=order.id,
                    collaboration_id=rc.collaboration_id,
                    campaign_id=rc.campaign_id,
                    influencer_id=rc.influencer_id,
                    cause="earned",
                    created_at=booked_at or placed_at,
                )
            )
    return order.id


async def add_reversal(
    sessionmaker: async_sessionmaker[AsyncSession],
    rc: ReportCollab,
    order_id: uuid.UUID,
    amount_minor: int,
    booked_at: Any,
    *,
    currency: str = "USD",
) -> None:
    """A reversal ledger entry (amount_minor <= 0) for an order, booked at `booked_at`."""
    from shared.models import CommissionEntry

    async with sessionmaker() as session, session.begin():
        session.add(
            CommissionEntry(
                brand_id=rc.brand_id,
                kind="reversal",
                amount_minor=amount_minor,
                currency=currency,
                order_id=order_id,
                collaboration_id=rc.collaboration_id,
                campaign_id=rc.campaign_id,
                influencer_id=rc.influencer_id,
                cause=f"refund:{uuid.uuid4().hex[:8]}",
                created_at=booked_at,
            )
        )


async def update_order(
    sessionmaker: async_sessionmaker[AsyncSession], order_id: uuid.UUID, **values: Any
) -> None:
    from sqlalchemy import update

    from shared.models import Order

    async with sessionmaker() as session, session.begin():
        await session.execute(update(Order).where(Order.id == order_id).values(**values))


async def add_post(
    sessionmaker: async_sessionmaker[AsyncSession],
    rc: ReportCollab,
    *,
    platform: str = "instagram",
    content_type: str = "reel",
    via: str = "deliverable",
) -> uuid.UUID:
    """A post of the collaboration's account, linked to its deliverable (`via="deliverable"`)
    or only to the campaign (`via="campaign"`), or to nothing (`via="none"`)."""
    from shared.models import Post

    async with sessionmaker() as session, session.begin():
        post = Post(
            brand_id=rc.brand_id,
            account_id=rc.account_id,
            platform=platform,
            external_post_id=uuid.uuid4().hex,
            content_type=content_type,
            deliverable_id=rc.deliverable_id if via == "deliverable" else None,
            campaign_id=rc.campaign_id if via in ("deliverable", "campaign") else None,
        )
        session.add(post)
    return post.id


async def add_snapshot(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    post_id: uuid.UUID,
    captured_at: Any,
    **metrics: int | None,
) -> None:
    from shared.models import PostMetricSnapshot

    async with sessionmaker() as session, session.begin():
        session.add(
            PostMetricSnapshot(
                brand_id=brand_id, post_id=post_id, captured_at=captured_at, **metrics
            )
        )


async def add_comment(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    post_id: uuid.UUID,
    posted_at: Any,
    sentiment: str,
) -> None:
    from shared.models import PostComment

    async with sessionmaker() as session, session.begin():
        session.add(
            PostComment(
                brand_id=brand_id,
                post_id=post_id,
                external_id=uuid.uuid4().hex,
                text="nice",
                posted_at=posted_at,
                sentiment=sentiment,
            )
        )


async def add_followers(
    sessionmaker: async_sessionmaker[AsyncSession],
    rc: ReportCollab,
    captured_at: Any,
    followers: int,
) -> None:
    from shared.models import FollowerSnapshot

    async with sessionmaker() as session, session.begin():
        session.add(
            FollowerSnapshot(
                brand_id=rc.brand_id,
                account_id=rc.account_id,
                followers=followers,
                captured_at=captured_at,
            )
        )


async def set_brand(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, **values: Any
) -> None:
    """Update the brand row (e.g. timezone="America/New_York", default_currency="EUR")."""
    from sqlalchemy import update

    from shared.models import Brand

    async with sessionmaker() as session, session.begin():
        await session.execute(update(Brand).where(Brand.id == brand_id).values(**values))


async def run_rollups(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Process every pending rollup mark (as the worker's cron would)."""
    from shared.analytics.rollups import process_dirty

    while True:
        async with sessionmaker() as session, session.begin():
            step = await process_dirty(session, 5000)
        assert step is not None, "rollup lock held elsewhere"
        if step.marks < 5000:
            return


# --- end analytics -------------------------------------------------------------------------------
