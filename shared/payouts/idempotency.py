"""Idempotency keys for POST requests whose effect must happen once (`POST /v1/payouts`).

The key is claimed by INSERT ... ON CONFLICT DO NOTHING inside the request's transaction and
completed with the response in the same transaction, so it commits (or rolls back) together
with the effect. A concurrent request with the same key blocks on the unique index until the
first finishes: then it replays the stored response (first committed) or runs itself (first
rolled back). The same key with different parameters is a 409. Keys are kept `KEY_TTL`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.base import uuid7
from shared.errors import Conflict, DomainError
from shared.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyKeyMissing(DomainError):
    status = 400
    code = "idempotency-key-required"
    title = "Idempotency-Key required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[{"loc": ["header", "Idempotency-Key"], "msg": detail}])


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "Idempotency-Key reused with different parameters"


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class Fresh:
    id: uuid.UUID


def check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise IdempotencyKeyMissing(
            "Send an Idempotency-Key header (e.g. a UUID) so a retried request cannot create "
            "payouts twice."
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise IdempotencyKeyMissing(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )
    return key


def fingerprint(params: dict[str, Any]) -> str:
    """SHA-256 of the parameters in canonical JSON (sorted keys, defaults included)."""
    return hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def begin(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    now: datetime | None = None,
) -> Fresh | Replay:
    """Claim `key` for this request (Fresh) or return the first request's response (Replay)."""
    now = now or datetime.now(UTC)
    for _ in range(2):  # a purge between the INSERT and the SELECT: claim again
        claimed = (
            await session.execute(
                insert(IdempotencyKey)
                .values(
                    id=uuid7(),
                    brand_id=brand_id,
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    expires_at=now + KEY_TTL,
                )
                .on_conflict_do_nothing(constraint="uq_idempotency_keys_key")
                .returning(IdempotencyKey.id)
            )
        ).scalar_one_or_none()
        if claimed is not None:
            return Fresh(claimed)
        row = (
            await session.execute(
                select(IdempotencyKey).where(
                    IdempotencyKey.brand_id == brand_id,
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            continue
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with different parameters; use a new key for "
                "a new request.",
                errors=[{"loc": ["header", "Idempotency-Key"], "msg": "Reused key."}],
            )
        assert row.response_status is not None  # completed in the transaction that made it
        return Replay(row.response_status, row.response_body)
    raise Conflict("The Idempotency-Key is being purged; retry the request.")


async def complete(session: AsyncSession, claim: Fresh, status: int, body: Any) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.id)
        .values(response_status=status, response_body=body)
    )


async def purge_expired(session: AsyncSession, *, now: datetime, limit: int = 5000) -> int:
    ids = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at < now)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)).returning(IdempotencyKey.id)
    )
    return len(result.all())
