"""Daily rollups: which cells changed, and recomputing a cell from raw rows.

A *cell* is what one rollup row (or set of rows) is a pure function of:
- link cell (link_id, local day)        -> rollup_link_daily row, from clicks
- sales cell (collaboration_id, day)    -> rollup_sales_daily rows (one per currency), from
                                           orders (by placed day) and commission entries
                                           (by booking day)
- post cell (post_id)                   -> every rollup_post_daily row of the post, from its
                                           metric snapshots and comments (a snapshot changes
                                           the day after it too: deltas chain)
- account cell (account_id)             -> every rollup_account_daily row of the account

`recompute(session, cells)` deletes the cells' rows and inserts them afresh from raw rows. It
is the only writer of rollup rows: the worker's incremental run feeds it the cells the
triggers marked (`process_dirty`), `vouch rollups rebuild --since` feeds it every cell with
raw data (or rollup rows) from a date on (`rebuild`). Rebuild therefore equals incremental by
construction; tests/worker/test_rollups.py checks it on random histories anyway.

Concurrency: one recompute at a time (a transaction-scoped advisory lock), so two runs never
write a cell from different snapshots. Claiming marks (DELETE ... RETURNING) happens before
reading raw rows in the same transaction; a mark committed later is left for the next run, and
a mark whose data we read is gone with our commit: no change is lost or counted twice.

Days are local to the brand (brands.timezone, read at recompute time). A brand whose time zone
changes is rebuilt whole (`brands_with_new_timezone` + `rebuild`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.analytics.formulas import POST_METRICS, SENTIMENTS
from shared.analytics.repository import fetch_rows
from shared.models import AccountDaily, PostDaily

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key: "vouchROL"
LOCK_KEY = 0x766F7563_68524F4C
# A key's dirty days further apart than this are recomputed as separate spans (one index range
# scan each) rather than one span covering the gap.
MAX_SPAN_GAP_DAYS = 7
DEFAULT_CLAIM = 50_000

POST_TABLE = cast(Table, PostDaily.__table__)
ACCOUNT_TABLE = cast(Table, AccountDaily.__table__)


async def _copy(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert rows with COPY on the session's connection (inside its transaction):
    a rebuild writes hundreds of thousands of post rows, and executemany's per-parameter
    processing costs ten times what COPY does."""
    columns = list(rows[0])
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
    )


@dataclass(slots=True)
class Cells:
    links: set[tuple[uuid.UUID, date]] = field(default_factory=set)
    sales: set[tuple[uuid.UUID, date]] = field(default_factory=set)
    posts: set[uuid.UUID] = field(default_factory=set)
    accounts: set[uuid.UUID] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.links) + len(self.sales) + len(self.posts) + len(self.accounts)

    def update(self, other: Cells) -> None:
        self.links |= other.links
        self.sales |= other.sales
        self.posts |= other.posts
        self.accounts |= other.accounts


@dataclass(slots=True)
class Written:
    """Rollup rows written by a recompute."""

    links: int = 0
    sales: int = 0
    posts: int = 0
    accounts: int = 0

    def add(self, other: Written) -> None:
        self.links += other.links
        self.sales += other.sales
        self.posts += other.posts
        self.accounts += other.accounts


async def lock(session: AsyncSession, *, wait: bool) -> bool:
    """Take the rollup lock for this transaction; False if busy and not waiting."""
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        return True
    got = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    return bool(got.scalar_one())


def spans(cells: Iterable[tuple[uuid.UUID, date]]) -> list[tuple[uuid.UUID, date, date]]:
    """Group (key, day) cells into (key, first day, last day) ranges, split at gaps of more
    than MAX_SPAN_GAP_DAYS."""
    by_key: dict[uuid.UUID, list[date]] = defaultdict(list)
    for key, day in cells:
        by_key[key].append(day)
    out: list[tuple[uuid.UUID, date, date]] = []
    for key, days in by_key.items():
        days.sort()
        start = prev = days[0]
        for day in days[1:]:
            if (day - prev).days > MAX_SPAN_GAP_DAYS:
                out.append((key, start, prev))
                start = day
            prev = day
        out.append((key, start, prev))
    return out


def _columns(cells: Iterable[tuple[uuid.UUID, date]]) -> tuple[list[uuid.UUID], list[date]]:
    keys: list[uuid.UUID] = []
    days: list[date] = []
    for key, day in cells:
        keys.append(key)
        days.append(day)
    return keys, days


def _span_params(cells: set[tuple[uuid.UUID, date]]) -> dict[str, Any]:
    keys, days = _columns(cells)
    s = spans(cells)
    return {
        "keys": keys,
        "days": days,
        "skeys": [x[0] for x in s],
        "d0": [x[1] for x in s],
        "d1": [x[2] for x in s],
    }


# ----------------------------------------------------------------------------- links
_LINK_SQL = text(
    """
WITH cells AS (
  SELECT * FROM unnest(CAST(:keys AS uuid[]), CAST(:days AS date[])) AS c(link_id, day)
), meta AS (
  SELECT l.id AS link_id, l.brand_id, l.collaboration_id, col.campaign_id, col.influencer_id,
         b.timezone AS tz
  FROM tracking_links l
  JOIN collaborations col ON col.id = l.collaboration_id
  JOIN brands b ON b.id = l.brand_id
  WHERE l.id = ANY(CAST(:skeys AS uuid[]))
), ranges AS (
  SELECT s.link_id, m.tz,
         (s.d0::timestamp AT TIME ZONE m.tz) AS lo,
         ((s.d1 + 1)::timestamp AT TIME ZONE m.tz) AS hi
  FROM unnest(CAST(:skeys AS uuid[]), CAST(:d0 AS date[]), CAST(:d1 AS date[]))
       AS s(link_id, d0, d1)
  JOIN meta m ON m.link_id = s.link_id
), agg AS (
  SELECT r.link_id, (k.clicked_at AT TIME ZONE r.tz)::date AS day,
         count(*) FILTER (WHERE NOT k.is_bot) AS clicks,
         count(*) FILTER (WHERE NOT k.is_bot AND k.is_unique) AS unique_clicks,
         count(*) FILTER (WHERE k.is_bot) AS bot_clicks
  FROM ranges r
  JOIN clicks k ON k.link_id = r.link_id AND k.clicked_at >= r.lo AND k.clicked_at < r.hi
  GROUP BY 1, 2
)
INSERT INTO rollup_link_daily (brand_id, link_id, day, collaboration_id, campaign_id,
                               influencer_id, clicks, unique_clicks, bot_clicks)
SELECT m.brand_id, a.link_id, a.day, m.collaboration_id, m.campaign_id, m.influencer_id,
       a.clicks, a.unique_clicks, a.bot_clicks
FROM agg a
JOIN meta m ON m.link_id = a.link_id
JOIN cells c ON c.link_id = a.link_id AND c.day = a.day
"""
)


async def _recompute_links(session: AsyncSession, cells: set[tuple[uuid.UUID, date]]) -> int:
    if not cells:
        return 0
    params = _span_params(cells)
    await session.execute(
        text(
            "DELETE FROM rollup_link_daily r USING unnest(CAST(:keys AS uuid[]), "
            "CAST(:days AS date[])) AS c(link_id, day) "
            "WHERE r.link_id = c.link_id AND r.day = c.day"
        ),
        {"keys": params["keys"], "days": params["days"]},
    )
    result = await session.execute(_LINK_SQL, params)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- sales
_SALES_SQL = text(
    """
WITH cells AS (
  SELECT * FROM unnest(CAST(:keys AS uuid[]), CAST(:days AS date[])) AS c(collaboration_id, day)
), meta AS (
  SELECT col.id AS collaboration_id, col.brand_id, col.campaign_id, col.influencer_id,
         b.timezone AS tz
  FROM collaborations col JOIN brands b ON b.id = col.brand_id
  WHERE col.id = ANY(CAST(:skeys AS uuid[]))
), ranges AS (
  SELECT s.collaboration_id, m.campaign_id, m.tz,
         (s.d0::timestamp AT TIME ZONE m.tz) AS lo,
         ((s.d1 + 1)::timestamp AT TIME ZONE m.tz) AS hi
  FROM unnest(CAST(:skeys AS uuid[]), CAST(:d0 AS date[]), CAST(:d1 AS date[]))
       AS s(collaboration_id, d0, d1)
  JOIN meta m ON m.collaboration_id = s.collaboration_id
), o AS (
  SELECT r.collaboration_id, (o.placed_at AT TIME ZONE r.tz)::date AS day, o.currency,
         count(*) AS orders,
         sum(o.total_minor) AS gross,
         sum(least(o.refunded_minor, o.total_minor)) AS refunds
  FROM ranges r
  JOIN orders o ON o.collaboration_id = r.collaboration_id
               AND o.placed_at >= r.lo AND o.placed_at < r.hi
  WHERE o.status <> 'cancelled'
  GROUP BY 1, 2, 3
), e AS (
  SELECT r.collaboration_id, (e.created_at AT TIME ZONE r.tz)::date AS day, e.currency,
         coalesce(sum(e.amount_minor) FILTER (WHERE e.amount_minor > 0), 0) AS earned,
         coalesce(-sum(e.amount_minor) FILTER (WHERE e.amount_minor < 0), 0) AS reversed
  FROM ranges r
  JOIN commission_entries e ON e.collaboration_id = r.collaboration_id
                           AND e.campaign_id = r.campaign_id
                           AND e.created_at >= r.lo AND e.created_at < r.hi
  GROUP BY 1, 2, 3
), j AS (
  SELECT coalesce(o.collaboration_id, e.collaboration_id) AS collaboration_id,
         coalesce(o.day, e.day) AS day,
         coalesce(o.currency, e.currency) AS currency,
         coalesce(o.orders, 0) AS orders, coalesce(o.gross, 0) AS gross,
         coalesce(o.refunds, 0) AS refunds,
         coalesce(e.earned, 0) AS earned, coalesce(e.reversed, 0) AS reversed
  FROM o FULL JOIN e ON e.collaboration_id = o.collaboration_id AND e.day = o.day
                    AND e.currency = o.currency
)
INSERT INTO rollup_sales_daily (brand_id, collaboration_id, day, currency, campaign_id,
                                influencer_id, orders, gross_minor, refunds_minor,
                                commission_earned_minor, commission_reversed_minor)
SELECT m.brand_id, j.collaboration_id, j.day, j.currency, m.campaign_id, m.influencer_id,
       j.orders, j.gross, j.refunds, j.earned, j.reversed
FROM j
JOIN meta m ON m.collaboration_id = j.collaboration_id
JOIN cells c ON c.collaboration_id = j.collaboration_id AND c.day = j.day
"""
)


async def _recompute_sales(session: AsyncSession, cells: set[tuple[uuid.UUID, date]]) -> int:
    if not cells:
        return 0
    params = _span_params(cells)
    await session.execute(
        text(
            "DELETE FROM rollup_sales_daily r USING unnest(CAST(:keys AS uuid[]), "
            "CAST(:days AS date[])) AS c(collaboration_id, day) "
            "WHERE r.collaboration_id = c.collaboration_id AND r.day = c.day"
        ),
        {"keys": params["keys"], "days": params["days"]},
    )
    result = await session.execute(_SALES_SQL, params)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- posts
_POST_META = """
SELECT p.id, p.brand_id, p.platform, p.account_id,
       coalesce(dc.campaign_id, p.campaign_id) AS campaign_id,
       coalesce(dc.influencer_id, a.influencer_id) AS influencer_id,
       coalesce(d.type, p.content_type) AS deliverable_type
FROM posts p
LEFT JOIN deliverables d ON d.id = p.deliverable_id
LEFT JOIN collaborations dc ON dc.id = d.collaboration_id
LEFT JOIN social_accounts a ON a.id = p.account_id
WHERE p.id = ANY(CAST(:ids AS uuid[]))
"""
_SNAPSHOTS = f"""
SELECT s.post_id, (s.captured_at AT TIME ZONE b.timezone)::date AS day,
       {", ".join(f"s.{m}" for m in POST_METRICS)}
FROM post_metric_snapshots s
JOIN posts p ON p.id = s.post_id
JOIN brands b ON b.id = p.brand_id
WHERE s.post_id = ANY(CAST(:ids AS uuid[]))
ORDER BY s.post_id, s.captured_at
"""  # noqa: S608 (constant column names)
_COMMENTS = """
SELECT c.post_id, (coalesce(c.posted_at, c.created_at) AT TIME ZONE b.timezone)::date AS day,
       c.sentiment, count(*) AS n
FROM post_comments c
JOIN posts p ON p.id = c.post_id
JOIN brands b ON b.id = p.brand_id
WHERE c.post_id = ANY(CAST(:ids AS uuid[]))
GROUP BY 1, 2, 3
"""


def post_deltas(
    snapshots: Sequence[tuple[date, Sequence[int | None]]],
) -> dict[date, list[int]]:
    """Per local day with readings, the change of each metric since the previous such day.

    `snapshots` are (day, values in POST_METRICS order) in capture order. The end-of-day
    value of a metric is the newest reading that reported it (a metric a platform stopped
    reporting keeps its last value); the first reading counts from zero."""
    current: list[int | None] = [None] * len(POST_METRICS)
    previous_eod = [0] * len(POST_METRICS)
    out: dict[date, list[int]] = {}
    for i, (day, values) in enumerate(snapshots):
        for m, value in enumerate(values):
            if value is not None:
                current[m] = value
        last_of_day = i + 1 == len(snapshots) or snapshots[i + 1][0] != day
        if last_of_day:
            eod = [c if c is not None else 0 for c in current]
            out[day] = [e - p for e, p in zip(eod, previous_eod, strict=True)]
            previous_eod = eod
    return out


async def _recompute_posts(session: AsyncSession, post_ids: set[uuid.UUID]) -> int:
    if not post_ids:
        return 0
    ids = list(post_ids)
    await session.execute(delete(PostDaily).where(PostDaily.post_id.in_(ids)))
    meta = {
        r.id: r
        for r in await fetch_rows(session, _POST_META, {"ids": ids})
        if r.campaign_id is not None  # a post in no campaign is in no report
    }
    if not meta:
        return 0
    wanted = list(meta)
    per_post: dict[uuid.UUID, list[tuple[date, tuple[int | None, ...]]]] = defaultdict(list)
    for row in await fetch_rows(session, _SNAPSHOTS, {"ids": wanted}):
        per_post[row[0]].append((row[1], tuple(row[2:])))
    sentiment: dict[uuid.UUID, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for post_id, day, label, n in await fetch_rows(session, _COMMENTS, {"ids": wanted}):
        sentiment[post_id][day][label] = int(n)
    rows: list[dict[str, Any]] = []
    none: dict[str, int] = {}
    for post_id, m in meta.items():
        deltas = post_deltas(per_post.get(post_id, []))
        by_day = sentiment.get(post_id, {})
        for day in sorted(set(deltas) | set(by_day)):
            values = deltas.get(day, [0] * len(POST_METRICS))
            counts = by_day.get(day, none)
            rows.append(
                {
                    "brand_id": m.brand_id,
                    "post_id": post_id,
                    "day": day,
                    "campaign_id": m.campaign_id,
                    "influencer_id": m.influencer_id,
                    "account_id": m.account_id,
                    "platform": m.platform,
                    "deliverable_type": m.deliverable_type,
                    **dict(zip(POST_METRICS, values, strict=True)),
                    **{f"comments_{s}": counts.get(s, 0) for s in SENTIMENTS},
                }
            )
    if rows:
        await _copy(session, POST_TABLE, rows)
    return len(rows)


# ----------------------------------------------------------------------------- accounts
_ACCOUNT_META = """
SELECT a.id, a.brand_id, a.influencer_id, a.platform
FROM social_accounts a WHERE a.id = ANY(CAST(:ids AS uuid[]))
"""
_FOLLOWERS = """
SELECT f.account_id, (f.captured_at AT TIME ZONE b.timezone)::date AS day, f.followers
FROM follower_snapshots f
JOIN social_accounts a ON a.id = f.account_id
JOIN brands b ON b.id = a.brand_id
WHERE f.account_id = ANY(CAST(:ids AS uuid[]))
ORDER BY f.account_id, f.captured_at
"""


def follower_days(readings: Sequence[tuple[date, int]]) -> dict[date, tuple[int, int]]:
    """Per local day with readings: (followers at the end of the day, change since the end of
    the previous such day). The first reading ever is the baseline, not growth."""
    out: dict[date, tuple[int, int]] = {}
    if not readings:
        return out
    previous = readings[0][1]
    for i, (day, followers) in enumerate(readings):
        if i + 1 == len(readings) or readings[i + 1][0] != day:
            out[day] = (followers, followers - previous)
            previous = followers
    return out


async def _recompute_accounts(session: AsyncSession, account_ids: set[uuid.UUID]) -> int:
    if not account_ids:
        return 0
    ids = list(account_ids)
    await session.execute(delete(AccountDaily).where(AccountDaily.account_id.in_(ids)))
    meta = {r.id: r for r in await fetch_rows(session, _ACCOUNT_META, {"ids": ids})}
    readings: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for account_id, day, followers in await fetch_rows(session, _FOLLOWERS, {"ids": ids}):
        readings[account_id].append((day, int(followers)))
    rows: list[dict[str, Any]] = []
    for account_id, m in meta.items():
        for day, (followers, new) in sorted(follower_days(readings.get(account_id, [])).items()):
            rows.append(
                {
                    "brand_id": m.brand_id,
                    "account_id": account_id,
                    "day": day,
                    "influencer_id": m.influencer_id,
                    "platform": m.platform,
                    "followers": followers,
                    "new_followers": new,
                }
            )
    if rows:
        await _copy(session, ACCOUNT_TABLE, rows)
    return len(rows)


# ----------------------------------------------------------------------------- recompute
async def recompute(session: AsyncSession, cells: Cells) -> Written:
    """Replace the rollup rows of `cells` with rows computed from raw data. Call with the
    rollup lock held (`lock`), inside the caller's transaction."""
    return Written(
        links=await _recompute_links(session, cells.links),
        sales=await _recompute_sales(session, cells.sales),
        posts=await _recompute_posts(session, cells.posts),
        accounts=await _recompute_accounts(session, cells.accounts),
    )


_CLAIM = text(
    """
WITH claimed AS (
  DELETE FROM rollup_dirty WHERE id IN (
    SELECT id FROM rollup_dirty ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
  )
  RETURNING kind, brand_id, key_id, at
)
SELECT DISTINCT c.kind, c.key_id,
       CASE WHEN c.at IS NULL THEN NULL
            ELSE (c.at AT TIME ZONE coalesce(b.timezone, 'UTC'))::date END AS day,
       count(*) OVER () AS claimed
FROM claimed c LEFT JOIN brands b ON b.id = c.brand_id
"""
)


async def claim_dirty(session: AsyncSession, limit: int = DEFAULT_CLAIM) -> tuple[Cells, int]:
    """Take up to `limit` marks off the log (deleted when the transaction commits) and return
    the cells they name, with the number of marks taken."""
    cells = Cells()
    claimed = 0
    for kind, key, day, n in (await session.execute(_CLAIM, {"limit": limit})).all():
        claimed = int(n)
        if kind == "link":
            cells.links.add((key, day))
        elif kind == "sales":
            cells.sales.add((key, day))
        elif kind == "post":
            cells.posts.add(key)
        else:
            cells.accounts.add(key)
    return cells, claimed


async def _remember_timezones(session: AsyncSession) -> None:
    """Record the time zone of brands seen for the first time (a later change is detected by
    `brands_with_new_timezone`)."""
    await session.execute(
        text(
            "INSERT INTO rollup_brand_state (brand_id, timezone) "
            "SELECT b.id, b.timezone FROM brands b "
            "WHERE NOT EXISTS (SELECT 1 FROM rollup_brand_state s WHERE s.brand_id = b.id) "
            "ON CONFLICT (brand_id) DO NOTHING"
        )
    )


@dataclass(slots=True)
class Progress:
    marks: int = 0
    cells: int = 0
    written: Written = field(default_factory=Written)


async def process_dirty(session: AsyncSession, limit: int = DEFAULT_CLAIM) -> Progress | None:
    """One incremental step in the caller's transaction: claim marks, recompute their cells.
    None when another run holds the lock (it will pick our marks up)."""
    if not await lock(session, wait=False):
        return None
    cells, marks = await claim_dirty(session, limit)
    written = await recompute(session, cells) if cells else Written()
    if marks:
        await _remember_timezones(session)
    return Progress(marks=marks, cells=len(cells), written=written)


async def brands_with_new_timezone(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(
        text(
            "SELECT b.id, b.timezone FROM brands b JOIN rollup_brand_state s "
            "ON s.brand_id = b.id WHERE s.timezone <> b.timezone"
        )
    )
    return [(r[0], r[1]) for r in rows.all()]


# ----------------------------------------------------------------------------- rebuild
def _since_params(since: date | None, brand_id: uuid.UUID | None) -> dict[str, Any]:
    # Raw rows are filtered on UTC time first (index-friendly), a day early so that every
    # local day >= since is covered whatever the offset (UTC-12 .. UTC+14).
    lower = (
        datetime(since.year, since.month, since.day, tzinfo=UTC) - timedelta(days=1)
        if since
        else datetime(1970, 1, 1, tzinfo=UTC)
    )
    return {"since": since, "lower": lower, "brand": brand_id}


_CELLS_SINCE = {
    "links": """
SELECT DISTINCT k.link_id, (k.clicked_at AT TIME ZONE b.timezone)::date AS day
FROM clicks k JOIN brands b ON b.id = k.brand_id
WHERE k.clicked_at >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR k.brand_id = CAST(:brand AS uuid))
UNION
SELECT link_id, day FROM rollup_link_daily
WHERE (CAST(:brand AS uuid) IS NULL OR brand_id = CAST(:brand AS uuid))
""",
    "sales": """
SELECT DISTINCT o.collaboration_id, (o.placed_at AT TIME ZONE b.timezone)::date AS day
FROM orders o JOIN brands b ON b.id = o.brand_id
WHERE o.collaboration_id IS NOT NULL
  AND o.placed_at >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR o.brand_id = CAST(:brand AS uuid))
UNION
SELECT e.collaboration_id, (e.created_at AT TIME ZONE b.timezone)::date
FROM commission_entries e JOIN brands b ON b.id = e.brand_id
WHERE e.created_at >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR e.brand_id = CAST(:brand AS uuid))
UNION
SELECT collaboration_id, day FROM rollup_sales_daily
WHERE (CAST(:brand AS uuid) IS NULL OR brand_id = CAST(:brand AS uuid))
""",
    "posts": """
SELECT s.post_id FROM post_metric_snapshots s
WHERE s.captured_at >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR s.brand_id = CAST(:brand AS uuid))
UNION
SELECT c.post_id FROM post_comments c
WHERE coalesce(c.posted_at, c.created_at) >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR c.brand_id = CAST(:brand AS uuid))
UNION
SELECT post_id FROM rollup_post_daily
WHERE (CAST(:since AS date) IS NULL OR day >= CAST(:since AS date))
  AND (CAST(:brand AS uuid) IS NULL OR brand_id = CAST(:brand AS uuid))
""",
    "accounts": """
SELECT f.account_id FROM follower_snapshots f
WHERE f.captured_at >= CAST(:lower AS timestamptz)
  AND (CAST(:brand AS uuid) IS NULL OR f.brand_id = CAST(:brand AS uuid))
UNION
SELECT account_id FROM rollup_account_daily
WHERE (CAST(:since AS date) IS NULL OR day >= CAST(:since AS date))
  AND (CAST(:brand AS uuid) IS NULL OR brand_id = CAST(:brand AS uuid))
""",
}


async def cells_since(
    session: AsyncSession, since: date | None, brand_id: uuid.UUID | None = None
) -> Cells:
    """Every cell with raw rows, or rollup rows, on or after local day `since` (all when
    None), of one brand or all."""
    params = _since_params(since, brand_id)
    cells = Cells()
    for kind, sql in _CELLS_SINCE.items():
        rows = (await session.execute(text(sql), params)).all()
        if kind == "links":
            cells.links = {(r[0], r[1]) for r in rows if since is None or r[1] >= since}
        elif kind == "sales":
            cells.sales = {(r[0], r[1]) for r in rows if since is None or r[1] >= since}
        elif kind == "posts":
            cells.posts = {r[0] for r in rows}
        else:
            cells.accounts = {r[0] for r in rows}
    return cells


def batches(cells: Cells, size: int) -> list[Cells]:
    """Split into recompute units of about `size` cells (one key's days stay together so a
    span is scanned once)."""
    out: list[Cells] = []

    def by_key(items: set[tuple[uuid.UUID, date]]) -> list[list[tuple[uuid.UUID, date]]]:
        grouped: dict[uuid.UUID, list[tuple[uuid.UUID, date]]] = defaultdict(list)
        for item in items:
            grouped[item[0]].append(item)
        return list(grouped.values())

    current = Cells()
    count = 0

    def flush() -> None:
        nonlocal current, count
        if count:
            out.append(current)
        current, count = Cells(), 0

    for group in by_key(cells.links):
        current.links.update(group)
        count += len(group)
        if count >= size:
            flush()
    for group in by_key(cells.sales):
        current.sales.update(group)
        count += len(group)
        if count >= size:
            flush()
    # A post or account cell is all of its days: weigh it as ten.
    for post_id in sorted(cells.posts):
        current.posts.add(post_id)
        count += 10
        if count >= size:
            flush()
    for account_id in sorted(cells.accounts):
        current.accounts.add(account_id)
        count += 10
        if count >= size:
            flush()
    flush()
    return out


async def rebuild(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    since: date | None,
    brand_id: uuid.UUID | None = None,
    batch_size: int = 5000,
    on_batch: Callable[[int, int, Written], Awaitable[None] | None] | None = None,
) -> Written:
    """Recompute every cell from `since` (all history when None), in batches of one
    transaction each (each holds the rollup lock while it runs). Returns rows written."""
    async with sessionmaker() as session:
        timezones = (
            await session.execute(
                text(
                    "SELECT id, timezone FROM brands "
                    "WHERE CAST(:brand AS uuid) IS NULL OR id = CAST(:brand AS uuid)"
                ),
                {"brand": brand_id},
            )
        ).all()
        cells = await cells_since(session, since, brand_id)
    total = Written()
    units = batches(cells, batch_size)
    done = 0
    for unit in units:
        async with sessionmaker() as session, session.begin():
            await lock(session, wait=True)
            written = await recompute(session, unit)
        total.add(written)
        done += len(unit)
        if on_batch is not None:
            maybe = on_batch(done, len(cells), written)
            if maybe is not None:
                await maybe
    # The time zone the brands' rollups are now computed in.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO rollup_brand_state (brand_id, timezone) "
                "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:tzs AS text[])) "
                "ON CONFLICT (brand_id) DO UPDATE SET timezone = excluded.timezone, "
                "updated_at = now()"
            ),
            {"ids": [r[0] for r in timezones], "tzs": [r[1] for r in timezones]},
        )
    log.info(
        "rollups_rebuilt",
        since=since.isoformat() if since else None,
        brand_id=str(brand_id) if brand_id else None,
        cells=len(cells),
        links=total.links,
        sales=total.sales,
        posts=total.posts,
        accounts=total.accounts,
    )
    return total
