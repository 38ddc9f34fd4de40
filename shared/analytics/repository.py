"""Report queries. They read rollup tables (never raw clicks or orders) plus the small
campaign tables (collaborations, cost lines, KPI targets). Every query is brand-scoped.

A report's scope is one column of the rollups: `campaign_id` (campaign report) or
`influencer_id` (influencer report); its "who" breakdown groups by the other one.
"""

from __future__ import annotations

import re
import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from shared.analytics.formulas import POST_METRICS, SENTIMENTS

ScopeColumn = Literal["campaign_id", "influencer_id"]

LINK_SUMS = (
    "sum(clicks) AS clicks, sum(unique_clicks) AS unique_clicks, sum(bot_clicks) AS bot_clicks"
)
SALES_SUMS = (
    "sum(orders) AS orders, sum(gross_minor) AS gross_minor, sum(refunds_minor) AS refunds_minor, "
    "sum(commission_earned_minor) AS commission_earned_minor, "
    "sum(commission_reversed_minor) AS commission_reversed_minor"
)
POST_COLUMNS = (*POST_METRICS, *(f"comments_{s}" for s in SENTIMENTS))
POST_SUMS = ", ".join(f"sum(r.{c}) AS {c}" for c in POST_COLUMNS)


def _other(scope: ScopeColumn) -> ScopeColumn:
    return "influencer_id" if scope == "campaign_id" else "campaign_id"


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=256)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters -> asyncpg's `$n` (`::casts` untouched)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


@lru_cache(maxsize=256)
def _row_type(columns: tuple[str, ...]) -> Any:
    return namedtuple("ReportRow", columns)


async def fetch_rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run a report query on the session's connection (its transaction, if one is open).

    Straight on the asyncpg connection, rows as named tuples: a report runs a handful of
    queries returning a few thousand rows, and SQLAlchemy's per-row Result machinery and
    Row attribute access cost more than the queries themselves (measured: ~1.3 us per
    attribute read on a Row, ~0.1 us on a named tuple)."""
    query, names = _positional(sql)
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    records = await driver.fetch(query, *(params[n] for n in names))
    if not records:
        return []
    make = _row_type(tuple(records[0].keys()))._make
    return [make(r) for r in records]


# ----------------------------------------------------------------------------- daily
async def daily_followers(
    session: AsyncSession,
    brand_id: uuid.UUID,
    influencer_ids: list[uuid.UUID],
    *,
    by_influencer: bool,
) -> list[Any]:
    """New followers of the influencers' accounts per day (and influencer)."""
    if not influencer_ids:
        return []
    group = "influencer_id, day" if by_influencer else "day"
    return await fetch_rows(
        session,
        f"SELECT {group}, sum(new_followers) AS new_followers "  # noqa: S608
        "FROM rollup_account_daily WHERE brand_id = :b "
        f"AND influencer_id = ANY(CAST(:ids AS uuid[])) GROUP BY {group}",
        {"b": brand_id, "ids": influencer_ids},
    )


async def window_followers(
    session: AsyncSession,
    brand_id: uuid.UUID,
    influencer_ids: list[uuid.UUID],
    window: tuple[date, date],
    within: tuple[date, date],
) -> list[Any]:
    """New followers of the influencers' accounts inside `window`: per day (g = 0), and per
    influencer within `within` as well (r_new_followers)."""
    return await fetch_rows(
        session,
        "SELECT GROUPING(day) AS g, day, influencer_id, sum(new_followers) AS new_followers, "
        "sum(new_followers) FILTER (WHERE day BETWEEN :s AND :e) AS r_new_followers "
        "FROM rollup_account_daily WHERE brand_id = :b "
        "AND influencer_id = ANY(CAST(:ids AS uuid[])) AND day BETWEEN :w0 AND :w1 "
        "GROUP BY GROUPING SETS ((day), (influencer_id))",
        {
            "b": brand_id,
            "ids": influencer_ids,
            "w0": window[0],
            "w1": window[1],
            "s": within[0],
            "e": within[1],
        },
    )


# ----------------------------------------------------------------------------- one scope
# A single-scope report reads each rollup table once: GROUPING SETS give the per-day rows
# (all days: KPIs look past the range) and the per-who / per-dimension rows (within the range,
# through FILTERed sums `r_*`) in one scan. `g` tells the sets apart: 0 = day rows.
def _sums(columns: tuple[str, ...], prefix: str = "") -> str:
    full = ", ".join(f"sum({prefix}{c}) AS {c}" for c in columns)
    ranged = ", ".join(
        f"sum({prefix}{c}) FILTER (WHERE {prefix}day BETWEEN :s AND :e) AS r_{c}" for c in columns
    )
    return f"{full}, {ranged}"


LINK_COLUMNS = ("clicks", "unique_clicks", "bot_clicks")
SALES_COLUMNS = (
    "orders",
    "gross_minor",
    "refunds_minor",
    "commission_earned_minor",
    "commission_reversed_minor",
)


async def scope_links(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    key: uuid.UUID,
    start: date,
    end: date,
) -> list[Any]:
    other = _other(scope)
    return await fetch_rows(
        session,
        f"SELECT GROUPING(day) AS g, day, {other} AS who, {_sums(LINK_COLUMNS)} "  # noqa: S608
        f"FROM rollup_link_daily WHERE brand_id = :b AND {scope} = :k "
        f"GROUP BY GROUPING SETS ((day), ({other}))",
        {"b": brand_id, "k": key, "s": start, "e": end},
    )


async def scope_sales(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    key: uuid.UUID,
    start: date,
    end: date,
) -> list[Any]:
    other = _other(scope)
    return await fetch_rows(
        session,
        f"SELECT GROUPING(day) AS g, day, {other} AS who, currency, "  # noqa: S608
        f"{_sums(SALES_COLUMNS)} FROM rollup_sales_daily "
        f"WHERE brand_id = :b AND {scope} = :k "
        f"GROUP BY GROUPING SETS ((day, currency), ({other}, currency))",
        {"b": brand_id, "k": key, "s": start, "e": end},
    )


async def scope_posts(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    key: uuid.UUID,
    start: date,
    end: date,
) -> list[Any]:
    """`dim`: day | who | platform | tier | deliverable_type; `value` its key (as text)."""
    other = _other(scope)
    tier = "coalesce(a.tier, 'unknown')"
    return await fetch_rows(
        session,
        f"""
SELECT CASE WHEN GROUPING(r.day) = 0 THEN 'day'
            WHEN GROUPING(r.{other}) = 0 THEN 'who'
            WHEN GROUPING(r.platform) = 0 THEN 'platform'
            WHEN GROUPING({tier}) = 0 THEN 'tier'
            ELSE 'deliverable_type' END AS dim,
       r.day,
       coalesce(CAST(r.{other} AS text), r.platform, {tier}, r.deliverable_type) AS value,
       {_sums(POST_COLUMNS, "r.")}
FROM rollup_post_daily r LEFT JOIN social_accounts a ON a.id = r.account_id
WHERE r.brand_id = :b AND r.{scope} = :k
GROUP BY GROUPING SETS ((r.day), (r.{other}), (r.platform), ({tier}), (r.deliverable_type))
""",  # noqa: S608 (constant identifiers)
        {"b": brand_id, "k": key, "s": start, "e": end},
    )


# ----------------------------------------------------------------------------- groups
async def grouped_links(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    keys: list[uuid.UUID],
    start: date,
    end: date,
) -> list[Any]:
    """Per (scope key, other key): link sums within [start, end]."""
    other = _other(scope)
    return await fetch_rows(
        session,
        f"SELECT {scope} AS scope_key, {other} AS who, {LINK_SUMS} "  # noqa: S608
        f"FROM rollup_link_daily WHERE brand_id = :b AND {scope} = ANY(CAST(:k AS uuid[])) "
        f"AND day BETWEEN :s AND :e GROUP BY {scope}, {other}",
        {"b": brand_id, "k": keys, "s": start, "e": end},
    )


async def grouped_sales(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    keys: list[uuid.UUID],
    start: date,
    end: date,
) -> list[Any]:
    other = _other(scope)
    return await fetch_rows(
        session,
        f"SELECT {scope} AS scope_key, {other} AS who, currency, {SALES_SUMS} "  # noqa: S608
        f"FROM rollup_sales_daily WHERE brand_id = :b AND {scope} = ANY(CAST(:k AS uuid[])) "
        f"AND day BETWEEN :s AND :e GROUP BY {scope}, {other}, currency",
        {"b": brand_id, "k": keys, "s": start, "e": end},
    )


async def grouped_posts(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: ScopeColumn,
    keys: list[uuid.UUID],
    start: date,
    end: date,
) -> list[Any]:
    """Post sums per scope key and, in turn, per who / platform / tier / deliverable type
    (one GROUPING SETS scan). `dim` names the grouping of each row, `value` its key."""
    other = _other(scope)
    tier = "coalesce(a.tier, 'unknown')"
    return await fetch_rows(
        session,
        f"""
SELECT r.{scope} AS scope_key,
       CASE WHEN GROUPING(r.{other}) = 0 THEN 'who'
            WHEN GROUPING(r.platform) = 0 THEN 'platform'
            WHEN GROUPING({tier}) = 0 THEN 'tier'
            WHEN GROUPING(r.deliverable_type) = 0 THEN 'deliverable_type'
            ELSE 'all' END AS dim,
       coalesce(CAST(r.{other} AS text), r.platform, {tier}, r.deliverable_type) AS value,
       {POST_SUMS}
FROM rollup_post_daily r LEFT JOIN social_accounts a ON a.id = r.account_id
WHERE r.brand_id = :b AND r.{scope} = ANY(CAST(:k AS uuid[])) AND r.day BETWEEN :s AND :e
GROUP BY r.{scope}, GROUPING SETS ((), (r.{other}), (r.platform), ({tier}),
                                   (r.deliverable_type))
""",  # noqa: S608 (constant identifiers)
        {"b": brand_id, "k": keys, "s": start, "e": end},
    )


# ----------------------------------------------------------------------------- campaign side
@dataclass(frozen=True, slots=True)
class CollaborationFacts:
    id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    influencer_name: str
    campaign_name: str
    campaign_status: str
    campaign_starts_on: date | None
    campaign_ends_on: date | None
    status: str
    currency: str
    flat_fee_minor: int
    gifted_value_minor: int
    created_at: Any
    platform: str  # the influencer's largest account's platform, or "unknown"
    tier: str  # that account's tier, or "unknown"
    deliverable_type: str  # the collaboration's most frequent deliverable type, or "none"


_COLLABORATIONS = """
SELECT c.id, c.campaign_id, c.influencer_id, i.name AS influencer_name,
       k.name AS campaign_name, k.status AS campaign_status,
       k.starts_on AS campaign_starts_on, k.ends_on AS campaign_ends_on,
       c.status, c.currency,
       coalesce(c.flat_fee_minor, 0) AS flat_fee_minor,
       coalesce(c.gifted_value_minor, 0) AS gifted_value_minor, c.created_at,
       coalesce(acc.platform, 'unknown') AS platform, coalesce(acc.tier, 'unknown') AS tier,
       coalesce((SELECT d.type FROM deliverables d WHERE d.collaboration_id = c.id
                 GROUP BY d.type ORDER BY count(*) DESC, d.type LIMIT 1), 'none')
         AS deliverable_type
FROM collaborations c
JOIN influencers i ON i.id = c.influencer_id
JOIN campaigns k ON k.id = c.campaign_id
LEFT JOIN LATERAL (
  SELECT a.platform, a.tier FROM social_accounts a WHERE a.influencer_id = c.influencer_id
  ORDER BY a.followers DESC, a.id LIMIT 1
) acc ON true
WHERE c.brand_id = :b AND c.{column} = ANY(CAST(:k AS uuid[]))
ORDER BY k.starts_on NULLS LAST, c.created_at, c.id
"""


async def collaborations(
    session: AsyncSession, brand_id: uuid.UUID, column: ScopeColumn, keys: list[uuid.UUID]
) -> list[CollaborationFacts]:
    rows = await fetch_rows(
        session, _COLLABORATIONS.format(column=column), {"b": brand_id, "k": keys}
    )
    return [CollaborationFacts(**r._asdict()) for r in rows]


@dataclass(frozen=True, slots=True)
class CostLineFacts:
    campaign_id: uuid.UUID
    collaboration_id: uuid.UUID | None
    currency: str
    amount_minor: int
    incurred_on: date | None


async def cost_lines(
    session: AsyncSession, brand_id: uuid.UUID, campaign_ids: list[uuid.UUID]
) -> list[CostLineFacts]:
    rows = await fetch_rows(
        session,
        "SELECT campaign_id, collaboration_id, currency, amount_minor, incurred_on "
        "FROM cost_lines WHERE brand_id = :b AND campaign_id = ANY(CAST(:k AS uuid[]))",
        {"b": brand_id, "k": campaign_ids},
    )
    return [CostLineFacts(**r._asdict()) for r in rows]


@dataclass(frozen=True, slots=True)
class KpiFacts:
    id: uuid.UUID
    metric: str
    target_value: Decimal
    deadline: date
    created_at: Any


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    id: uuid.UUID
    name: str
    status: str
    goal: str
    currency: str
    starts_on: date | None
    ends_on: date | None


async def campaigns(session: AsyncSession, brand_id: uuid.UUID) -> list[CampaignFacts]:
    rows = await fetch_rows(
        session,
        "SELECT id, name, status, goal, currency, starts_on, ends_on FROM campaigns "
        "WHERE brand_id = :b ORDER BY starts_on NULLS LAST, created_at, id",
        {"b": brand_id},
    )
    return [CampaignFacts(**r._asdict()) for r in rows]


async def influencer_names(
    session: AsyncSession, brand_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[str, str]:
    if not ids:
        return {}
    rows = await fetch_rows(
        session,
        "SELECT id, name FROM influencers WHERE brand_id = :b AND id = ANY(CAST(:k AS uuid[]))",
        {"b": brand_id, "k": ids},
    )
    return {str(r.id): r.name for r in rows}


# ----------------------------------------------------------------------------- campaign context
@dataclass(frozen=True, slots=True)
class CampaignContext:
    """Everything a campaign report needs besides the rollups, read in one round trip."""

    campaign: CampaignFacts
    timezone: str
    default_currency: str
    collaborations: list[CollaborationFacts]
    cost_lines: list[CostLineFacts]
    kpis: list[KpiFacts]


_CAMPAIGN_CONTEXT = """
SELECT k.id, k.name, k.status, k.goal, k.currency, k.starts_on, k.ends_on,
       b.timezone, b.default_currency,
       (SELECT coalesce(json_agg(row_to_json(x) ORDER BY x.created_at, x.id), '[]')
        FROM (
          SELECT c.id, c.campaign_id, c.influencer_id, i.name AS influencer_name,
                 k.name AS campaign_name, k.status AS campaign_status,
                 k.starts_on AS campaign_starts_on, k.ends_on AS campaign_ends_on,
                 c.status, c.currency,
                 coalesce(c.flat_fee_minor, 0) AS flat_fee_minor,
                 coalesce(c.gifted_value_minor, 0) AS gifted_value_minor, c.created_at,
                 coalesce(acc.platform, 'unknown') AS platform,
                 coalesce(acc.tier, 'unknown') AS tier,
                 coalesce((SELECT d.type FROM deliverables d WHERE d.collaboration_id = c.id
                           GROUP BY d.type ORDER BY count(*) DESC, d.type LIMIT 1), 'none')
                   AS deliverable_type
          FROM collaborations c
          JOIN influencers i ON i.id = c.influencer_id
          LEFT JOIN LATERAL (
            SELECT a.platform, a.tier FROM social_accounts a
            WHERE a.influencer_id = c.influencer_id ORDER BY a.followers DESC, a.id LIMIT 1
          ) acc ON true
          WHERE c.campaign_id = k.id AND c.brand_id = b.id
        ) x) AS collaborations,
       (SELECT coalesce(json_agg(json_build_object(
                 'campaign_id', l.campaign_id, 'collaboration_id', l.collaboration_id,
                 'currency', l.currency, 'amount_minor', l.amount_minor,
                 'incurred_on', l.incurred_on)), '[]')
        FROM cost_lines l WHERE l.campaign_id = k.id AND l.brand_id = b.id) AS cost_lines,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', t.id, 'metric', t.metric, 'target_value', CAST(t.target_value AS text),
                 'deadline', t.deadline, 'created_at', t.created_at)
                 ORDER BY t.deadline, t.metric, t.id), '[]')
        FROM kpi_targets t WHERE t.campaign_id = k.id AND t.brand_id = b.id) AS kpis
FROM campaigns k JOIN brands b ON b.id = k.brand_id
WHERE k.id = :k AND k.brand_id = :b
"""


def _json(value: Any) -> Any:
    # SQLAlchemy's asyncpg dialect installs a json codec on its connections (already
    # decoded); a bare asyncpg connection hands over text.
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


async def campaign_context(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID
) -> CampaignContext | None:
    """None when the brand has no such campaign."""
    rows = await fetch_rows(session, _CAMPAIGN_CONTEXT, {"b": brand_id, "k": campaign_id})
    if not rows:
        return None
    r = rows[0]
    collabs = [
        CollaborationFacts(
            **{
                **c,
                "id": uuid.UUID(c["id"]),
                "campaign_id": uuid.UUID(c["campaign_id"]),
                "influencer_id": uuid.UUID(c["influencer_id"]),
                "campaign_starts_on": _day(c["campaign_starts_on"]),
                "campaign_ends_on": _day(c["campaign_ends_on"]),
                "created_at": datetime.fromisoformat(c["created_at"]),
            }
        )
        for c in _json(r.collaborations)
    ]
    lines = [
        CostLineFacts(
            campaign_id=uuid.UUID(line["campaign_id"]),
            collaboration_id=_uuid(line["collaboration_id"]),
            currency=line["currency"],
            amount_minor=int(line["amount_minor"]),
            incurred_on=_day(line["incurred_on"]),
        )
        for line in _json(r.cost_lines)
    ]
    kpis = [
        KpiFacts(
            id=uuid.UUID(k["id"]),
            metric=k["metric"],
            target_value=Decimal(k["target_value"]),
            deadline=date.fromisoformat(k["deadline"]),
            created_at=datetime.fromisoformat(k["created_at"]),
        )
        for k in _json(r.kpis)
    ]
    campaign = CampaignFacts(
        id=r.id,
        name=r.name,
        status=r.status,
        goal=r.goal,
        currency=r.currency,
        starts_on=r.starts_on,
        ends_on=r.ends_on,
    )
    return CampaignContext(campaign, r.timezone, r.default_currency, collabs, lines, kpis)
