"""Commission arithmetic and the planning of ledger entries for an order.

Commission due on an order (minor units of the order's currency), from the terms its
attribution decision snapshotted:

    due = round_half_even(bps / 10000 * subtotal * (total - refunded) / total) + fixed

- `subtotal` is the order's subtotal after discounts; refunds are money returned against the
  total (shipping and tax included), so a refund reduces the commission base in proportion:
  refunding 30% of what the customer paid removes 30% of the percentage commission.
- rounding happens once, on the exact rational value, half to even (banker's rounding), so
  no sequence of refunds drifts the sum by a unit;
- `fixed` is per order: kept through partial refunds, gone with the order;
- a cancelled (voided, failed) or fully refunded order is due nothing.

Entries are planned, not computed from scratch: each event that changes what is due books
the difference between the new due amount and the sum already booked, under a cause that is
unique per order ("earned", "refund:<id>", "order:<source time>"). The invariant "sum of an
order's entries == its commission due" therefore holds after every transaction, whatever the
order, duplication or interleaving of events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from fractions import Fraction

from shared.models.commissions import EntryKind, EntryStatus
from shared.models.orders import OrderStatus

VOID_STATUSES = frozenset({OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value})
# Orders whose payment was captured: the only ones whose commission can be approved.
APPROVABLE_ORDER_STATUSES = (OrderStatus.PAID.value, OrderStatus.PARTIALLY_REFUNDED.value)


@dataclass(frozen=True, slots=True)
class Terms:
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    commission_bps: int | None
    commission_fixed_minor: int | None


@dataclass(frozen=True, slots=True)
class Amounts:
    subtotal_minor: int
    total_minor: int
    refunded_minor: int
    void: bool


def commission_due(amounts: Amounts, bps: int | None, fixed: int | None) -> int:
    total, refunded = amounts.total_minor, min(amounts.refunded_minor, amounts.total_minor)
    if amounts.void or (total > 0 and refunded >= total) or (total == 0 and amounts.refunded_minor):
        return 0
    due = 0
    if bps:
        base = Fraction(max(amounts.subtotal_minor, 0) * bps, 10_000)
        if total > 0:
            base = base * Fraction(total - refunded, total)
        due += round(base)  # Fraction rounds half to even
    return due + (fixed or 0)


@dataclass(frozen=True, slots=True)
class Step:
    """One event's effect on an order: what is due once it is applied."""

    cause: str
    amounts: Amounts
    refund_id: uuid.UUID | None = None
    earned: bool = False


@dataclass(frozen=True, slots=True)
class BookedEntry:
    kind: str
    status: str
    amount_minor: int
    cause: str | None
    in_payout: bool = False  # held by a payout (payout_id set): its money may be on the way

    @property
    def paid_out(self) -> bool:
        """Paid, or in a payout that may pay it: only a clawback can take it back."""
        return self.status == EntryStatus.PAID.value or self.in_payout


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    kind: EntryKind
    status: EntryStatus
    amount_minor: int
    cause: str
    refund_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Plan:
    entries: list[PlannedEntry]
    reverse_existing: (
        bool  # flip the order's pending/approved entries (not in a payout) to reversed
    )
    due_minor: int


def plan(terms: Terms, booked: list[BookedEntry], steps: list[Step]) -> Plan:
    """The entries `steps` add to an order already carrying `booked` entries."""
    running = sum(e.amount_minor for e in booked)
    has_earned = any(e.kind == EntryKind.EARNED.value for e in booked)
    causes = {e.cause for e in booked}
    any_paid = any(e.paid_out for e in booked)
    past_hold = any(
        e.status in (EntryStatus.APPROVED.value, EntryStatus.PAID.value) for e in booked
    )
    out: list[PlannedEntry] = []
    due = running
    for step in steps:
        due = commission_due(step.amounts, terms.commission_bps, terms.commission_fixed_minor)
        if step.cause in causes:  # booked by an earlier delivery of the same event
            continue
        if step.earned:
            if has_earned:
                continue
            out.append(PlannedEntry(EntryKind.EARNED, EntryStatus.PENDING, due, step.cause, None))
            has_earned = True
            running += due
            causes.add(step.cause)
            continue
        delta = due - running
        if delta == 0:
            continue
        if delta < 0:
            kind = EntryKind.CLAWBACK if any_paid else EntryKind.REVERSAL
            status = EntryStatus.APPROVED if (any_paid or past_hold) else EntryStatus.PENDING
        else:
            kind = EntryKind.ADJUSTMENT if has_earned else EntryKind.EARNED
            has_earned = True
            status = EntryStatus.APPROVED if past_hold else EntryStatus.PENDING
        out.append(PlannedEntry(kind, status, delta, step.cause, step.refund_id))
        running += delta
        causes.add(step.cause)
    # Nothing is due any more and nothing was paid (or is in a payout): the order's entries
    # cancel out and none of them may reach a payout.
    reverse = due == 0 and not any_paid and bool(booked or out)
    if reverse:
        out = [
            PlannedEntry(e.kind, EntryStatus.REVERSED, e.amount_minor, e.cause, e.refund_id)
            for e in out
        ]
    return Plan(entries=out, reverse_existing=reverse, due_minor=due)
