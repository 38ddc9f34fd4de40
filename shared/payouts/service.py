"""Payouts: what is payable, turning it into payouts, and the payout lifecycle.

Payable, per influencer and currency: the signed sum of the ledger's approved entries that no
payout holds (earned and upward adjustments, minus reversals and clawbacks carried from
refunds after an earlier payout), plus the contracted flat fees marked due and not yet in a
live payout. A balance of zero or less creates nothing: it carries forward and nets against
later earnings, so a payout is never negative.

Creating a payout claims its entries with `UPDATE ... SET payout_id WHERE id IN (SELECT ...
FOR UPDATE SKIP LOCKED) AND payout_id IS NULL`: two concurrent runs take disjoint sets, and a
run never waits for another (no deadlock between runs). Flat fees are claimed by inserting
their item under a partial unique index (one live item per collaboration). It is set-based:
a few statements per chunk of groups, however many influencers; a group whose claimed entries
and fees do not add up to a payable amount releases them again in the same transaction.

Lifecycle, enforced in SQL: pending -> processing -> paid (entries become `paid`), and
pending | processing -> failed (entries and flat fees are released: payable again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    String,
    Text,
    and_,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.collaborations.repository import CollaborationRepository
from shared.db.base import uuid7
from shared.errors import Conflict, InvalidTransition
from shared.events import record_event
from shared.influencers.repository import InfluencerNotFound
from shared.models import (
    Collaboration,
    CommissionEntry,
    Influencer,
    OutboxEvent,
    Payout,
    PayoutItem,
)
from shared.models.commissions import EntryStatus
from shared.models.enums import CollaborationStatus
from shared.models.payouts import PayoutItemKind, PayoutStatus
from shared.payouts.repository import PayoutRepository

# A payout may only move along these edges (target: allowed sources).
TRANSITIONS: dict[PayoutStatus, tuple[PayoutStatus, ...]] = {
    PayoutStatus.PROCESSING: (PayoutStatus.PENDING,),
    PayoutStatus.PAID: (PayoutStatus.PROCESSING,),
    PayoutStatus.FAILED: (PayoutStatus.PENDING, PayoutStatus.PROCESSING),
}
# A flat fee can be marked due once the contract is in force.
FLAT_FEE_STATUSES = (
    CollaborationStatus.CONTRACTED.value,
    CollaborationStatus.ACTIVE.value,
    CollaborationStatus.COMPLETED.value,
)
GROUP_CHUNK = 2000  # influencer x currency groups per set-based pass (3 parameters each)
GROUP_LOCK_SPACE = 0x5641_5950  # "VAYP": advisory lock namespace of payout groups
_LIVE_FLAT_FEE = text("released_at IS NULL AND kind = 'flat_fee'")


class InvalidPayoutTransition(InvalidTransition):
    resource = "payout"


class FlatFeeNotDue(Conflict):
    code = "flat-fee-not-markable"
    title = "Flat fee cannot be marked due"


@dataclass(slots=True)
class Balance:
    influencer_id: uuid.UUID
    currency: str
    commission_minor: int = 0
    flat_fee_minor: int = 0
    entry_count: int = 0
    flat_fee_count: int = 0

    @property
    def balance_minor(self) -> int:
        return self.commission_minor + self.flat_fee_minor


@dataclass(slots=True)
class PayoutRun:
    payouts: list[Payout]
    carried_forward: list[Balance]  # zero or negative: nothing to pay, nets against later
    below_minimum: list[Balance]


def _live_flat_fee_item() -> Any:
    return exists().where(
        PayoutItem.collaboration_id == Collaboration.id,
        PayoutItem.kind == PayoutItemKind.FLAT_FEE.value,
        PayoutItem.released_at.is_(None),
    )


def _due_flat_fees(brand_id: uuid.UUID, now: datetime) -> list[Any]:
    return [
        Collaboration.brand_id == brand_id,
        Collaboration.flat_fee_due_at <= now,
        Collaboration.flat_fee_minor > 0,
        ~_live_flat_fee_item(),
    ]


def _payable_entries(brand_id: uuid.UUID) -> list[Any]:
    return [
        CommissionEntry.brand_id == brand_id,
        CommissionEntry.status == EntryStatus.APPROVED.value,
        CommissionEntry.payout_id.is_(None),
    ]


async def payable_balances(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    currency: str | None = None,
    influencer_ids: list[uuid.UUID] | None = None,
    now: datetime | None = None,
) -> list[Balance]:
    """Every influencer x currency with something payable or carried, ordered by both."""
    now = now or datetime.now(UTC)
    entries = select(
        CommissionEntry.influencer_id,
        CommissionEntry.currency,
        func.sum(CommissionEntry.amount_minor),
        func.count(),
    ).where(*_payable_entries(brand_id))
    fees = select(
        Collaboration.influencer_id,
        Collaboration.currency,
        func.sum(Collaboration.flat_fee_minor),
        func.count(),
    ).where(*_due_flat_fees(brand_id, now))
    if currency is not None:
        entries = entries.where(CommissionEntry.currency == currency)
        fees = fees.where(Collaboration.currency == currency)
    if influencer_ids:
        entries = entries.where(CommissionEntry.influencer_id.in_(influencer_ids))
        fees = fees.where(Collaboration.influencer_id.in_(influencer_ids))
    balances: dict[tuple[uuid.UUID, str], Balance] = {}
    for influencer_id, cur, total, count in await session.execute(
        entries.group_by(CommissionEntry.influencer_id, CommissionEntry.currency)
    ):
        bal = balances.setdefault((influencer_id, cur), Balance(influencer_id, cur))
        bal.commission_minor, bal.entry_count = int(total), int(count)
    for influencer_id, cur, fee_total, count in await session.execute(
        fees.group_by(Collaboration.influencer_id, Collaboration.currency)
    ):
        bal = balances.setdefault((influencer_id, cur), Balance(influencer_id, cur))
        bal.flat_fee_minor, bal.flat_fee_count = int(fee_total or 0), int(count)
    return [balances[k] for k in sorted(balances, key=lambda k: (str(k[0]), k[1]))]


async def create_payouts(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    request_key: str,
    currency: str | None = None,
    min_minor: int | None = None,
    influencer_ids: list[uuid.UUID] | None = None,
    actor_key_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> PayoutRun:
    """One payout per influencer and currency whose claimed balance is positive (and at least
    `min_minor`). `request_key` makes each payout's own idempotency key deterministic.

    Set-based, GROUP_CHUNK groups at a time: a handful of statements per chunk whatever the
    number of influencers (claim, fees, payouts, items, events), not a handful per group."""
    now = now or datetime.now(UTC)
    if influencer_ids:
        await _check_influencers(session, brand_id, influencer_ids)
    run = PayoutRun([], [], [])
    balances = await payable_balances(
        session, brand_id, currency=currency, influencer_ids=influencer_ids, now=now
    )
    candidates: list[Balance] = []
    for bal in balances:
        if bal.balance_minor <= 0:
            run.carried_forward.append(bal)
        elif min_minor is not None and bal.balance_minor < min_minor:
            run.below_minimum.append(bal)
        else:
            candidates.append(bal)
    for start in range(0, len(candidates), GROUP_CHUNK):
        await _create_chunk(
            session, brand_id, candidates[start : start + GROUP_CHUNK], run,
            request_key=request_key, min_minor=min_minor, actor_key_id=actor_key_id, now=now,
        )  # fmt: skip
    run.payouts.sort(key=lambda p: (str(p.influencer_id), p.currency))
    return run


@dataclass(slots=True)
class _Group:
    payout_id: uuid.UUID
    claimed: Balance
    entries: list[Any]  # (id, amount_minor) rows claimed for it
    fees: list[Any]  # (collaboration id, flat_fee_minor) candidates, then the ones won


async def _create_chunk(
    session: AsyncSession,
    brand_id: uuid.UUID,
    chunk: list[Balance],
    run: PayoutRun,
    *,
    request_key: str,
    min_minor: int | None,
    actor_key_id: uuid.UUID | None,
    now: datetime,
) -> None:
    # 0. Take the groups whole: another payout run holding a group (until it commits) is
    #    skipped, never waited for, so two runs cannot split one influencer's balance (say,
    #    one taking the earnings and the other the clawback).
    held = await _hold_groups(session, brand_id, chunk)
    groups = {
        (b.influencer_id, b.currency): _Group(uuid7(), Balance(b.influencer_id, b.currency), [], [])
        for b in chunk
        if (b.influencer_id, b.currency) in held
    }
    if not groups:
        return
    keys = values(
        column("influencer_id", UUID(as_uuid=True)),
        column("currency", String),
        column("payout_id", UUID(as_uuid=True)),
        name="payout_groups",
    ).data([(k[0], k[1], g.payout_id) for k, g in groups.items()])
    # 1. Claim every payable entry of these groups, skipping rows another run holds.
    lockable = (
        select(CommissionEntry.id)
        .join(
            keys,
            and_(
                CommissionEntry.influencer_id == keys.c.influencer_id,
                CommissionEntry.currency == keys.c.currency,
            ),
        )
        .where(*_payable_entries(brand_id))
        .with_for_update(of=CommissionEntry, skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.execute(
        update(CommissionEntry)
        .where(
            CommissionEntry.id.in_(lockable),
            CommissionEntry.influencer_id == keys.c.influencer_id,
            CommissionEntry.currency == keys.c.currency,
            *_payable_entries(brand_id),
        )
        .values(payout_id=keys.c.payout_id)
        .returning(
            CommissionEntry.id,
            CommissionEntry.influencer_id,
            CommissionEntry.currency,
            CommissionEntry.amount_minor,
        )
    )
    for row in claimed:
        group = groups[(row.influencer_id, row.currency)]
        group.entries.append(row)
        group.claimed.commission_minor += row.amount_minor
        group.claimed.entry_count += 1
    # 2. Their due flat fees (claimed below, when their items are inserted).
    fees = await session.execute(
        select(
            Collaboration.id,
            Collaboration.influencer_id,
            Collaboration.currency,
            Collaboration.flat_fee_minor,
        )
        .join(
            keys,
            and_(
                Collaboration.influencer_id == keys.c.influencer_id,
                Collaboration.currency == keys.c.currency,
            ),
        )
        .where(*_due_flat_fees(brand_id, now))
        .order_by(Collaboration.id)  # one global order: concurrent runs cannot deadlock
    )
    for fee in fees:
        group = groups[(fee.influencer_id, fee.currency)]
        group.fees.append(fee)
        group.claimed.flat_fee_minor += fee.flat_fee_minor or 0
        group.claimed.flat_fee_count += 1
    # 3. Payouts for the groups that add up to something payable.
    payable = {k: g for k, g in groups.items() if _payable(g.claimed, min_minor)}
    if payable:
        inserted = await session.execute(
            insert(Payout)
            .values([_payout_row(brand_id, g, request_key, actor_key_id) for g in payable.values()])
            .on_conflict_do_nothing(constraint="uq_payouts_idempotency")
            .returning(Payout.id)
        )
        made = set(inserted.scalars())
        # Missing: this request key already paid that group (its key was purged and reused).
        payable = {k: g for k, g in payable.items() if g.payout_id in made}
    # 4. Flat fees: an item each, under the one-live-item-per-collaboration index.
    fee_rows = [
        {
            "id": uuid7(),
            "brand_id": brand_id,
            "payout_id": g.payout_id,
            "kind": PayoutItemKind.FLAT_FEE.value,
            "collaboration_id": f.id,
            "amount_minor": f.flat_fee_minor,
        }
        for g in payable.values()
        for f in g.fees
    ]
    won: dict[uuid.UUID, list[int]] = {}
    if fee_rows:
        taken = await session.execute(
            insert(PayoutItem)
            .values(fee_rows)
            .on_conflict_do_nothing(
                index_elements=[PayoutItem.collaboration_id], index_where=_LIVE_FLAT_FEE
            )
            .returning(PayoutItem.payout_id, PayoutItem.amount_minor)
        )
        for payout_id, amount in taken:
            won.setdefault(payout_id, []).append(amount)
    dropped: list[uuid.UUID] = []
    for key, g in list(payable.items()):
        amounts = won.get(g.payout_id, [])
        if len(amounts) == len(g.fees):
            continue
        # A concurrent run took some of these fees first.
        g.claimed.flat_fee_minor, g.claimed.flat_fee_count = sum(amounts), len(amounts)
        if _payable(g.claimed, min_minor):
            await session.execute(
                update(Payout)
                .where(Payout.id == g.payout_id)
                .values(
                    amount_minor=g.claimed.balance_minor,
                    flat_fee_minor=g.claimed.flat_fee_minor,
                    item_count=g.claimed.entry_count + g.claimed.flat_fee_count,
                )
            )
        else:
            dropped.append(g.payout_id)
            del payable[key]
    if dropped:  # their won fee items go with them (ON DELETE CASCADE)
        await session.execute(delete(Payout).where(Payout.id.in_(dropped)))
    # 5. Entries of groups without a payout go back; the rest get their items.
    released = [g.payout_id for k, g in groups.items() if k not in payable and g.entries]
    if released:
        await session.execute(
            update(CommissionEntry)
            .where(CommissionEntry.payout_id.in_(released))
            .values(payout_id=None)
        )
    # Items straight from the claimed rows, server-side (no round trip of the entries).
    with_entries = [g.payout_id for g in payable.values() if g.entries]
    if with_entries:
        claimed_rows = select(
            func.gen_random_uuid(),
            CommissionEntry.brand_id,
            CommissionEntry.payout_id,
            literal(PayoutItemKind.COMMISSION.value),
            CommissionEntry.id,
            CommissionEntry.amount_minor,
        ).where(
            CommissionEntry.brand_id == brand_id,
            CommissionEntry.payout_id.in_(with_entries),
        )
        await session.execute(
            insert(PayoutItem).from_select(
                ["id", "brand_id", "payout_id", "kind", "entry_id", "amount_minor"], claimed_rows
            )
        )
    # 6. Report, and announce each payout (outbox, same transaction).
    for key, g in groups.items():
        if key in payable or not (g.claimed.entry_count or g.claimed.flat_fee_count):
            continue  # paid, or a concurrent run took it all: nothing to report
        (run.carried_forward if g.claimed.balance_minor <= 0 else run.below_minimum).append(
            g.claimed
        )
    if not payable:
        return
    created = list(
        (
            await session.execute(
                select(Payout)
                .where(Payout.id.in_([g.payout_id for g in payable.values()]))
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    await session.execute(
        insert(OutboxEvent)
        .values(
            [
                {
                    "id": uuid7(),
                    "brand_id": brand_id,
                    "type": "payout.created",
                    "payload": event_payload(p),
                    "dedupe_key": f"payout.created:{p.id}",
                }
                for p in created
            ]
        )
        .on_conflict_do_nothing(constraint="uq_outbox_events_dedupe")
    )
    run.payouts.extend(created)


async def _hold_groups(
    session: AsyncSession, brand_id: uuid.UUID, chunk: list[Balance]
) -> set[tuple[uuid.UUID, str]]:
    """Transaction-level advisory try-locks, one per influencer x currency (two-key form,
    keyed by GROUP_LOCK_SPACE: apart from every one-key advisory lock). Returns those held."""
    wanted = values(
        column("influencer_id", UUID(as_uuid=True)), column("currency", String), name="wanted"
    ).data([(b.influencer_id, b.currency) for b in chunk])
    key = func.hashtext(
        literal(f"{brand_id}:")
        + cast(wanted.c.influencer_id, Text)
        + literal(":")
        + wanted.c.currency
    )
    rows = await session.execute(
        select(wanted.c.influencer_id, wanted.c.currency).where(
            func.pg_try_advisory_xact_lock(GROUP_LOCK_SPACE, key)
        )
    )
    return {(r.influencer_id, r.currency) for r in rows}


def _payout_row(
    brand_id: uuid.UUID, g: _Group, request_key: str, actor_key_id: uuid.UUID | None
) -> dict[str, Any]:
    bal = g.claimed
    return {
        "id": g.payout_id,
        "brand_id": brand_id,
        "influencer_id": bal.influencer_id,
        "currency": bal.currency,
        "amount_minor": bal.balance_minor,
        "commission_minor": bal.commission_minor,
        "flat_fee_minor": bal.flat_fee_minor,
        "item_count": bal.entry_count + bal.flat_fee_count,
        "status": PayoutStatus.PENDING.value,
        "idempotency_key": f"{request_key}:{bal.influencer_id}:{bal.currency}",
        "created_by_key_id": actor_key_id,
    }


async def _check_influencers(
    session: AsyncSession, brand_id: uuid.UUID, influencer_ids: list[uuid.UUID]
) -> None:
    found = set(
        (
            await session.execute(
                select(Influencer.id).where(
                    Influencer.brand_id == brand_id, Influencer.id.in_(influencer_ids)
                )
            )
        ).scalars()
    )
    for i, influencer_id in enumerate(influencer_ids):
        if influencer_id not in found:  # unknown, or another brand's: the same 404
            raise InfluencerNotFound(
                detail=f"No influencer with id {influencer_id}.",
                errors=[{"loc": ["body", "influencer_ids", i], "msg": "Unknown influencer."}],
            )


def _payable(bal: Balance, min_minor: int | None) -> bool:
    return bal.balance_minor > 0 and (min_minor is None or bal.balance_minor >= min_minor)


def event_payload(payout: Payout) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "payout_id": str(payout.id),
        "influencer_id": str(payout.influencer_id),
        "currency": payout.currency,
        "amount_minor": payout.amount_minor,
        "commission_minor": payout.commission_minor,
        "flat_fee_minor": payout.flat_fee_minor,
        "item_count": payout.item_count,
        "status": payout.status,
        "external_reference": payout.external_reference,
        "paid_at": iso(payout.paid_at),
        "failure_reason": payout.failure_reason,
    }


async def _transition(
    session: AsyncSession,
    brand_id: uuid.UUID,
    payout_id: uuid.UUID,
    to: PayoutStatus,
    values: dict[str, Any],
) -> Payout:
    repo = PayoutRepository(session, brand_id)
    sources = tuple(s.value for s in TRANSITIONS[to])
    row = await repo.transition(payout_id, to=to.value, sources=sources, values=values)
    if row is not None:
        return row
    current = await repo.current_status(payout_id)
    if current is None:
        raise repo.not_found(detail=f"No payout with id {payout_id}.")
    raise InvalidPayoutTransition(
        current,
        to.value,
        f"A payout cannot move from {current} to {to.value}.",
        allowed_from=list(sources),
    )


async def mark_processing(
    session: AsyncSession,
    brand_id: uuid.UUID,
    payout_id: uuid.UUID,
    *,
    external_reference: str | None = None,
) -> Payout:
    now = datetime.now(UTC)
    values: dict[str, Any] = {"processing_at": now, "status_changed_at": now}
    if external_reference is not None:
        values["external_reference"] = external_reference
    return await _transition(session, brand_id, payout_id, PayoutStatus.PROCESSING, values)


async def mark_paid(
    session: AsyncSession,
    brand_id: uuid.UUID,
    payout_id: uuid.UUID,
    *,
    external_reference: str | None = None,
    paid_at: datetime | None = None,
) -> Payout:
    """processing -> paid; the payout's entries become `paid` in the same transaction."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"paid_at": paid_at or now, "status_changed_at": now}
    if external_reference is not None:
        values["external_reference"] = external_reference
    payout = await _transition(session, brand_id, payout_id, PayoutStatus.PAID, values)
    await session.execute(
        update(CommissionEntry)
        .where(
            CommissionEntry.brand_id == brand_id,
            CommissionEntry.payout_id == payout_id,
            CommissionEntry.status == EntryStatus.APPROVED.value,
        )
        .values(status=EntryStatus.PAID.value, status_changed_at=now)
    )
    await record_event(
        session,
        brand_id,
        "payout.paid",
        event_payload(payout),
        dedupe_key=f"payout.paid:{payout_id}",
    )
    return payout


async def mark_failed(
    session: AsyncSession, brand_id: uuid.UUID, payout_id: uuid.UUID, *, reason: str
) -> Payout:
    """pending | processing -> failed; its entries and flat fees become payable again (the
    items stay, released, as the record of what the failed payout held)."""
    now = datetime.now(UTC)
    values = {"failed_at": now, "failure_reason": reason, "status_changed_at": now}
    payout = await _transition(session, brand_id, payout_id, PayoutStatus.FAILED, values)
    await session.execute(
        update(CommissionEntry)
        .where(CommissionEntry.brand_id == brand_id, CommissionEntry.payout_id == payout_id)
        .values(payout_id=None)
    )
    await session.execute(
        update(PayoutItem)
        .where(
            PayoutItem.brand_id == brand_id,
            PayoutItem.payout_id == payout_id,
            PayoutItem.released_at.is_(None),
        )
        .values(released_at=now)
    )
    await record_event(
        session,
        brand_id,
        "payout.failed",
        event_payload(payout),
        dedupe_key=f"payout.failed:{payout_id}",
    )
    return payout


async def mark_flat_fee_due(
    session: AsyncSession,
    brand_id: uuid.UUID,
    collaboration_id: uuid.UUID,
    *,
    due_at: datetime | None = None,
) -> Collaboration:
    """Make a contracted flat fee payable from `due_at` (default now); once only."""
    stmt = (
        update(Collaboration)
        .where(
            Collaboration.id == collaboration_id,
            Collaboration.brand_id == brand_id,
            Collaboration.flat_fee_due_at.is_(None),
            Collaboration.flat_fee_minor > 0,
            Collaboration.status.in_(FLAT_FEE_STATUSES),
        )
        .values(flat_fee_due_at=due_at or datetime.now(UTC))
        .returning(Collaboration)
        .execution_options(populate_existing=True)
    )
    row: Collaboration | None = (await session.execute(stmt)).scalar_one_or_none()
    if row is not None:
        return row
    collab = await CollaborationRepository(session, brand_id).get_or_404(collaboration_id)
    if collab.flat_fee_due_at is not None:
        reason = f"Its flat fee is already due since {collab.flat_fee_due_at.isoformat()}."
    elif not collab.flat_fee_minor:
        reason = "It has no flat fee."
    else:
        reason = f"It is {collab.status}; a flat fee is due only once contracted."
    raise FlatFeeNotDue(
        f"The collaboration's flat fee cannot be marked due. {reason}",
        current_status=collab.status,
    )
