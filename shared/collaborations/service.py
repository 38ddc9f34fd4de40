"""Collaborations: creation, compensation, the pipeline state machine and contract terms.

Pipeline: prospect -> contacted -> negotiating -> contracted -> active -> completed; declined
from prospect/contacted/negotiating; cancelled from any non-terminal status. Every move is one
`UPDATE ... WHERE status IN (allowed) RETURNING` so two racing requests cannot both win, and
writes a timeline row (collaboration_events) in the same transaction.

Moving to `contracted` needs terms, freezes the current version, checks the campaign budget
(flat fee + gifted value) and creates the deliverables the terms list. Compensation is part of
the contract: it can change only before `contracted`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.budget import ensure_within_budget
from shared.collaborations.repository import (
    CONTRACT_IN_FORCE,
    CollaborationNotFound,
    CollaborationRepository,
    ContractTermsRepository,
)
from shared.db.base import uuid7
from shared.db.integrity import constraint_name
from shared.errors import Conflict, InvalidInput, InvalidTransition
from shared.models import (
    Brand,
    Campaign,
    Collaboration,
    CollaborationEvent,
    ContractTerms,
    Deliverable,
)
from shared.models.enums import CollaborationStatus as S

# to-status -> the statuses it may be reached from.
_ALLOWED: dict[S, tuple[S, ...]] = {
    S.PROSPECT: (),
    S.CONTACTED: (S.PROSPECT,),
    S.NEGOTIATING: (S.CONTACTED,),
    S.CONTRACTED: (S.NEGOTIATING,),
    S.ACTIVE: (S.CONTRACTED,),
    S.COMPLETED: (S.ACTIVE,),
    S.DECLINED: (S.PROSPECT, S.CONTACTED, S.NEGOTIATING),
    S.CANCELLED: (S.PROSPECT, S.CONTACTED, S.NEGOTIATING, S.CONTRACTED, S.ACTIVE),
}
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    to.value: tuple(s.value for s in froms) for to, froms in _ALLOWED.items()
}
PRE_CONTRACT = (S.PROSPECT.value, S.CONTACTED.value, S.NEGOTIATING.value)
# Never contracted, so nothing (fees, deliverables, links) hangs off them yet.
DELETABLE = (*PRE_CONTRACT, S.DECLINED.value)
CLOSED = (S.DECLINED.value, S.CANCELLED.value)
COMPENSATION_FIELDS = frozenset(
    {
        "flat_fee_minor",
        "gifted_value_minor",
        "gifted_product",
        "commission_bps",
        "commission_fixed_minor",
    }
)


class IllegalTransition(InvalidTransition):
    code = "illegal_transition"
    title = "Illegal status transition"
    resource = "collaboration"


class TermsRequired(Conflict):
    code = "terms_required"
    title = "Contract terms required"


class CollaborationExists(Conflict):
    code = "collaboration_exists"
    title = "Collaboration exists"


class CompensationFrozen(Conflict):
    code = "compensation_frozen"
    title = "Compensation is frozen"


class CollaborationClosed(Conflict):
    code = "collaboration_closed"
    title = "Collaboration is closed"


class NotDeletable(Conflict):
    code = "collaboration_not_deletable"
    title = "Collaboration cannot be deleted"


class TermsChanged(Conflict):
    code = "terms_changed_concurrently"
    title = "Terms changed concurrently"


@dataclass(slots=True)
class TermsInput:
    """One contract version as written by the caller (validated here, not only in the API)."""

    # [{"type", "platform", "count", "due_dates": [date, ...], "brief"?}]
    deliverables: list[dict[str, Any]] = field(default_factory=list)
    approval_required: bool = True
    usage_scope: list[str] = field(default_factory=list)
    usage_territory: str | None = None
    usage_starts_on: date | None = None
    usage_ends_on: date | None = None
    exclusivity_days: int | None = None
    payment_terms: str | None = None
    signed_at: datetime | None = None


def _validate_terms(terms: TermsInput) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    for i, item in enumerate(terms.deliverables):
        count = int(item["count"])
        due_dates: list[date] = list(item.get("due_dates") or [])
        if count < 1:
            raise InvalidInput(["body", "deliverables", i, "count"], "count must be at least 1.")
        if len(due_dates) > count:
            raise InvalidInput(
                ["body", "deliverables", i, "due_dates"],
                f"{len(due_dates)} due dates for {count} deliverable(s): at most one per item.",
            )
        entry: dict[str, Any] = {
            "type": str(item["type"]),
            "platform": str(item["platform"]),
            "count": count,
            "due_dates": [d.isoformat() for d in sorted(due_dates)],
        }
        if item.get("brief"):
            entry["brief"] = item["brief"]
        stored.append(entry)
    if (
        terms.usage_starts_on is not None
        and terms.usage_ends_on is not None
        and terms.usage_ends_on < terms.usage_starts_on
    ):
        raise InvalidInput(
            ["body", "usage_rights", "ends_on"], "Usage rights cannot end before they start."
        )
    if terms.exclusivity_days is not None and terms.exclusivity_days < 0:
        raise InvalidInput(["body", "exclusivity_days"], "Must be zero or more.")
    return stored


def _event(
    collab: Collaboration | uuid.UUID,
    brand_id: uuid.UUID,
    kind: str,
    *,
    actor_key_id: uuid.UUID | None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
) -> CollaborationEvent:
    collab_id = collab.id if isinstance(collab, Collaboration) else collab
    return CollaborationEvent(
        brand_id=brand_id,
        collaboration_id=collab_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_key_id=actor_key_id,
        note=note,
    )


async def create_collaboration(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    campaign_id: uuid.UUID,
    influencer_id: uuid.UUID,
    actor_key_id: uuid.UUID | None = None,
    currency: str | None = None,
    flat_fee_minor: int | None = None,
    gifted_value_minor: int | None = None,
    gifted_product: str | None = None,
    commission_bps: int | None = None,
    commission_fixed_minor: int | None = None,
    outreach_notes: str | None = None,
    feedback: dict[str, Any] | None = None,
) -> Collaboration:
    repo = CollaborationRepository(session, brand_id)
    campaign = await repo.campaign(campaign_id)
    await repo.influencer(influencer_id)
    currency = (currency or campaign.currency).upper()
    if currency != campaign.currency:
        raise InvalidInput(
            ["body", "currency"],
            f"Compensation must be in the campaign's currency ({campaign.currency}).",
        )
    collab = Collaboration(
        id=uuid7(),
        brand_id=brand_id,
        campaign_id=campaign_id,
        influencer_id=influencer_id,
        status=S.PROSPECT.value,
        currency=currency,
        flat_fee_minor=flat_fee_minor,
        gifted_value_minor=gifted_value_minor,
        gifted_product=gifted_product,
        commission_bps=commission_bps,
        commission_fixed_minor=commission_fixed_minor,
        outreach_notes=outreach_notes,
        feedback=_clean_feedback(feedback),
    )
    try:
        async with session.begin_nested():
            session.add(collab)
            await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == "uq_collaborations_pair":
            raise CollaborationExists(
                "This influencer already has a collaboration in this campaign.",
                errors=[{"loc": ["body", "influencer_id"], "msg": "Already in this campaign."}],
            ) from exc
        raise
    session.add(
        _event(collab, brand_id, "created", actor_key_id=actor_key_id, to_status=collab.status)
    )
    await session.flush()
    await session.refresh(collab)
    return collab


def _clean_feedback(feedback: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (feedback or {}).items() if v is not None}


async def update_collaboration(
    session: AsyncSession, brand_id: uuid.UUID, collab_id: uuid.UUID, changes: dict[str, Any]
) -> Collaboration:
    """PATCH semantics: only the keys present change; compensation only before contracting."""
    repo = CollaborationRepository(session, brand_id)
    if not changes:
        return await repo.get_or_404(collab_id)
    values = dict(changes)
    if "feedback" in values:
        values["feedback"] = _clean_feedback(values["feedback"])
    stmt = update(Collaboration).where(
        Collaboration.id == collab_id, Collaboration.brand_id == brand_id
    )
    touches_compensation = bool(COMPENSATION_FIELDS & values.keys())
    if touches_compensation:
        stmt = stmt.where(Collaboration.status.in_(PRE_CONTRACT))
    stmt = (
        stmt.values(**values)
        .returning(Collaboration.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        current = await repo.current_status(collab_id)
        if current is None:
            raise CollaborationNotFound(detail=f"No collaboration with id {collab_id}.")
        raise CompensationFrozen(
            f"The collaboration is {current}: compensation is part of the contract and can "
            "only change before it is contracted.",
            current_status=current,
        )
    return await repo.get_fresh(collab_id)


async def delete_collaboration(
    session: AsyncSession, brand_id: uuid.UUID, collab_id: uuid.UUID
) -> None:
    stmt = (
        delete(Collaboration)
        .where(
            Collaboration.id == collab_id,
            Collaboration.brand_id == brand_id,
            Collaboration.status.in_(DELETABLE),
        )
        .returning(Collaboration.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        current = await CollaborationRepository(session, brand_id).current_status(collab_id)
        if current is None:
            raise CollaborationNotFound(detail=f"No collaboration with id {collab_id}.")
        raise NotDeletable(
            f"The collaboration is {current}; only collaborations never contracted "
            f"({', '.join(DELETABLE)}) can be deleted. Cancel it instead.",
            current_status=current,
        )


async def transition(
    session: AsyncSession,
    brand_id: uuid.UUID,
    collab_id: uuid.UUID,
    to: str,
    *,
    actor_key_id: uuid.UUID | None,
    note: str | None = None,
    allow_over_budget: bool = False,
) -> Collaboration:
    repo = CollaborationRepository(session, brand_id)
    if to not in ALLOWED_FROM:
        raise InvalidInput(["body", "to"], f"Unknown status {to!r}.")
    allowed = ALLOWED_FROM[to]
    collab = await repo.get_or_404(collab_id)
    terms: ContractTerms | None = None
    if to == S.CONTRACTED:
        # Lock order campaign -> collaboration -> terms, everywhere: the budget guard locks the
        # campaign, so two collaborations contracting on one budget queue up instead of both
        # passing the check. The fee is re-read under the lock.
        await session.execute(
            select(Campaign.id).where(Campaign.id == collab.campaign_id).with_for_update()
        )
        collab = await repo.get_fresh(collab_id, lock="update")
        if collab.status not in allowed:
            raise IllegalTransition(collab.status, to)
        terms = await ContractTermsRepository(session, brand_id).latest(collab_id, for_update=True)
        if terms is None:
            raise TermsRequired(
                "Put contract terms (PUT .../terms) before moving to contracted.",
                current_status=collab.status,
                requested_status=to,
            )
        fee = (collab.flat_fee_minor or 0) + (collab.gifted_value_minor or 0)
        await ensure_within_budget(
            session, collab.campaign_id, fee, allow_over_budget=allow_over_budget
        )

    # The state machine itself: the CTE locks the row and reads the status it had, so the
    # timeline's from_status is the one this UPDATE actually replaced.
    prev = (
        select(Collaboration.id, Collaboration.status)
        .where(Collaboration.id == collab_id, Collaboration.brand_id == brand_id)
        .with_for_update()
        .cte("prev")
    )
    stmt = (
        update(Collaboration)
        .where(Collaboration.id == prev.c.id, prev.c.status.in_(allowed))
        .values(status=to, status_changed_at=func.now())
        .returning(prev.c.status)
        .execution_options(synchronize_session=False)
    )
    from_status = (await session.execute(stmt)).scalar_one_or_none()
    if from_status is None:
        current = await repo.current_status(collab_id)
        if current is None:
            raise CollaborationNotFound(detail=f"No collaboration with id {collab_id}.")
        raise IllegalTransition(current, to)
    session.add(
        _event(
            collab_id,
            brand_id,
            "status_changed",
            actor_key_id=actor_key_id,
            from_status=from_status,
            to_status=to,
            note=note,
        )
    )
    if terms is not None:
        await session.execute(
            update(ContractTerms)
            .where(ContractTerms.id == terms.id, ContractTerms.frozen_at.is_(None))
            .values(frozen_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await _create_deliverables(session, collab, terms)
    await session.flush()
    return await repo.get_fresh(collab_id)


async def _create_deliverables(
    session: AsyncSession, collab: Collaboration, terms: ContractTerms
) -> None:
    """One row per promised piece: `count` rows per line, due dates taken in order.

    A due date is a calendar day in the brand's time zone: the piece is due by the end of it.
    """
    tz_name = (
        await session.execute(select(Brand.timezone).where(Brand.id == collab.brand_id))
    ).scalar_one()
    tz = ZoneInfo(tz_name)
    for item in terms.deliverables:
        due_dates = [date.fromisoformat(d) for d in item.get("due_dates", [])]
        for i in range(int(item["count"])):
            due_at = None
            if i < len(due_dates):
                due_at = datetime.combine(due_dates[i] + timedelta(days=1), time(0), tzinfo=tz)
            session.add(
                Deliverable(
                    id=uuid7(),
                    brand_id=collab.brand_id,
                    collaboration_id=collab.id,
                    type=item["type"],
                    platform=item["platform"],
                    due_at=due_at,
                    brief=item.get("brief"),
                    status="pending",
                )
            )


async def put_terms(
    session: AsyncSession,
    brand_id: uuid.UUID,
    collab_id: uuid.UUID,
    terms_in: TermsInput,
    *,
    actor_key_id: uuid.UUID | None,
) -> tuple[ContractTerms, bool]:
    """Create or replace the draft version; once contracted, every change is a new version,
    frozen at once (it amends a contract in force) and kept beside the older ones.

    Returns the version and whether it is a new row.
    """
    stored = _validate_terms(terms_in)
    # Shared lock on the collaboration: a concurrent move to contracted (which locks it for
    # update) either sees these terms or makes us see its frozen version.
    collab = await CollaborationRepository(session, brand_id).get_fresh(collab_id, lock="share")
    if collab.status in CLOSED:
        raise CollaborationClosed(
            f"The collaboration is {collab.status}; its terms can no longer change.",
            current_status=collab.status,
        )
    terms_repo = ContractTermsRepository(session, brand_id)
    latest = await terms_repo.latest(collab_id, for_update=True)
    in_force = collab.status in CONTRACT_IN_FORCE
    values: dict[str, Any] = {
        "deliverables": stored,
        "approval_required": terms_in.approval_required,
        "usage_scope": sorted(set(terms_in.usage_scope)),
        "usage_territory": terms_in.usage_territory,
        "usage_starts_on": terms_in.usage_starts_on,
        "usage_ends_on": terms_in.usage_ends_on,
        "exclusivity_days": terms_in.exclusivity_days,
        "payment_terms": terms_in.payment_terms,
        "signed_at": terms_in.signed_at,
    }
    if latest is not None and latest.frozen_at is None and not in_force:
        for key, value in values.items():
            setattr(latest, key, value)
        await session.flush()
        await session.refresh(latest)
        return latest, False
    version = (latest.version + 1) if latest is not None else 1
    row = ContractTerms(
        id=uuid7(),
        brand_id=brand_id,
        collaboration_id=collab_id,
        version=version,
        frozen_at=func.now() if in_force else None,
        **values,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == "uq_contract_terms_version":
            raise TermsChanged(
                "Another request wrote this collaboration's terms at the same time; retry."
            ) from exc
        raise
    session.add(
        _event(
            collab_id,
            brand_id,
            "terms_version",
            actor_key_id=actor_key_id,
            note=f"version {version}" + (" (amendment, in force)" if in_force else ""),
        )
    )
    await session.flush()
    await session.refresh(row)
    return row, True
