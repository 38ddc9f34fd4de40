"""The commission ledger's rules beyond order events: approval after the hold period, and
manual adjustments.

Approval (a cron): a pending entry becomes approved once its campaign's
`commission_hold_days` have passed since the order was placed and the order is paid or only
partially refunded (a cancelled or fully refunded order's entries are reversed instead, by
the order events themselves). Entries are taken `FOR UPDATE SKIP LOCKED`: an order event
holding an order's entries (it locks them while it books) is simply approved on a later run.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.collaborations.repository import CollaborationRepository
from shared.commissions.ledger import APPROVABLE_ORDER_STATUSES
from shared.commissions.repository import (
    CommissionEntryNotFound,
)
from shared.db.base import uuid7
from shared.errors import Conflict, InvalidInput
from shared.models import CommissionEntry
from shared.models.commissions import EntryKind, EntryStatus

APPROVE_BATCH = 5000

_APPROVE = text(
    """
    WITH due AS (
        SELECT e.id
        FROM commission_entries e
        JOIN orders o ON o.id = e.order_id
        JOIN campaigns c ON c.id = e.campaign_id
        WHERE e.status = 'pending'
          AND o.status = ANY(CAST(:approvable AS text[]))
          AND o.placed_at + make_interval(days => c.commission_hold_days) <= :now
        ORDER BY e.created_at
        LIMIT :limit
        FOR UPDATE OF e SKIP LOCKED
    )
    UPDATE commission_entries AS e
    SET status = 'approved', status_changed_at = :now
    FROM due
    WHERE e.id = due.id AND e.status = 'pending'
    RETURNING e.id
    """
)


async def approve_due(session: AsyncSession, *, now: datetime, limit: int = APPROVE_BATCH) -> int:
    """Approve up to `limit` entries past their hold period; returns how many."""
    rows = await session.execute(
        _APPROVE, {"approvable": list(APPROVABLE_ORDER_STATUSES), "now": now, "limit": limit}
    )
    return len(rows.all())


class AdjustmentKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


async def create_adjustment(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    collaboration_id: uuid.UUID,
    amount_minor: int,
    reason: str,
    currency: str | None = None,
    related_entry_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> tuple[CommissionEntry, bool]:
    """A manual ledger entry (a correction is a new row, never an edit), approved at once:
    the brand itself made it. Returns (entry, created); with `idempotency_key`, a retry of
    the same request returns the entry it created the first time."""
    if amount_minor == 0:
        raise InvalidInput(["body", "amount_minor"], "An adjustment must not be zero.")
    collab = await CollaborationRepository(session, brand_id).get_ref_or_404(
        collaboration_id, ["body", "collaboration_id"]
    )
    if related_entry_id is not None:
        related = (
            await session.execute(
                select(CommissionEntry.id).where(
                    CommissionEntry.id == related_entry_id, CommissionEntry.brand_id == brand_id
                )
            )
        ).first()
        if related is None:
            raise CommissionEntryNotFound(
                detail=f"No commission entry with id {related_entry_id}.",
                errors=[{"loc": ["body", "related_entry_id"], "msg": "Unknown entry."}],
            )
    entry = CommissionEntry(
        id=uuid7(),
        brand_id=brand_id,
        kind=EntryKind.ADJUSTMENT.value,
        status=EntryStatus.APPROVED.value,
        amount_minor=amount_minor,
        currency=(currency or collab.currency).upper(),
        collaboration_id=collab.id,
        campaign_id=collab.campaign_id,
        influencer_id=collab.influencer_id,
        related_entry_id=related_entry_id,
        reason=reason,
        idempotency_key=idempotency_key,
        actor_key_id=actor_key_id,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError as exc:
        if idempotency_key is None:
            raise
        first = (
            await session.execute(
                select(CommissionEntry).where(
                    CommissionEntry.brand_id == brand_id,
                    CommissionEntry.idempotency_key == idempotency_key,
                )
            )
        ).scalar_one_or_none()
        if first is None:
            raise
        same = (
            first.collaboration_id == collab.id
            and first.amount_minor == amount_minor
            and first.currency == entry.currency
            and first.reason == reason
            and first.related_entry_id == related_entry_id
        )
        if not same:
            raise AdjustmentKeyReused(
                "This idempotency key was already used for a different adjustment.",
                entry_id=str(first.id),
            ) from exc
        return first, False
    await session.refresh(entry)
    return entry, True
