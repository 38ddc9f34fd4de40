"""Record domain events in the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.base import uuid7
from shared.models import OutboxEvent


async def record_event(
    session: AsyncSession,
    brand_id: uuid.UUID,
    type_: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
) -> bool:
    """Append an event; with `dedupe_key`, a second call with the same key is a no-op.
    Returns whether a row was written. Commits with the caller's unit of work."""
    event_id = uuid7()
    stmt = (
        insert(OutboxEvent)
        .values(
            id=event_id,
            brand_id=brand_id,
            type=type_,
            payload=payload,
            dedupe_key=dedupe_key or str(event_id),
        )
        .on_conflict_do_nothing(constraint="uq_outbox_events_dedupe")
        .returning(OutboxEvent.id)
    )
    return (await session.execute(stmt)).first() is not None
