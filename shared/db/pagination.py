"""Keyset pagination: `?limit=` (default 50, max 200) and an opaque `?cursor=`.

A cursor encodes the last row's sort key and id; the next page is the rows strictly after
that pair in the query's order, so pages are stable under concurrent inserts and cost the
same at page 1,000 as at page 1.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "u" in value:
            return uuid.UUID(value["u"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([_encode(v) for v in values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("arity")
        return [_decode(v) for v in values]
    except (ValueError, TypeError) as exc:
        raise InvalidInput(["query", "cursor"], "Invalid cursor.") from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page[Any]:
    """Run `stmt` ordered by `keys` (the last must be unique, e.g. the id) from `cursor` on.

    NULL sort values are not supported: sort only on NOT NULL columns (or coalesce them).
    """
    if cursor:
        after = decode_cursor(cursor, len(keys))
        stmt = stmt.where(_after(keys, after, descending))
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = (await session.execute(stmt.order_by(*order).limit(limit + 1))).scalars().all()
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(items=rows, next_cursor=encode_cursor([getattr(last, k.key) for k in keys]))


def _after(
    keys: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any], descending: bool
) -> ColumnElement[bool]:
    # (k1, k2, ...) > (v1, v2, ...) expanded, so mixed types and descending work everywhere.
    clauses: list[ColumnElement[bool]] = []
    for i, key in enumerate(keys):
        equal = [keys[j] == values[j] for j in range(i)]
        beyond = key < values[i] if descending else key > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)
