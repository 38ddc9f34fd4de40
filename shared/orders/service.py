"""Orders: apply parsed store events, idempotently, in any order, many at a time.

`apply_events` takes a batch of parsed events (one webhook, or hundreds) and, inside the
caller's transaction:

1. groups them by order (integration_id, external_order_id) and takes a transaction-scoped
   advisory lock per order, in key order (no deadlock between concurrent batches), so every
   read-decide-write below sees a stable order and its ledger;
2. upserts each order by that business key, applying a version only if the source's
   timestamp is newer than the stored `source_updated_at` (an older or equal one is
   skipped: its information is already superseded);
3. records each refund once by (integration, order, refund id): applied to its order, or
   parked when the order is not there yet and applied when it arrives;
4. decides attribution once, when an order is first stored (shared/attribution), in bulk;
5. books commission entries for what changed (shared/commissions/ledger.py), so that the
   sum of an order's entries always equals the commission due on its net amount;
6. erases personal fields for customers/redact and shop/redact, and records data requests.

Everything is keyed by the business keys and unique constraints, so a second delivery of any
event, a replay, or a reconciliation re-feed changes nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.attribution.decision import Decision, decide
from shared.attribution.evidence import AttributionKeys, NewOrder, gather
from shared.commissions.ledger import (
    VOID_STATUSES,
    Amounts,
    BookedEntry,
    Step,
    Terms,
    plan,
)
from shared.db.base import uuid7
from shared.events import record_event
from shared.models import AttributionDecision, CommissionEntry, Order, OrderRefund, WebhookEvent
from shared.models.commissions import EntryStatus
from shared.models.orders import OrderStatus
from shared.orders.parsing import parse_body
from shared.orders.sql import any_of, bulk_insert
from shared.orders.types import (
    DataRequest,
    Ignored,
    OrderData,
    OrderEvent,
    Parsed,
    RedactCustomer,
    RedactShop,
    RefundData,
    RefundEvent,
)

OrderKey = tuple[uuid.UUID, str]  # (integration_id, external_order_id)


@dataclass(slots=True)
class Incoming:
    """One inbox event, parsed."""

    brand_id: uuid.UUID
    integration_id: uuid.UUID
    source: str
    parsed: list[Parsed]
    event_id: uuid.UUID | None = None


@dataclass(slots=True)
class Applied:
    orders_created: int = 0
    orders_updated: int = 0
    stale_versions: int = 0  # older than what was stored: skipped
    refunds_applied: int = 0
    refunds_parked: int = 0
    entries_booked: int = 0
    attributed: int = 0
    redacted: int = 0
    ignored: int = 0


def incoming(event: WebhookEvent) -> Incoming:
    """Parse an inbox event (raises ParseError for a body retrying cannot fix)."""
    parsed = parse_body(
        event.source,
        event.topic,
        event.body,
        integration_id=event.integration_id,
        event_time=event.source_timestamp or event.received_at,
    )
    return Incoming(event.brand_id, event.integration_id, event.source, parsed, event.id)


@dataclass(slots=True)
class _Group:
    brand_id: uuid.UUID
    integration_id: uuid.UUID
    source: str
    external_order_id: str
    latest: OrderData | None = None
    refunds: dict[str, RefundData] = field(default_factory=dict)


def lock_key(key: OrderKey) -> int:
    """A signed 64-bit advisory-lock key for one order."""
    digest = hashlib.blake2b(f"order:{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def derive_status(source: OrderStatus, refunded: int, total: int) -> OrderStatus:
    """The stored status: the source's word, corrected by the refunds Vouch has applied."""
    if source == OrderStatus.CANCELLED:
        return OrderStatus.CANCELLED
    if source == OrderStatus.REFUNDED or (total > 0 and refunded >= total):
        return OrderStatus.REFUNDED
    if refunded > 0 or source == OrderStatus.PARTIALLY_REFUNDED:
        return OrderStatus.PARTIALLY_REFUNDED
    return source


def _source_status_of(status: str) -> OrderStatus:
    """What the source said, recovered from a stored status (for a refund-only change):
    `partially_refunded` was derived from refunds over a paid order; the others stand (a
    stored `refunded` stays refunded whether the source said so or the refunds add up)."""
    stored = OrderStatus(status)
    return OrderStatus.PAID if stored == OrderStatus.PARTIALLY_REFUNDED else stored


# The batch works on plain rows (Core statements, executemany), not ORM instances: at
# hundreds of orders per batch the unit of work's per-attribute bookkeeping would cost more
# than the database.
ORDERS = cast(Table, Order.__table__)
REFUNDS = cast(Table, OrderRefund.__table__)
DECISIONS = cast(Table, AttributionDecision.__table__)
ENTRIES = cast(Table, CommissionEntry.__table__)


_ORDER_COLUMNS = (
    "id", "brand_id", "integration_id", "source", "external_order_id", "order_number",
    "status", "source_status", "currency", "subtotal_minor", "discount_minor", "total_minor",
    "refunded_minor", "placed_at", "source_updated_at", "cancelled_at", "discount_codes",
    "landing_url", "referrer", "click_id", "click_link_id", "clicked_at", "customer_hash",
    "email_hash", "line_items", "collaboration_id", "campaign_id", "influencer_id",
    "attribution_rule", "redacted_at",
)  # fmt: skip
# What a newer version of an order may change (attribution inputs are decided once).
_UPDATABLE = (
    "order_number", "status", "source_status", "currency", "subtotal_minor",
    "discount_minor", "total_minor", "refunded_minor", "placed_at", "source_updated_at",
    "cancelled_at", "discount_codes", "line_items", "customer_hash", "email_hash",
    "landing_url", "referrer",
)  # fmt: skip
_REFUND_COLUMNS = (
    "id", "integration_id", "external_order_id", "external_refund_id", "order_id",
    "amount_minor", "refunded_at",
)  # fmt: skip


@dataclass(slots=True)
class _Refund:
    id: uuid.UUID
    integration_id: uuid.UUID
    external_order_id: str
    external_refund_id: str
    order_id: uuid.UUID | None
    amount_minor: int
    refunded_at: datetime | None


def _amounts(order: dict[str, Any]) -> Amounts:
    return Amounts(
        subtotal_minor=order["subtotal_minor"],
        total_minor=order["total_minor"],
        refunded_minor=order["refunded_minor"],
        void=order["status"] in VOID_STATUSES,
    )


async def apply_events(
    session: AsyncSession, items: Sequence[Incoming], keys: AttributionKeys
) -> Applied:
    result = Applied()
    groups: dict[OrderKey, _Group] = {}
    other: list[tuple[Incoming, Parsed]] = []
    for item in items:
        for parsed in item.parsed:
            if isinstance(parsed, OrderEvent):
                group = _group(groups, item, parsed.order.external_order_id)
                if group.latest is None or parsed.order.updated_at >= group.latest.updated_at:
                    if group.latest is not None:
                        result.stale_versions += 1
                    group.latest = parsed.order
                else:
                    result.stale_versions += 1
                for refund in parsed.order.refunds:
                    group.refunds.setdefault(refund.external_refund_id, refund)
            elif isinstance(parsed, RefundEvent):
                group = _group(groups, item, parsed.refund.external_order_id)
                group.refunds.setdefault(parsed.refund.external_refund_id, parsed.refund)
            elif isinstance(parsed, Ignored):
                result.ignored += 1
            else:
                other.append((item, parsed))
    if groups:
        await _apply_orders(session, groups, keys, result)
    for item, parsed in other:
        await _apply_compliance(session, item, parsed, result)
    return result


def _group(groups: dict[OrderKey, _Group], item: Incoming, external_order_id: str) -> _Group:
    key = (item.integration_id, external_order_id)
    group = groups.get(key)
    if group is None:
        group = groups[key] = _Group(
            item.brand_id, item.integration_id, item.source, external_order_id
        )
    return group


async def _lock(session: AsyncSession, keys: Sequence[OrderKey]) -> None:
    """Transaction-scoped advisory locks, one per order, always taken in ascending key order:
    concurrent batches over overlapping orders queue up instead of deadlocking."""
    ordered = sorted({lock_key(k) for k in keys})
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS s"
        ),
        {"keys": ordered},
    )


async def _apply_orders(
    session: AsyncSession,
    groups: dict[OrderKey, _Group],
    keys: AttributionKeys,
    result: Applied,
) -> None:
    order_keys = sorted(groups)
    await _lock(session, order_keys)
    # Both key columns as arrays: an index scan of the unique key, one parameter each (a
    # batch spans one or a few integrations, so the cross product adds next to nothing).
    wanted = set(order_keys)
    integrations = sorted({k[0] for k in order_keys})
    externals = sorted({k[1] for k in order_keys})
    found = await session.execute(
        select(*(ORDERS.c[name] for name in _ORDER_COLUMNS)).where(
            any_of(ORDERS.c.integration_id, integrations, PG_UUID()),
            any_of(ORDERS.c.external_order_id, externals, Text()),
        )
    )
    existing: dict[OrderKey, dict[str, Any]] = {}
    for row in found.mappings():
        key = (row["integration_id"], row["external_order_id"])
        if key in wanted:
            existing[key] = dict(row)
    refund_rows = await session.execute(
        select(*(REFUNDS.c[name] for name in _REFUND_COLUMNS)).where(
            any_of(REFUNDS.c.integration_id, integrations, PG_UUID()),
            any_of(REFUNDS.c.external_order_id, externals, Text()),
        )
    )
    stored_refunds: dict[OrderKey, dict[str, _Refund]] = {}
    for row in refund_rows.mappings():
        refund = _Refund(**row)
        key = (refund.integration_id, refund.external_order_id)
        if key in wanted:
            stored_refunds.setdefault(key, {})[refund.external_refund_id] = refund

    # attribution, once, for orders seen for the first time
    new_orders = [
        NewOrder(key=k, brand_id=g.brand_id, data=g.latest)
        for k, g in groups.items()
        if k not in existing and g.latest is not None
    ]
    await gather(session, new_orders, keys)
    decisions: dict[OrderKey, tuple[NewOrder, Decision]] = {
        new.key: (new, decide(new.facts(), new.evidence, brand_id=new.brand_id))
        for new in new_orders
    }

    now = datetime.now(UTC)
    created: dict[OrderKey, dict[str, Any]] = {}
    updated: dict[OrderKey, dict[str, Any]] = {}
    refund_inserts: list[dict[str, Any]] = []
    refund_applies: list[dict[str, Any]] = []
    # refunds applied by this batch, per order, in the order they happened
    newly_applied: dict[OrderKey, list[_Refund]] = {}
    for key in order_keys:
        group = groups[key]
        order = existing.get(key)
        fresh = False  # this batch's version of the order is the one stored
        if order is None and group.latest is not None:
            new, decision = decisions[key]
            order = created[key] = _new_order(group, group.latest, new, decision)
            fresh = True
        elif order is not None and group.latest is not None:
            if group.latest.updated_at > order["source_updated_at"]:
                _update_order(order, group.latest)
                updated[key] = order
                fresh = True
            else:
                result.stale_versions += 1

        known = stored_refunds.setdefault(key, {})
        applied_now: list[_Refund] = []
        for refund_id, data in group.refunds.items():
            if refund_id in known:
                continue
            refund = _Refund(
                uuid7(),
                group.integration_id,
                group.external_order_id,
                refund_id,
                None,
                data.amount_minor,
                data.refunded_at,
            )
            known[refund_id] = refund
            refund_inserts.append(
                {
                    "id": refund.id,
                    "brand_id": group.brand_id,
                    "integration_id": group.integration_id,
                    "external_order_id": group.external_order_id,
                    "external_refund_id": refund_id,
                    "order_id": order["id"] if order is not None else None,
                    "amount_minor": data.amount_minor,
                    "currency": data.currency,
                    "refunded_at": data.refunded_at,
                    "line_items": data.line_items,
                    "applied_at": now if order is not None else None,
                }
            )
            if order is None:
                result.refunds_parked += 1
            else:
                refund.order_id = order["id"]
                applied_now.append(refund)
        if order is None:
            continue
        for refund in known.values():
            if refund.order_id is None:  # parked until now
                refund.order_id = order["id"]
                refund_applies.append({"b_id": refund.id, "b_order_id": order["id"]})
                applied_now.append(refund)
        result.refunds_applied += len(applied_now)
        applied_now.sort(key=lambda r: (r.refunded_at or now, r.external_refund_id))
        if applied_now:
            newly_applied[key] = applied_now
        refunded = sum(r.amount_minor for r in known.values() if r.order_id is not None)
        assert group.latest is not None or not fresh
        source = (
            group.latest.status if fresh and group.latest else _source_status_of(order["status"])
        )
        order["refunded_minor"] = refunded
        order["status"] = derive_status(source, refunded, order["total_minor"]).value
        if applied_now and key not in created:
            updated[key] = order

    # Orders first: refunds and decisions point at them.
    if created:
        await bulk_insert(session, ORDERS, list(created.values()))
    if updated:
        params = [
            {"b_id": o["id"], **{f"b_{c}": o[c] for c in _UPDATABLE}} for o in updated.values()
        ]
        await session.execute(
            update(ORDERS)
            .where(ORDERS.c.id == bindparam("b_id"))
            .values(updated_at=func.now(), **{c: bindparam(f"b_{c}") for c in _UPDATABLE}),
            params,
        )
    if refund_inserts:
        await session.execute(insert(REFUNDS), refund_inserts)
    if refund_applies:
        await session.execute(
            update(REFUNDS)
            .where(REFUNDS.c.id == bindparam("b_id"))
            .values(order_id=bindparam("b_order_id"), applied_at=now),
            refund_applies,
        )
    if decisions:
        await bulk_insert(
            session,
            DECISIONS,
            [_decision_row(created[key], decision) for key, (_n, decision) in decisions.items()],
        )
        result.attributed += sum(1 for _n, d in decisions.values() if d.winner is not None)
    result.orders_created += len(created)
    result.orders_updated += len(updated)

    changed = {k: o for k, o in existing.items() if k in updated}
    await _book(session, groups, changed, created, decisions, newly_applied, result)


def _new_order(group: _Group, data: OrderData, new: NewOrder, decision: Decision) -> dict[str, Any]:
    winner = decision.winner
    order: dict[str, Any] = {
        "id": uuid7(),
        "brand_id": group.brand_id,
        "integration_id": group.integration_id,
        "source": group.source,
        "external_order_id": data.external_order_id,
        "refunded_minor": 0,
        "click_id": data.click_id,
        "click_link_id": new.click[0] if new.click else None,
        "clicked_at": new.click[1] if new.click else None,
        "customer_hash": data.customer_hash,
        "email_hash": data.email_hash,
        "landing_url": data.landing_url,
        "referrer": data.referrer,
        "collaboration_id": winner.id if winner else None,
        "campaign_id": winner.campaign_id if winner else None,
        "influencer_id": winner.influencer_id if winner else None,
        "attribution_rule": decision.rule.value if decision.rule else None,
        "redacted_at": None,
    }
    _copy_fields(order, data)
    return order


def _copy_fields(order: dict[str, Any], data: OrderData) -> None:
    order["order_number"] = data.order_number
    order["status"] = data.status.value
    order["source_status"] = data.source_status
    order["currency"] = data.currency
    order["subtotal_minor"] = data.subtotal_minor
    order["discount_minor"] = data.discount_minor
    order["total_minor"] = data.total_minor
    order["placed_at"] = data.placed_at
    order["source_updated_at"] = data.updated_at
    order["cancelled_at"] = data.cancelled_at
    order["discount_codes"] = list(data.discount_codes)
    order["line_items"] = data.line_items


def _update_order(order: dict[str, Any], data: OrderData) -> None:
    """A newer version of a stored order. Attribution inputs (codes, click id) stay as first
    decided; personal fields stay erased once redacted."""
    _copy_fields(order, data)
    if order["redacted_at"] is None:
        for name in ("customer_hash", "email_hash", "landing_url", "referrer"):
            order[name] = getattr(data, name) or order[name]


def _decision_row(order: dict[str, Any], decision: Decision) -> dict[str, Any]:
    winner = decision.winner
    return {
        "order_id": order["id"],
        "brand_id": order["brand_id"],
        "collaboration_id": winner.id if winner else None,
        "campaign_id": winner.campaign_id if winner else None,
        "influencer_id": winner.influencer_id if winner else None,
        "rule": decision.rule.value if decision.rule else None,
        "model": decision.model.value if decision.model else None,
        "summary": decision.summary,
        "candidates": decision.candidates,
        "policy": decision.policy,
        "commission_bps": decision.commission_bps,
        "commission_fixed_minor": decision.commission_fixed_minor,
    }


async def _book(
    session: AsyncSession,
    groups: dict[OrderKey, _Group],
    existing: dict[OrderKey, dict[str, Any]],
    created: dict[OrderKey, dict[str, Any]],
    decisions: dict[OrderKey, tuple[NewOrder, Decision]],
    newly_applied: dict[OrderKey, list[_Refund]],
    result: Applied,
) -> None:
    """Ledger entries for what this batch changed: new orders (`created`) and stored orders
    with a newer version or new refunds (`existing`)."""
    terms: dict[uuid.UUID, Terms] = {}
    for key, (_new, decision) in decisions.items():
        w = decision.winner
        if w is not None:
            terms[created[key]["id"]] = Terms(
                w.id,
                w.campaign_id,
                w.influencer_id,
                decision.commission_bps,
                decision.commission_fixed_minor,
            )
    touched_existing = [o["id"] for o in existing.values()]
    if touched_existing:
        decided = await session.execute(
            select(
                DECISIONS.c.order_id,
                DECISIONS.c.collaboration_id,
                DECISIONS.c.campaign_id,
                DECISIONS.c.influencer_id,
                DECISIONS.c.commission_bps,
                DECISIONS.c.commission_fixed_minor,
            ).where(
                any_of(DECISIONS.c.order_id, touched_existing, PG_UUID()),
                DECISIONS.c.collaboration_id.is_not(None),
            )
        )
        for d in decided.all():
            terms[d[0]] = Terms(d[1], d[2], d[3], d[4], d[5])
    if not terms:
        return
    booked: dict[uuid.UUID, list[BookedEntry]] = {}
    existing_ids = [oid for oid in touched_existing if oid in terms]
    if existing_ids:
        # FOR UPDATE: a payout or the approval cron changing these entries' status waits for
        # this transaction, and this one sees their committed status.
        entry_rows = await session.execute(
            select(
                ENTRIES.c.order_id,
                ENTRIES.c.kind,
                ENTRIES.c.status,
                ENTRIES.c.amount_minor,
                ENTRIES.c.cause,
                ENTRIES.c.payout_id,
            )
            .where(any_of(ENTRIES.c.order_id, existing_ids, PG_UUID()))
            .order_by(ENTRIES.c.id)
            .with_for_update()
        )
        for r in entry_rows.all():
            booked.setdefault(r[0], []).append(
                BookedEntry(r[1], r[2], r[3], r[4], in_payout=r[5] is not None)
            )

    inserts: list[dict[str, Any]] = []
    reverse: list[uuid.UUID] = []
    for key in sorted(groups):
        order = created.get(key) or existing.get(key)
        if order is None or order["id"] not in terms:
            continue
        t = terms[order["id"]]
        final = _amounts(order)
        steps: list[Step] = []
        if key in created:
            gross = Amounts(order["subtotal_minor"], order["total_minor"], 0, False)
            steps.append(Step("earned", gross, earned=True))
        applied = newly_applied.get(key, [])
        cumulative = order["refunded_minor"] - sum(r.amount_minor for r in applied)
        for refund in applied:
            cumulative += refund.amount_minor
            amounts = Amounts(order["subtotal_minor"], order["total_minor"], cumulative, final.void)
            steps.append(Step(f"refund:{refund.external_refund_id}", amounts, refund.id))
        steps.append(Step(f"order:{order['source_updated_at'].isoformat()}", final))
        p = plan(t, booked.get(order["id"], []), steps)
        if p.reverse_existing and order["id"] in booked:
            reverse.append(order["id"])
        for e in p.entries:
            inserts.append(
                {
                    "id": uuid7(),
                    "brand_id": order["brand_id"],
                    "kind": e.kind.value,
                    "status": e.status.value,
                    "amount_minor": e.amount_minor,
                    "currency": order["currency"],
                    "order_id": order["id"],
                    "collaboration_id": t.collaboration_id,
                    "campaign_id": t.campaign_id,
                    "influencer_id": t.influencer_id,
                    "refund_id": e.refund_id,
                    "cause": e.cause,
                }
            )
    if reverse:
        await session.execute(
            update(ENTRIES)
            .where(
                any_of(ENTRIES.c.order_id, reverse, PG_UUID()),
                ENTRIES.c.status.in_((EntryStatus.PENDING.value, EntryStatus.APPROVED.value)),
                ENTRIES.c.payout_id.is_(None),
            )
            .values(status=EntryStatus.REVERSED.value, status_changed_at=func.now())
        )
    if inserts:
        await bulk_insert(session, ENTRIES, inserts)
        result.entries_booked += len(inserts)


# ------------------------------------------------------------------------ compliance
PERSONAL_FIELDS: dict[str, Any] = {
    "customer_hash": None,
    "email_hash": None,
    "landing_url": None,
    "referrer": None,
}


async def _apply_compliance(
    session: AsyncSession, item: Incoming, parsed: Parsed, result: Applied
) -> None:
    if isinstance(parsed, RedactCustomer):
        match = []
        if parsed.customer_hash:
            match.append(Order.customer_hash == parsed.customer_hash)
        if parsed.email_hash:
            match.append(Order.email_hash == parsed.email_hash)
        if parsed.external_order_ids:
            match.append(Order.external_order_id.in_(parsed.external_order_ids))
        if not match:
            return
        result.redacted += await _redact(
            session, item.integration_id, or_(*match), brand_id=item.brand_id
        )
    elif isinstance(parsed, RedactShop):
        result.redacted += await _redact(session, item.integration_id, None, brand_id=item.brand_id)
    elif isinstance(parsed, DataRequest):
        await _record_data_request(session, item, parsed)


async def _redact(
    session: AsyncSession, integration_id: uuid.UUID, match: Any, *, brand_id: uuid.UUID
) -> int:
    stmt = (
        update(Order)
        .where(Order.integration_id == integration_id, Order.brand_id == brand_id)
        .values(**PERSONAL_FIELDS, redacted_at=func.coalesce(Order.redacted_at, func.now()))
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    if match is not None:
        stmt = stmt.where(match)
    return len((await session.execute(stmt)).all())


async def _record_data_request(session: AsyncSession, item: Incoming, req: DataRequest) -> None:
    """Vouch keeps no name, address or raw e-mail, only hashes; the record lists the orders
    it holds for the customer so the brand can answer the request."""
    match = []
    if req.customer_hash:
        match.append(Order.customer_hash == req.customer_hash)
    if req.email_hash:
        match.append(Order.email_hash == req.email_hash)
    if req.external_order_ids:
        match.append(Order.external_order_id.in_(req.external_order_ids))
    orders: list[str] = []
    if match:
        rows = await session.execute(
            select(Order.id).where(
                Order.integration_id == item.integration_id,
                Order.brand_id == item.brand_id,
                or_(*match),
            )
        )
        orders = [str(r[0]) for r in rows.all()]
    key = req.request_id or (str(item.event_id) if item.event_id else str(uuid7()))
    await record_event(
        session,
        item.brand_id,
        "customer.data_requested",
        {
            "integration_id": str(item.integration_id),
            "request_id": req.request_id,
            "order_ids": orders,
            "data_held": [
                "order amounts and line items",
                "discount codes, landing URL and referrer",
                "SHA-256 hashes of the store customer id and e-mail",
            ],
        },
        dedupe_key=f"customer.data_requested:{item.integration_id}:{key}",
    )
