"""Set-based SQL for batches of hundreds of orders.

Two things an ORM statement does per value that a batch cannot afford: an `IN (...)` list
renders (and asyncpg binds) one parameter per value, and an executemany processes every row
separately. Here a list travels as ONE array parameter (`= ANY($1::text[])`, `unnest`), so a
statement costs the same to build at 1 value or 1,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine


def any_of(column: Any, values: Sequence[Any], item_type: TypeEngine[Any]) -> ColumnElement[bool]:
    """`column = ANY(:values)` with the whole list as one array parameter."""
    clause: ColumnElement[bool] = column == any_(
        bindparam(None, list(values), type_=ARRAY(item_type))
    )
    return clause


# A text[] value travels as a JSON array (unnest would flatten a text[][]); rebuilt in order.
_TEXT_ARRAY_FROM_JSON = (
    "ARRAY(SELECT e FROM jsonb_array_elements_text(CAST(c{i} AS jsonb)) "
    "WITH ORDINALITY AS t(e, n) ORDER BY n)"
)


def _array_type(column: Any) -> str:
    """The PostgreSQL type a column's values travel as in `bulk_insert` (one array each)."""
    kind = type(column.type).__name__
    return {
        "UUID": "uuid",
        "Uuid": "uuid",
        "Text": "text",
        "String": "text",
        "BigInteger": "bigint",
        "Integer": "integer",
        "DateTime": "timestamptz",
        "JSONB": "jsonb",
        "ARRAY": "text[]",
    }[kind]


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows as one statement over one array per column
    (`INSERT ... SELECT FROM unnest($1::uuid[], $2::text[], ...)`): one round trip, one plan,
    and none of the per-row parameter processing of an executemany. JSON values travel as
    text (serialised with orjson), text[] values as JSON arrays."""
    if not rows:
        return
    columns = list(rows[0])
    params: dict[str, Any] = {}
    arrays: list[str] = []
    exprs: list[str] = []
    for i, name in enumerate(columns):
        pg_type = _array_type(table.c[name])
        values = [row[name] for row in rows]
        if pg_type in ("jsonb", "text[]"):
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
            arrays.append(f"CAST(:c{i} AS text[])")
            exprs.append(
                f"CAST(c{i} AS jsonb)" if pg_type == "jsonb" else _TEXT_ARRAY_FROM_JSON.format(i=i)
            )
        else:
            arrays.append(f"CAST(:c{i} AS {pg_type}[])")
            exprs.append(f"c{i}")
        params[f"c{i}"] = values
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"SELECT {', '.join(exprs)} FROM unnest({', '.join(arrays)}) AS u({names})"
    )
    await session.execute(text(sql), params)
