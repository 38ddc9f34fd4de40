"""Fetch, for a batch of new orders, everything their attribution decisions look at, in a
handful of queries for the whole batch (never one per order): promo codes, the verified
click ids' links, the same shopper's earlier clicks, and the candidate collaborations with
their campaigns' policies and their influencers' e-mail hashes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import LargeBinary, Text, and_, func, select, text, union_all
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.attribution.decision import ClickRef, CollabInfo, Evidence, OrderFacts, PromoMatch
from shared.attribution.policy import DEFAULT_WINDOW_DAYS, resolve_policy
from shared.config import Settings
from shared.links.clickid import ClickIds
from shared.links.clicks import VisitorHasher
from shared.models import Campaign, Click, Collaboration, Influencer, Order, PromoCode, TrackingLink
from shared.orders.sql import any_of
from shared.orders.types import OrderData
from shared.secrets import secret_key

DAY_MS = 86_400_000
MAX_WINDOW_DAYS = 365  # campaigns.attribution_window_days is at most 365 (CHECK)


@dataclass(frozen=True, slots=True)
class AttributionKeys:
    """What verifying a click id and re-deriving a visitor hash need: the server secret."""

    click_ids: ClickIds
    visitors: VisitorHasher


@lru_cache(maxsize=4)
def _keys(secret: bytes) -> AttributionKeys:
    return AttributionKeys(ClickIds(secret), VisitorHasher(secret))


def attribution_keys(settings: Settings) -> AttributionKeys:
    return _keys(secret_key(settings))


@dataclass(slots=True)
class NewOrder:
    """An order about to be inserted, with what attribution needs to know about it."""

    key: tuple[uuid.UUID, str]
    brand_id: uuid.UUID
    data: OrderData
    click: tuple[uuid.UUID, datetime] | None = None  # verified (link id, click time)
    forged: bool = False
    evidence: Evidence = field(default_factory=Evidence)

    def facts(self) -> OrderFacts:
        return OrderFacts(
            placed_at=self.data.placed_at,
            currency=self.data.currency,
            discount_codes=self.data.discount_codes,
            click_id=self.data.click_id,
            email_hash=self.data.email_hash,
        )


def email_digest(email: str | None) -> str | None:
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def gather(session: AsyncSession, orders: Sequence[NewOrder], keys: AttributionKeys) -> None:
    """Fill each order's `evidence` (and `click`/`forged`) in place."""
    if not orders:
        return
    brands = sorted({o.brand_id for o in orders})
    for o in orders:
        if o.data.click_id:
            verified = keys.click_ids.verify(o.data.click_id)
            if verified is None:
                o.forged = True
            else:
                o.click = verified
                o.evidence.click = ClickRef(verified[0], verified[1], "click_id", o.data.click_id)
        o.evidence.click_forged = o.forged

    # promo codes: one probe of the (brand_id, lower(code)) unique index per code
    codes = sorted({c.lower() for o in orders for c in o.data.discount_codes})
    promos: dict[tuple[uuid.UUID, str], PromoMatch] = {}
    if codes:
        rows = await session.execute(
            select(
                PromoCode.brand_id,
                PromoCode.code,
                PromoCode.collaboration_id,
                PromoCode.active,
                PromoCode.generic,
            ).where(
                any_of(PromoCode.brand_id, brands, PG_UUID()),
                any_of(func.lower(PromoCode.code), codes, Text()),
            )
        )
        for brand_id, code, collab_id, active, generic in rows.all():
            promos[(brand_id, code.lower())] = PromoMatch(code, collab_id, active, generic)
    for o in orders:
        for code in o.data.discount_codes:
            match = promos.get((o.brand_id, code.lower()))
            if match is not None:
                o.evidence.promos[code.lower()] = match

    # the same shopper's clicks, for orders without a genuine click id
    seeking = [o for o in orders if o.click is None]
    await _touches_from_orders(session, seeking, orders)
    await _touches_from_visitors(session, seeking, keys)

    # links -> collaborations
    link_ids = {o.click[0] for o in orders if o.click} | {
        t.link_id for o in orders for t in o.evidence.touches
    }
    links: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
    if link_ids:
        link_rows = await session.execute(
            select(TrackingLink.id, TrackingLink.brand_id, TrackingLink.collaboration_id).where(
                any_of(TrackingLink.id, sorted(link_ids), PG_UUID())
            )
        )
        links = {row[0]: (row[1], row[2]) for row in link_rows.all()}

    # collaborations, with campaign policy and the influencer's e-mail hash
    collab_ids = {m.collaboration_id for o in orders for m in o.evidence.promos.values()}
    for o in orders:
        o.evidence.links = {
            lid: links[lid]
            for lid in ({o.click[0]} if o.click else set())
            | {t.link_id for t in o.evidence.touches}
            if lid in links
        }
        collab_ids |= {v[1] for v in o.evidence.links.values() if v[0] == o.brand_id}
    collabs = await load_collabs(session, collab_ids)
    for o in orders:
        wanted = {m.collaboration_id for m in o.evidence.promos.values()} | {
            v[1] for v in o.evidence.links.values()
        }
        o.evidence.collabs = {
            cid: collabs[cid]
            for cid in wanted
            if cid in collabs and collabs[cid].brand_id == o.brand_id
        }


async def load_collabs(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, CollabInfo]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Collaboration.id,
            Collaboration.brand_id,
            Collaboration.campaign_id,
            Collaboration.influencer_id,
            Collaboration.status,
            Collaboration.currency,
            Collaboration.commission_bps,
            Collaboration.commission_fixed_minor,
            Campaign.status,
            Campaign.attribution_window_days,
            Campaign.attribution_policy,
            Influencer.email,
        )
        .join(Campaign, Campaign.id == Collaboration.campaign_id)
        .join(Influencer, Influencer.id == Collaboration.influencer_id)
        .where(any_of(Collaboration.id, sorted(ids), PG_UUID()))
    )
    out: dict[uuid.UUID, CollabInfo] = {}
    for r in rows.all():
        out[r[0]] = CollabInfo(
            id=r[0],
            brand_id=r[1],
            campaign_id=r[2],
            influencer_id=r[3],
            status=r[4],
            currency=r[5],
            commission_bps=r[6],
            commission_fixed_minor=r[7],
            campaign_status=r[8],
            policy=resolve_policy(r[10], window_days=r[9]),
            influencer_email_hash=email_digest(r[11]),
        )
    return out


_MAX_WINDOW = text(
    "SELECT max(greatest(attribution_window_days, CASE WHEN jsonb_typeof("
    "attribution_policy->'window_days') = 'number' THEN (attribution_policy->>'window_days')"
    "::numeric::int ELSE 0 END)) FROM campaigns WHERE brand_id = ANY(:brands)"
)


async def _max_window_days(session: AsyncSession, brands: list[uuid.UUID]) -> int:
    """The longest attribution window among the brands' campaigns: how far back to look."""
    found = (await session.execute(_MAX_WINDOW, {"brands": list(brands)})).scalar_one_or_none()
    return min(int(found or DEFAULT_WINDOW_DAYS), MAX_WINDOW_DAYS)


async def _touches_from_orders(
    session: AsyncSession, seeking: Sequence[NewOrder], batch: Sequence[NewOrder]
) -> None:
    """Earlier orders of the same customer (store customer id, or e-mail hash) whose click id
    verified: their click was this customer's click."""
    with_identity = [o for o in seeking if o.data.customer_hash or o.data.email_hash]
    if not with_identity:
        return
    brands = sorted({o.brand_id for o in with_identity})
    customers = sorted({o.data.customer_hash for o in with_identity if o.data.customer_hash})
    emails = sorted({o.data.email_hash for o in with_identity if o.data.email_hash})
    # The partial indexes make this a probe per customer, so the widest window any campaign
    # may have costs nothing extra.
    lookback = timedelta(days=MAX_WINDOW_DAYS)
    lo = min(o.data.placed_at for o in with_identity) - lookback
    hi = max(o.data.placed_at for o in with_identity)
    # One arm per identity, UNION ALL: each is a plain probe of its partial index (an OR of
    # two large ANY() lists costs the planner more than the query itself).
    columns = (
        Order.brand_id,
        Order.customer_hash,
        Order.email_hash,
        Order.click_link_id,
        Order.clicked_at,
        Order.click_id,
    )
    common = (
        any_of(Order.brand_id, brands, PG_UUID()),
        Order.click_link_id.is_not(None),
        Order.clicked_at >= lo,
        Order.clicked_at <= hi,
    )
    arms = []
    if customers:
        arms.append(select(*columns).where(*common, any_of(Order.customer_hash, customers, Text())))
    if emails:
        arms.append(select(*columns).where(*common, any_of(Order.email_hash, emails, Text())))
    rows = await session.execute(union_all(*arms) if len(arms) > 1 else arms[0])
    History = tuple[uuid.UUID, str | None, str | None, uuid.UUID, datetime, str | None]
    history: list[History] = []
    for r in rows.all():
        assert r[3] is not None and r[4] is not None
        history.append((r[0], r[1], r[2], r[3], r[4], r[5]))
    # earlier orders of this same batch, not yet in the table
    history += [
        (
            b.brand_id,
            b.data.customer_hash,
            b.data.email_hash,
            b.click[0],
            b.click[1],
            b.data.click_id,
        )
        for b in batch
        if b.click is not None
    ]
    by_customer: dict[tuple[uuid.UUID, str], list[History]] = {}
    by_email: dict[tuple[uuid.UUID, str], list[History]] = {}
    for h in history:
        if h[1]:
            by_customer.setdefault((h[0], h[1]), []).append(h)
        if h[2]:
            by_email.setdefault((h[0], h[2]), []).append(h)
    for o in with_identity:
        seen: set[tuple[uuid.UUID, datetime]] = set()
        matches: list[tuple[str, History]] = []
        if o.data.customer_hash:
            matches += [
                ("customer", h) for h in by_customer.get((o.brand_id, o.data.customer_hash), [])
            ]
        if o.data.email_hash:
            matches += [("email", h) for h in by_email.get((o.brand_id, o.data.email_hash), [])]
        for via, (_b, _c, _e, link_id, clicked_at, click_id) in matches:
            if clicked_at > o.data.placed_at or (link_id, clicked_at) in seen:
                continue
            seen.add((link_id, clicked_at))
            o.evidence.touches.append(ClickRef(link_id, clicked_at, via, click_id))


async def _touches_from_visitors(
    session: AsyncSession, seeking: Sequence[NewOrder], keys: AttributionKeys
) -> None:
    """Clicks whose visitor hash matches the checkout's IP + user agent on some day of the
    window (the hash's salt changes daily, so each day is hashed separately)."""
    with_visitor = [o for o in seeking if o.data.visitor is not None]
    if not with_visitor:
        return
    brands = sorted({o.brand_id for o in with_visitor})
    lookback_days = await _max_window_days(session, brands)
    wanted: dict[bytes, list[NewOrder]] = {}
    day_keys: dict[int, bytes] = {}
    for o in with_visitor:
        visitor = o.data.visitor
        assert visitor is not None
        # exactly what VisitorHasher.hash computes for a click on `day`
        material = visitor.ip.encode() + b"\x00" + visitor.user_agent.encode("latin-1", "replace")
        last_day = int(o.data.placed_at.timestamp() * 1000) // DAY_MS
        for day in range(last_day - lookback_days, last_day + 1):
            key = day_keys.get(day)
            if key is None:
                key = day_keys[day] = keys.visitors.day_key(day)
            digest = hashlib.blake2b(material, key=key, digest_size=16).digest()
            wanted.setdefault(digest, []).append(o)
    lo = min(o.data.placed_at for o in with_visitor) - timedelta(days=lookback_days + 1)
    hi = max(o.data.placed_at for o in with_visitor) + timedelta(minutes=5)
    brand_links = select(TrackingLink.id).where(any_of(TrackingLink.brand_id, brands, PG_UUID()))
    rows = await session.execute(
        select(Click.brand_id, Click.link_id, Click.clicked_at, Click.visitor_hash).where(
            and_(
                any_of(Click.brand_id, brands, PG_UUID()),
                Click.link_id.in_(brand_links),
                Click.clicked_at >= lo,
                Click.clicked_at <= hi,
                any_of(Click.visitor_hash, list(wanted), LargeBinary()),
                Click.is_bot.is_(False),
            )
        )
    )
    for brand_id, link_id, clicked_at, digest in rows.all():
        for o in wanted.get(bytes(digest), []):
            if o.brand_id == brand_id and clicked_at <= o.data.placed_at + timedelta(minutes=5):
                o.evidence.touches.append(ClickRef(link_id, clicked_at, "visitor"))
