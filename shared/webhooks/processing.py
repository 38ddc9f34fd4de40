"""Process inbox events: claim with SKIP LOCKED, run the handler in a SAVEPOINT, record the
outcome in the same transaction as the handler's effect.

Claiming. `claim` locks due events, `SELECT ... FOR UPDATE SKIP LOCKED`: pending events, and
failed events whose `next_attempt_at` has passed. Two processors never hold the same event;
one that finds an event locked skips it (its holder is handling it). An event that is
handled, ignored, dead, or failed but not yet due is never claimed, so running a job twice,
or a job for an event another batch already handled, does nothing.

Outcome, per event, inside the caller's transaction (the worker commits once per batch):
- no handler for (source, topic): `ignored`;
- the handler returns: `handled`, `handled_at` = now, commits with the handler's effect;
- the handler raises: its SAVEPOINT is rolled back (none of its writes survive), `attempts`
  + 1, `last_error`, and `failed` with `next_attempt_at` = now + backoff, or `dead` once
  `attempts` reaches `max_attempts`. The bookkeeping is outside the savepoint, so it commits.

Backoff after the n-th failure: 1, 4, 16, 60, 60 ... minutes. Failed events come back through
the sweeper (shared/webhooks/sweeper.py) once due.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import WebhookEvent
from shared.webhooks.registry import BatchHandler, Handler, batch_handler_for, handler_for
from shared.webhooks.status import EventStatus

log = structlog.get_logger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
MAX_ERROR_CHARS = 2000


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 1, 4, 16, 60 minutes (capped)."""
    wait: timedelta = BACKOFF_BASE * 4 ** max(attempts - 1, 0)
    return min(wait, BACKOFF_CAP)


@dataclass(slots=True)
class Outcome:
    handled: list[uuid.UUID] = field(default_factory=list)
    ignored: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    dead: list[uuid.UUID] = field(default_factory=list)

    @property
    def ids(self) -> list[uuid.UUID]:
        return [*self.handled, *self.ignored, *self.failed, *self.dead]

    def counts(self) -> dict[str, int]:
        return {
            "handled": len(self.handled),
            "ignored": len(self.ignored),
            "failed": len(self.failed),
            "dead": len(self.dead),
        }

    def add(self, other: Outcome) -> None:
        self.handled += other.handled
        self.ignored += other.ignored
        self.failed += other.failed
        self.dead += other.dead


def _due(now: datetime) -> ColumnElement[bool]:
    # The IN clause lets PostgreSQL use the partial index ix_webhook_events_unhandled.
    return and_(
        WebhookEvent.status.in_((EventStatus.PENDING.value, EventStatus.FAILED.value)),
        or_(
            WebhookEvent.status == EventStatus.PENDING.value,
            WebhookEvent.next_attempt_at <= now,
        ),
    )


async def claim(
    session: AsyncSession,
    *,
    limit: int,
    first: uuid.UUID | None = None,
    others: bool = True,
    now: datetime | None = None,
) -> list[WebhookEvent]:
    """Lock up to `limit` due events: `first` (if due and free), then (with `others`) the
    oldest other due events nobody else holds."""
    now = now or datetime.now(UTC)
    claimed: list[WebhookEvent] = []
    if first is not None:
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.id == first, _due(now))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        row = (await session.execute(stmt)).scalar_one_or_none()
        if row is not None:
            claimed.append(row)
    room = limit - len(claimed)
    if others and room > 0:
        stmt = (
            select(WebhookEvent)
            .where(_due(now))
            .order_by(WebhookEvent.received_at)
            .limit(room)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if claimed:
            stmt = stmt.where(WebhookEvent.id != first)
        claimed.extend((await session.execute(stmt)).scalars().all())
    return claimed


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the bookkeeping needs, read before any handler runs (a rolled-back savepoint may
    expire the instance)."""

    id: uuid.UUID
    source: str
    topic: str
    attempts: int


async def process_claimed(
    session: AsyncSession,
    events: Sequence[WebhookEvent],
    *,
    max_attempts: int,
    now: datetime | None = None,
) -> Outcome:
    """Run the handlers of locked events and record the outcomes.

    Events whose topic has a batch handler go to it together, in one SAVEPOINT; if that
    raises, each of them is retried alone in its own SAVEPOINT, so one bad event costs only
    its own attempt. Every other event runs its handler in its own SAVEPOINT.
    """
    now = now or datetime.now(UTC)
    outcome = Outcome()
    groups: dict[BatchHandler, list[tuple[_Facts, WebhookEvent]]] = {}
    for event in events:
        facts = _Facts(event.id, event.source, event.topic, event.attempts)
        batch = batch_handler_for(facts.source, facts.topic)
        if batch is not None:
            groups.setdefault(batch, []).append((facts, event))
            continue
        handler = handler_for(facts.source, facts.topic)
        if handler is None:
            outcome.ignored.append(facts.id)
            continue
        await _run_one(session, handler, facts, event, outcome, max_attempts, now)
    for batch, members in groups.items():
        try:
            async with session.begin_nested():
                await batch(session, [event for _, event in members])
        except Exception as exc:
            log.info("webhook_batch_failed_retrying_singly", events=len(members), error=repr(exc))

            async def single(s: AsyncSession, e: WebhookEvent, fn: BatchHandler = batch) -> None:
                await fn(s, [e])

            for facts, event in members:
                if inspect(event).expired_attributes:
                    await session.refresh(event)
                await _run_one(session, single, facts, event, outcome, max_attempts, now)
        else:
            outcome.handled.extend(facts.id for facts, _ in members)
    # One statement per outcome rather than one per event: the marks commit with the effects.
    for ids, status, handled_at in (
        (outcome.handled, EventStatus.HANDLED, now),
        (outcome.ignored, EventStatus.IGNORED, None),
    ):
        if ids:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(ids))
                .values(
                    status=status.value,
                    handled_at=handled_at,
                    last_error=None,
                    next_attempt_at=None,
                )
                .execution_options(synchronize_session=False)
            )
    return outcome


async def _run_one(
    session: AsyncSession,
    handler: Handler,
    facts: _Facts,
    event: WebhookEvent,
    outcome: Outcome,
    max_attempts: int,
    now: datetime,
) -> None:
    try:
        async with session.begin_nested():
            await handler(session, event)
    except Exception as exc:
        attempts = facts.attempts + 1
        dead = attempts >= max_attempts
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        log.warning(
            "webhook_event_failed",
            event_id=str(facts.id),
            source=facts.source,
            topic=facts.topic,
            attempts=attempts,
            dead=dead,
            error=error,
            exc_info=exc,
        )
        # Outside the rolled-back savepoint: commits with the rest of the batch.
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == facts.id)
            .values(
                status=EventStatus.DEAD.value if dead else EventStatus.FAILED.value,
                attempts=attempts,
                last_error=error,
                next_attempt_at=None if dead else now + backoff(attempts),
            )
            .execution_options(synchronize_session=False)
        )
        (outcome.dead if dead else outcome.failed).append(facts.id)
    else:
        outcome.handled.append(facts.id)


async def process_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    max_attempts: int,
    now: datetime | None = None,
) -> EventStatus | None:
    """Process one event if it is due and not locked by another processor. Returns its new
    status, or None if there was nothing to do."""
    events = await claim(session, limit=1, first=event_id, others=False, now=now)
    if not events:
        return None
    outcome = await process_claimed(session, events, max_attempts=max_attempts, now=now)
    for status, ids in (
        (EventStatus.HANDLED, outcome.handled),
        (EventStatus.IGNORED, outcome.ignored),
        (EventStatus.FAILED, outcome.failed),
        (EventStatus.DEAD, outcome.dead),
    ):
        if ids:
            return status
    return None
