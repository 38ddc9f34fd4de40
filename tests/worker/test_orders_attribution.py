"""Attribution through the real inbox: every rule, the policy knobs, and the stored decision's
candidates and reasons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.links.clicks import VisitorHasher
from shared.models import AttributionDecision, Click, CommissionEntry, Order
from shared.secrets import secret_key
from tests.factories import (
    StoreIntegration,
    Tenant,
    click_id_for,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
    make_tracking_link,
    shopify_order,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def store(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> StoreIntegration:
    return await make_integration(sessionmaker, tenant.brand_id, "shopify")


def _oid() -> int:
    return uuid.uuid4().int % 10**12


def _at(delta: timedelta = timedelta()) -> str:
    return (NOW + delta).isoformat()


def _order(oid: int, **kw: Any) -> dict[str, Any]:
    kw.setdefault("created_at", _at())
    kw.setdefault("updated_at", _at(timedelta(seconds=5)))
    return shopify_order(oid, **kw)


async def _decision(
    sm: async_sessionmaker[AsyncSession], store: StoreIntegration, oid: int
) -> tuple[Order, AttributionDecision, list[CommissionEntry]]:
    async with sm() as session:
        order = (
            await session.execute(
                select(Order).where(
                    Order.integration_id == store.id, Order.external_order_id == str(oid)
                )
            )
        ).scalar_one()
        decision = await session.get(AttributionDecision, order.id)
        assert decision is not None
        entries = (
            await session.execute(
                select(CommissionEntry).where(CommissionEntry.order_id == order.id)
            )
        ).scalars()
        return order, decision, list(entries)


def _by_outcome(decision: AttributionDecision) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in decision.candidates:
        out.setdefault(c["outcome"], []).append(c)
    return out


async def test_verified_click_id_credits_the_links_collaboration(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id, commission_bps=500)
    link = await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(days=2))
    oid = _oid()
    body = _order(oid, subtotal_minor=20000, landing_site=f"/p/tee?vclid={clk}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    order, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == earner.collaboration_id and decision.rule == "click_id"
    assert order.click_link_id == link and order.clicked_at is not None
    won = _by_outcome(decision)["won"][0]
    assert won["evidence"]["click_id"] == clk and won["evidence"]["link_id"] == str(link)
    assert [(e.kind, e.amount_minor) for e in entries] == [("earned", 1000)]  # 5% of 200.00


async def test_forged_click_id_is_listed_and_earns_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    link = await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
    genuine = click_id_for(settings, link, NOW - timedelta(hours=1))
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    oid = _oid()
    body = _order(oid, note_attributes=[{"name": "vclid", "value": forged}])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _order_row, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id is None and entries == []
    [cand] = decision.candidates
    assert cand["outcome"] == "ineligible" and "verification" in cand["reason"]
    assert decision.summary.startswith("No credit")


async def test_promo_code_beats_a_click_by_default_and_both_are_explained(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    coded = await make_earner(sessionmaker, tenant.brand_id)
    linked = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, coded.collaboration_id, "MAYA15")
    link = await make_tracking_link(sessionmaker, tenant.brand_id, linked.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(days=1))
    oid = _oid()
    body = _order(oid, codes=["maya15", "NOSUCHCODE"], landing_site=f"/?vclid={clk}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, _e = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == coded.collaboration_id and decision.rule == "promo_code"
    outcomes = _by_outcome(decision)
    assert outcomes["won"][0]["evidence"] == {"code": "maya15"}
    [lost] = outcomes["lost"]
    assert lost["collaboration_id"] == str(linked.collaboration_id)
    assert lost["rule"] == "click_id" and "promo_code rule comes before click_id" in lost["reason"]
    [unknown] = outcomes["ineligible"]
    assert unknown["evidence"] == {"code": "NOSUCHCODE"} and unknown["collaboration_id"] is None


async def test_campaign_policy_can_put_clicks_first(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    policy = {"rules": ["click_id", "promo_code"]}
    coded = await make_earner(sessionmaker, tenant.brand_id, policy=policy)
    linked = await make_earner(sessionmaker, tenant.brand_id, policy=policy)
    await make_promo(sessionmaker, tenant.brand_id, coded.collaboration_id, "CLICKSFIRST")
    link = await make_tracking_link(sessionmaker, tenant.brand_id, linked.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(days=1))
    oid = _oid()
    body = _order(oid, codes=["CLICKSFIRST"], landing_site=f"/?vclid={clk}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, _e = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == linked.collaboration_id and decision.rule == "click_id"
    assert decision.policy is not None and decision.policy["rules"] == ["click_id", "promo_code"]


async def test_click_outside_the_window_does_not_earn(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id, window_days=7)
    link = await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(days=9))
    oid = _oid()
    assert (
        await deliver_event(
            sessionmaker, store, "orders/create", _order(oid, landing_site=f"/?vclid={clk}")
        )
        == "handled"
    )
    _o, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id is None and entries == []
    [cand] = decision.candidates
    assert "outside the campaign's 7-day window" in cand["reason"]


async def test_last_click_by_the_same_customer_without_a_click_id(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    link = await make_tracking_link(sessionmaker, tenant.brand_id, earner.collaboration_id)
    clicked = NOW - timedelta(days=3)
    clk = click_id_for(settings, link, clicked)
    first, second = _oid(), _oid()
    # a first order carried the click id; the customer comes back two days later without it
    body = _order(
        first, customer_id=4242, landing_site=f"/?vclid={clk}", created_at=_at(-timedelta(days=2))
    )
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    body = _order(second, customer_id=4242, landing_site="/", email="other@example.com")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, entries = await _decision(sessionmaker, store, second)
    assert decision.rule == "last_click_within_window"
    assert decision.collaboration_id == earner.collaboration_id
    won = _by_outcome(decision)["won"][0]
    assert won["evidence"]["via"] == "customer" and won["evidence"]["link_id"] == str(link)
    assert len(entries) == 1


async def test_last_click_by_the_same_visitor_from_ip_and_user_agent(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    early = await make_earner(sessionmaker, tenant.brand_id)
    late = await make_earner(sessionmaker, tenant.brand_id)
    early_link = await make_tracking_link(sessionmaker, tenant.brand_id, early.collaboration_id)
    late_link = await make_tracking_link(sessionmaker, tenant.brand_id, late.collaboration_id)
    ip, agent = "198.51.100.23", "Mozilla/5.0 (Macintosh) Safari/605.1.15"
    hasher = VisitorHasher(secret_key(settings))
    async with sessionmaker() as session, session.begin():
        for link, when in (
            (early_link, NOW - timedelta(days=5)),
            (late_link, NOW - timedelta(days=1)),
        ):
            await session.execute(
                text("SELECT vouch_create_click_partitions(CAST(:d AS date), 1)"),
                {"d": when.date()},
            )
            ms = int(when.timestamp() * 1000)
            session.add(
                Click(
                    clicked_at=when,
                    brand_id=tenant.brand_id,
                    link_id=link,
                    click_id=click_id_for(settings, link, when),
                    visitor_hash=hasher.hash(ip, agent.encode(), ms),
                    device="desktop",
                    is_bot=False,
                    is_unique=True,
                )
            )
    oid = _oid()
    body = _order(oid, customer_id=None, email=None, browser_ip=ip, user_agent=agent)
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, _e = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == late.collaboration_id  # last click wins
    outcomes = _by_outcome(decision)
    assert outcomes["won"][0]["evidence"]["via"] == "visitor"
    assert outcomes["lost"][0]["collaboration_id"] == str(early.collaboration_id)
    assert "later" in outcomes["lost"][0]["reason"]

    # under first_click, the earliest click in the window wins instead
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                'UPDATE campaigns SET attribution_policy = \'{"model": "first_click"}\' '
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [early.campaign_id, late.campaign_id]},
        )
    oid = _oid()
    body = _order(oid, customer_id=None, email=None, browser_ip=ip, user_agent=agent)
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, _e = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == early.collaboration_id and decision.model == "first_click"


async def test_self_referral_earns_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id, email="Anna@Creator.io")
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "ANNASELF")
    oid = _oid()
    body = _order(oid, codes=["ANNASELF"], email=" anna@creator.io")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id is None and entries == []
    assert "Self-referral" in decision.candidates[0]["reason"]


async def test_generic_code_does_not_block_link_credit(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    owner = await make_earner(sessionmaker, tenant.brand_id)
    linked = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(
        sessionmaker, tenant.brand_id, owner.collaboration_id, "WELCOME10", generic=True
    )
    link = await make_tracking_link(sessionmaker, tenant.brand_id, linked.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(hours=3))
    oid = _oid()
    body = _order(oid, codes=["welcome10"], landing_site=f"/?vclid={clk}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, _e = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id == linked.collaboration_id and decision.rule == "click_id"
    generic = _by_outcome(decision)["ineligible"][0]
    assert generic["collaboration_id"] == str(owner.collaboration_id)
    assert "generic" in generic["reason"]


async def test_inactive_codes_and_collaborations_that_do_not_earn(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    paused_code = await make_earner(sessionmaker, tenant.brand_id)
    prospect = await make_earner(sessionmaker, tenant.brand_id, status="prospect")
    await make_promo(
        sessionmaker, tenant.brand_id, paused_code.collaboration_id, "OLDCODE", active=False
    )
    await make_promo(sessionmaker, tenant.brand_id, prospect.collaboration_id, "TOOSOON")
    oid = _oid()
    body = _order(oid, codes=["OLDCODE", "TOOSOON"])
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id is None and entries == []
    reasons = {c["evidence"]["code"]: c["reason"] for c in decision.candidates}
    assert "inactive" in reasons["OLDCODE"]
    assert "prospect" in reasons["TOOSOON"]


async def test_another_brands_code_and_link_are_not_this_brands(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    other_tenant: Tenant,
    store: StoreIntegration,
) -> None:
    theirs = await make_earner(sessionmaker, other_tenant.brand_id)
    await make_promo(sessionmaker, other_tenant.brand_id, theirs.collaboration_id, "THEIRCODE")
    link = await make_tracking_link(sessionmaker, other_tenant.brand_id, theirs.collaboration_id)
    clk = click_id_for(settings, link, NOW - timedelta(hours=1))
    oid = _oid()
    body = _order(oid, codes=["THEIRCODE"], landing_site=f"/?vclid={clk}")
    assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    _o, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.collaboration_id is None and entries == []
    assert all(c["collaboration_id"] is None for c in decision.candidates)


async def test_fixed_per_order_commission(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    store: StoreIntegration,
) -> None:
    earner = await make_earner(
        sessionmaker, tenant.brand_id, commission_bps=None, commission_fixed_minor=350
    )
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "FLAT350")
    oid = _oid()
    assert (
        await deliver_event(sessionmaker, store, "orders/create", _order(oid, codes=["FLAT350"]))
        == "handled"
    )
    _o, decision, entries = await _decision(sessionmaker, store, oid)
    assert decision.commission_fixed_minor == 350
    assert [(e.kind, e.amount_minor) for e in entries] == [("earned", 350)]
