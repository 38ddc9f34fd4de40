"""Deliverables and content approval, the overdue sweep and usage-rights expiry.

Deliverable statuses: pending -> submitted -> changes_requested -> submitted -> approved ->
published, or missed. Publishing skips approval (from pending or submitted) only when the
contract in force says `approval_required: false`. Every move is one `UPDATE ... WHERE status
IN (...) RETURNING`, only while the collaboration is contracted or active, and leaves a
deliverable_reviews row (the approval history, with its comment and actor).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.collaborations.repository import (
    WORKING,
    CollaborationRepository,
    DeliverableNotFound,
    DeliverableRepository,
    in_force_terms,
)
from shared.collaborations.service import IllegalTransition
from shared.db.base import uuid7
from shared.errors import Conflict, InvalidInput
from shared.events import record_event
from shared.models import Collaboration, ContractTerms, Deliverable, DeliverableReview
from shared.models.enums import DeliverableStatus as D

TERMINAL = (D.PUBLISHED.value, D.MISSED.value)
# Missed is for pieces the influencer still owes. A submitted draft waits on the brand's review,
# so the sweep never marks it missed (it still shows as overdue).
MISSABLE = (D.PENDING.value, D.CHANGES_REQUESTED.value, D.APPROVED.value)
USAGE_RIGHTS_NOTICE_DAYS = 14


class CollaborationNotWorking(Conflict):
    code = "collaboration_not_working"
    title = "Collaboration is not under contract"


class DeliverableClosed(Conflict):
    code = "deliverable_closed"
    title = "Deliverable is closed"


def _working_collaboration() -> ColumnElement[bool]:
    return exists().where(
        Collaboration.id == Deliverable.collaboration_id, Collaboration.status.in_(WORKING)
    )


def _approval_waived() -> ColumnElement[bool]:
    """The contract in force (highest frozen version) says approval is not required."""
    in_force = (
        select(ContractTerms.approval_required)
        .where(
            ContractTerms.collaboration_id == Deliverable.collaboration_id,
            ContractTerms.frozen_at.is_not(None),
        )
        .order_by(ContractTerms.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    return in_force.is_(false())


async def create_deliverable(
    session: AsyncSession,
    brand_id: uuid.UUID,
    collab_id: uuid.UUID,
    *,
    type_: str,
    platform: str,
    due_at: datetime | None = None,
    brief: str | None = None,
) -> Deliverable:
    """An extra deliverable beyond the contract's list (the collaboration must be working)."""
    collab = await CollaborationRepository(session, brand_id).get_fresh(collab_id, lock="share")
    if collab.status not in WORKING:
        raise CollaborationNotWorking(
            f"The collaboration is {collab.status}; deliverables are added once it is "
            "contracted or active.",
            current_status=collab.status,
        )
    row = Deliverable(
        id=uuid7(),
        brand_id=brand_id,
        collaboration_id=collab_id,
        type=type_,
        platform=platform,
        due_at=due_at,
        brief=brief,
        status=D.PENDING.value,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def update_deliverable(
    session: AsyncSession, brand_id: uuid.UUID, deliverable_id: uuid.UUID, changes: dict[str, Any]
) -> Deliverable:
    """Move the due date or edit the brief while the piece is still open."""
    repo = DeliverableRepository(session, brand_id)
    if changes:
        stmt = (
            update(Deliverable)
            .where(
                Deliverable.id == deliverable_id,
                Deliverable.brand_id == brand_id,
                Deliverable.status.not_in(TERMINAL),
            )
            .values(**changes)
            .returning(Deliverable.id)
            .execution_options(synchronize_session=False)
        )
        if (await session.execute(stmt)).scalar_one_or_none() is None:
            current = (await repo.get_or_404(deliverable_id)).status
            raise DeliverableClosed(
                f"The deliverable is {current}; it can no longer change.", current_status=current
            )
    return await _fresh(session, brand_id, deliverable_id)


async def _fresh(
    session: AsyncSession, brand_id: uuid.UUID, deliverable_id: uuid.UUID
) -> Deliverable:
    stmt = (
        DeliverableRepository(session, brand_id)
        .scoped()
        .where(Deliverable.id == deliverable_id)
        .execution_options(populate_existing=True)
    )
    row: Deliverable | None = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise DeliverableNotFound(detail=f"No deliverable with id {deliverable_id}.")
    return row


async def _move(
    session: AsyncSession,
    brand_id: uuid.UUID,
    deliverable_id: uuid.UUID,
    to: str,
    allowed: ColumnElement[bool],
    values: dict[str, Any],
) -> Deliverable | None:
    stmt = (
        update(Deliverable)
        .where(
            Deliverable.id == deliverable_id,
            Deliverable.brand_id == brand_id,
            allowed,
            _working_collaboration(),
        )
        .values(status=to, **values)
        .returning(Deliverable.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return None
    return await _fresh(session, brand_id, deliverable_id)


async def _explain_refusal(
    session: AsyncSession, brand_id: uuid.UUID, deliverable_id: uuid.UUID, to: str, detail: str = ""
) -> Exception:
    """Why the guarded UPDATE matched nothing: unknown id, collaboration not working, or the
    deliverable's own status."""
    current = await _fresh(session, brand_id, deliverable_id)  # 404 for unknown/other brand
    collab_status = (
        await session.execute(
            select(Collaboration.status).where(Collaboration.id == current.collaboration_id)
        )
    ).scalar_one()
    if collab_status not in WORKING and current.status not in TERMINAL:
        return CollaborationNotWorking(
            f"The collaboration is {collab_status}; its deliverables no longer move.",
            current_status=current.status,
            requested_status=to,
            collaboration_status=collab_status,
        )
    return IllegalTransition(current.status, to, detail, resource="deliverable")


async def _review_row(
    session: AsyncSession,
    deliverable: Deliverable,
    action: str,
    *,
    actor_key_id: uuid.UUID | None,
    comment: str | None = None,
    draft_url: str | None = None,
) -> DeliverableReview:
    review = DeliverableReview(
        brand_id=deliverable.brand_id,
        deliverable_id=deliverable.id,
        action=action,
        comment=comment,
        draft_url=draft_url,
        actor_key_id=actor_key_id,
    )
    session.add(review)
    await session.flush()
    return review


async def _payload(session: AsyncSession, d: Deliverable) -> dict[str, Any]:
    campaign_id, influencer_id = (
        await session.execute(
            select(Collaboration.campaign_id, Collaboration.influencer_id).where(
                Collaboration.id == d.collaboration_id
            )
        )
    ).one()
    return {
        "deliverable_id": str(d.id),
        "collaboration_id": str(d.collaboration_id),
        "campaign_id": str(campaign_id),
        "influencer_id": str(influencer_id),
        "type": d.type,
        "platform": d.platform,
        "status": d.status,
        "due_at": d.due_at.isoformat() if d.due_at else None,
    }


async def submit(
    session: AsyncSession,
    brand_id: uuid.UUID,
    deliverable_id: uuid.UUID,
    *,
    actor_key_id: uuid.UUID | None,
    draft_url: str | None = None,
    caption: str | None = None,
    comment: str | None = None,
) -> Deliverable:
    if not draft_url and not caption:
        raise InvalidInput(["body", "draft_url"], "Send a draft_url, a caption, or both.")
    to = D.SUBMITTED.value
    moved = await _move(
        session,
        brand_id,
        deliverable_id,
        to,
        Deliverable.status.in_((D.PENDING.value, D.CHANGES_REQUESTED.value)),
        {"draft_url": draft_url, "draft_caption": caption, "submitted_at": func.now()},
    )
    if moved is None:
        raise await _explain_refusal(session, brand_id, deliverable_id, to)
    review = await _review_row(
        session, moved, "submitted", actor_key_id=actor_key_id, comment=comment, draft_url=draft_url
    )
    payload = await _payload(session, moved) | {"draft_url": draft_url, "caption": caption}
    await record_event(
        session,
        brand_id,
        "deliverable.submitted",
        payload,
        dedupe_key=f"deliverable.submitted:{review.id}",
    )
    return moved


async def review(
    session: AsyncSession,
    brand_id: uuid.UUID,
    deliverable_id: uuid.UUID,
    *,
    actor_key_id: uuid.UUID | None,
    decision: str,
    comment: str | None = None,
) -> Deliverable:
    approve = decision == "approve"
    to = D.APPROVED.value if approve else D.CHANGES_REQUESTED.value
    values: dict[str, Any] = {"approved_at": func.now()} if approve else {}
    moved = await _move(
        session, brand_id, deliverable_id, to, Deliverable.status == D.SUBMITTED.value, values
    )
    if moved is None:
        raise await _explain_refusal(session, brand_id, deliverable_id, to)
    await _review_row(session, moved, to, actor_key_id=actor_key_id, comment=comment)
    return moved


async def publish(
    session: AsyncSession,
    brand_id: uuid.UUID,
    deliverable_id: uuid.UUID,
    *,
    actor_key_id: uuid.UUID | None,
    post_url: str,
    published_at: datetime | None = None,
    external_post_id: str | None = None,
    comment: str | None = None,
) -> Deliverable:
    to = D.PUBLISHED.value
    allowed = or_(
        Deliverable.status == D.APPROVED.value,
        and_(
            Deliverable.status.in_((D.PENDING.value, D.SUBMITTED.value)),
            _approval_waived(),
        ),
    )
    values: dict[str, Any] = {
        "post_url": post_url,
        "published_at": published_at if published_at is not None else func.now(),
        "external_post_id": external_post_id,
    }
    moved = await _move(session, brand_id, deliverable_id, to, allowed, values)
    if moved is None:
        detail = ""
        current = await _fresh(session, brand_id, deliverable_id)
        if current.status in (D.PENDING.value, D.SUBMITTED.value):
            detail = (
                f"The deliverable is {current.status} and the contract requires approval: "
                "submit it and have it approved before publishing."
            )
        raise await _explain_refusal(session, brand_id, deliverable_id, to, detail)
    await _review_row(session, moved, "published", actor_key_id=actor_key_id, comment=comment)
    payload = await _payload(session, moved) | {
        "post_url": post_url,
        "external_post_id": external_post_id,
        "published_at": moved.published_at.isoformat() if moved.published_at else None,
    }
    await record_event(
        session,
        brand_id,
        "deliverable.published",
        payload,
        dedupe_key=f"deliverable.published:{moved.id}",
    )
    return moved


# --- worker sweeps (cross-brand; each run is one transaction and idempotent) ---------------


@dataclass(frozen=True, slots=True)
class MissedDeliverable:
    id: uuid.UUID
    brand_id: uuid.UUID
    collaboration_id: uuid.UUID
    due_at: datetime


async def mark_missed(
    session: AsyncSession, *, grace: timedelta, limit: int = 500
) -> list[MissedDeliverable]:
    """Mark up to `limit` deliverables missed whose due time plus `grace` has passed.

    Rows being changed by a request right now are skipped (SKIP LOCKED) and picked up next run;
    the status guard in the UPDATE makes a second run (or a racing submit) a no-op.
    """
    candidates = (
        select(Deliverable.id)
        .where(
            Deliverable.status.in_(MISSABLE),
            Deliverable.due_at < func.now() - grace,
            _working_collaboration(),
        )
        .order_by(Deliverable.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .correlate(None)  # its own scan of deliverables, not the UPDATE's row
    )
    rows = (
        await session.execute(
            update(Deliverable)
            .where(Deliverable.id.in_(candidates.scalar_subquery()))
            .where(Deliverable.status.in_(MISSABLE))
            .values(status=D.MISSED.value, missed_at=func.now())
            .returning(
                Deliverable.id,
                Deliverable.brand_id,
                Deliverable.collaboration_id,
                Deliverable.due_at,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    # due_at is never NULL here: the candidates were chosen on it.
    missed = [MissedDeliverable(r[0], r[1], r[2], r[3]) for r in rows if r[3] is not None]
    if not missed:
        return []
    await session.execute(
        insert(DeliverableReview),
        [
            {
                "brand_id": m.brand_id,
                "deliverable_id": m.id,
                "action": "missed",
                "comment": f"Not published by {m.due_at.isoformat()} plus the grace period.",
            }
            for m in missed
        ],
    )
    for m in missed:
        await record_event(
            session,
            m.brand_id,
            "deliverable.missed",
            {
                "deliverable_id": str(m.id),
                "collaboration_id": str(m.collaboration_id),
                "due_at": m.due_at.isoformat(),
            },
            dedupe_key=f"deliverable.missed:{m.id}",
        )
    return missed


def usage_rights_payload(terms: ContractTerms, today: date) -> dict[str, Any]:
    ends = terms.usage_ends_on
    return {
        "terms_id": str(terms.id),
        "collaboration_id": str(terms.collaboration_id),
        "version": terms.version,
        "scope": list(terms.usage_scope),
        "territory": terms.usage_territory,
        "starts_on": terms.usage_starts_on.isoformat() if terms.usage_starts_on else None,
        "ends_on": ends.isoformat() if ends else None,
        "days_left": (ends - today).days if ends else None,
    }


async def record_expiring_usage_rights(
    session: AsyncSession, *, within_days: int = USAGE_RIGHTS_NOTICE_DAYS
) -> list[uuid.UUID]:
    """Record `usage_rights.expiring` once per contract version in force whose usage rights end
    within `within_days` (today included). The expiry_notified_at mark and the event (deduped on
    "usage_rights.expiring:<terms id>") commit together. Returns the terms ids notified."""
    today: date = (await session.execute(select(func.current_date()))).scalar_one()
    due = (
        in_force_terms()
        .where(
            ContractTerms.usage_ends_on >= today,
            ContractTerms.usage_ends_on <= today + timedelta(days=within_days),
            ContractTerms.expiry_notified_at.is_(None),
        )
        .with_only_columns(ContractTerms.id)
        .correlate(None)
    )
    claimed = (
        (
            await session.execute(
                update(ContractTerms)
                .where(ContractTerms.id.in_(due.scalar_subquery()))
                .where(ContractTerms.expiry_notified_at.is_(None))
                .values(expiry_notified_at=func.now())
                .returning(ContractTerms)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    notified: list[uuid.UUID] = []
    for terms in claimed:
        campaign_id, influencer_id = (
            await session.execute(
                select(Collaboration.campaign_id, Collaboration.influencer_id).where(
                    Collaboration.id == terms.collaboration_id
                )
            )
        ).one()
        payload = usage_rights_payload(terms, today) | {
            "campaign_id": str(campaign_id),
            "influencer_id": str(influencer_id),
        }
        await record_event(
            session,
            terms.brand_id,
            "usage_rights.expiring",
            payload,
            dedupe_key=f"usage_rights.expiring:{terms.id}",
        )
        notified.append(terms.id)
    return notified


def expiring_statement(brand_id: uuid.UUID, today: date, within_days: int) -> Any:
    return in_force_terms().where(
        ContractTerms.brand_id == brand_id,
        ContractTerms.usage_ends_on >= today,
        ContractTerms.usage_ends_on <= today + timedelta(days=within_days),
    )
