"""Campaign and influencer reports, assembled from rollups (shared/analytics/repository.py)
with the formulas of shared/analytics/formulas.py.

Conventions every report follows:
- days are the brand's local days; `start`/`end` are inclusive local dates. Without them a
  report covers all its data (and the campaign's dates, up to today);
- money is in one currency, the report's: `?currency=`, else the campaign's (campaign
  report) or the brand's default (influencer report). There is no FX source, so money in any
  other currency is never converted: it is listed under `other_currencies` and left out of
  every money metric. Orders count whatever their currency (AOV divides by the orders in the
  report currency only);
- costs: collaboration fees (flat fee + gifted value of contracted, active or completed
  collaborations) count in full whatever the range; cost lines count when their `incurred_on`
  is in the range (or unset); commissions follow the range (by booking day);
- breakdowns: post metrics (reach, engagement, sentiment) go by the post's own platform,
  account tier and deliverable type; collaboration-level metrics (clicks, orders, revenue,
  costs, new followers) by the collaboration's influencer's largest account (platform, tier)
  and its most frequent deliverable type. Campaign cost lines not tied to a collaboration
  count in the totals only (`unallocated_cost_minor`).
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.analytics import repository as repo
from shared.analytics.formulas import (
    KPI_SOURCES,
    POST_METRICS,
    SENTIMENTS,
    Totals,
    derive,
    engagements,
    kpi_progress,
    net_revenue,
    ratio,
    sentiment,
)
from shared.campaigns.repository import CampaignNotFound
from shared.errors import InvalidInput
from shared.influencers.repository import InfluencerRepository
from shared.models import Brand

COMMITTED_STATUSES = frozenset({"contracted", "active", "completed"})
MAX_RANGE_DAYS = 3 * 366 + 1
DIMENSIONS = ("platform", "tier", "deliverable_type")
SALES_FIELDS = (
    "gross_minor",
    "refunds_minor",
    "commission_earned_minor",
    "commission_reversed_minor",
)


# ----------------------------------------------------------------------------- row -> Totals
POST_COLUMNS = (*POST_METRICS, *(f"comments_{s}" for s in SENTIMENTS))


def link_totals(row: Any, prefix: str = "") -> Totals:
    """A rollup row's link sums (`prefix` "r_": the in-range sums of a scope query)."""
    return Totals(
        clicks=int(getattr(row, prefix + "clicks")),
        unique_clicks=int(getattr(row, prefix + "unique_clicks")),
        bot_clicks=int(getattr(row, prefix + "bot_clicks")),
    )


def post_totals(row: Any, prefix: str = "") -> Totals:
    t = Totals()
    for column in POST_COLUMNS:
        setattr(t, column, int(getattr(row, prefix + column)))
    return t


@dataclass(slots=True)
class OtherCurrencies:
    """Money the report cannot count (another currency), per currency."""

    by_currency: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, currency: str, **amounts: int) -> None:
        slot = self.by_currency.setdefault(
            currency,
            {
                "orders": 0,
                "revenue_minor": 0,
                "refunds_minor": 0,
                "commissions_minor": 0,
                "costs_minor": 0,
            },
        )
        for k, v in amounts.items():
            slot[k] += v

    def out(self) -> list[dict[str, Any]]:
        return [{"currency": c, **v} for c, v in sorted(self.by_currency.items())]


def sales_totals(
    row: Any, currency: str, others: OtherCurrencies | None = None, prefix: str = ""
) -> Totals:
    def v(name: str) -> int:
        return int(getattr(row, prefix + name))

    t = Totals(orders=v("orders"))
    if row.currency == currency:
        t.orders_in_currency = t.orders
        for f in SALES_FIELDS:
            setattr(t, f, v(f))
        return t
    t.foreign_orders = t.orders
    if others is not None:
        others.add(
            row.currency,
            orders=t.orders,
            revenue_minor=v("gross_minor"),
            refunds_minor=v("refunds_minor"),
            commissions_minor=v("commission_earned_minor") - v("commission_reversed_minor"),
        )
    return t


def fees_of(
    collab: repo.CollaborationFacts, currency: str, others: OtherCurrencies | None = None
) -> int:
    """A collaboration's fees in the report currency (0 until it is contracted)."""
    if collab.status not in COMMITTED_STATUSES:
        return 0
    amount = collab.flat_fee_minor + collab.gifted_value_minor
    if collab.currency == currency:
        return amount
    if others is not None and amount:
        others.add(collab.currency, costs_minor=amount)
    return 0


def foreign_fees(collabs: Iterable[repo.CollaborationFacts], currency: str) -> int:
    return sum(
        1
        for c in collabs
        if c.status in COMMITTED_STATUSES
        and c.currency != currency
        and c.flat_fee_minor + c.gifted_value_minor
    )


def foreign_lines(lines: Iterable[repo.CostLineFacts], currency: str) -> int:
    return sum(1 for line in lines if line.currency != currency and line.amount_minor)


def add_fixed_costs(
    t: Totals,
    collabs: list[repo.CollaborationFacts],
    lines: list[repo.CostLineFacts],
    currency: str,
    others: OtherCurrencies | None = None,
) -> Totals:
    """Fees of `collabs` and the cost lines `lines` into `t` (report currency only; the
    others are counted as foreign, which makes the cost metrics unknown)."""
    t.fees_minor += sum(fees_of(c, currency, others) for c in collabs)
    t.cost_lines_minor += sum(line_cost(line, currency, others) for line in lines)
    t.foreign_fixed_costs += foreign_fees(collabs, currency) + foreign_lines(lines, currency)
    return t


def lines_in(
    lines: Iterable[repo.CostLineFacts], start: date | None, end: date | None
) -> list[repo.CostLineFacts]:
    return [
        line
        for line in lines
        if line.incurred_on is None
        or (
            (start is None or line.incurred_on >= start)
            and (end is None or line.incurred_on <= end)
        )
    ]


def line_cost(line: repo.CostLineFacts, currency: str, others: OtherCurrencies | None) -> int:
    if line.currency == currency:
        return line.amount_minor
    if others is not None and line.amount_minor:
        others.add(line.currency, costs_minor=line.amount_minor)
    return 0


# ----------------------------------------------------------------------------- daily facts
@dataclass(slots=True)
class Daily:
    """Rollup rows per day of one report scope (all days: the range is applied later)."""

    links: dict[date, Totals]
    sales: list[Any]
    posts: dict[date, Totals]

    def days(self) -> list[date]:
        return sorted(set(self.links) | {r.day for r in self.sales} | set(self.posts))

    def by_day(self, currency: str, others: OtherCurrencies | None = None) -> dict[date, Totals]:
        out: dict[date, Totals] = defaultdict(Totals)
        for day, t in self.links.items():
            out[day].add(t)
        for day, t in self.posts.items():
            out[day].add(t)
        for row in self.sales:
            out[row.day].add(sales_totals(row, currency, others))
        return out


def sum_days(by_day: dict[date, Totals], start: date | None, end: date | None) -> Totals:
    total = Totals()
    for day, t in by_day.items():
        if (start is None or day >= start) and (end is None or day <= end):
            total.add(t)
    return total


def date_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def series(
    by_day: dict[date, Totals], followers: dict[date, int], start: date, end: date
) -> list[dict[str, Any]]:
    out = []
    zero = Totals()
    for day in date_range(start, end):
        t = by_day.get(day, zero)
        out.append(
            {
                "day": day,
                "reach": t.reach,
                "impressions": t.impressions,
                "views": t.views,
                "engagements": engagements(t),
                "clicks": t.clicks,
                "unique_clicks": t.unique_clicks,
                "orders": t.orders,
                "revenue_minor": t.gross_minor,
                "refunds_minor": t.refunds_minor,
                "net_revenue_minor": net_revenue(t),
                "commissions_minor": t.commission_earned_minor - t.commission_reversed_minor,
                "new_followers": followers.get(day, 0),
            }
        )
    return out


# ----------------------------------------------------------------------------- ranges
def brand_today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None:
        if end < start:
            raise InvalidInput(["query", "end"], "end must be on or after start.")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput(["query", "end"], f"A report covers at most {MAX_RANGE_DAYS} days.")


def effective_range(
    start: date | None,
    end: date | None,
    *,
    data_days: list[date],
    planned_start: date | None,
    planned_end: date | None,
    today: date,
) -> tuple[date, date]:
    """The days a report covers: the given bounds, else everything it has data for and its
    planned dates (up to today)."""
    lo_candidates = [d for d in (planned_start, data_days[0] if data_days else None) if d]
    lo = start or (min(lo_candidates) if lo_candidates else today)
    hi_candidates = [min(planned_end or today, today)]
    if data_days:
        hi_candidates.append(data_days[-1])
    hi = end or max(*hi_candidates, lo)
    if end is None and hi < lo:
        hi = lo
    if start is None and lo > hi:
        lo = hi
    if (hi - lo).days + 1 > MAX_RANGE_DAYS:
        # Only reachable without explicit bounds (explicit ones are checked up front).
        lo = hi - timedelta(days=MAX_RANGE_DAYS - 1)
    return lo, hi


# ----------------------------------------------------------------------------- groups
@dataclass(slots=True)
class Group:
    key: str
    totals: Totals = field(default_factory=Totals)
    post_only: bool = True


def _group(groups: dict[str, Group], key: str) -> Group:
    found = groups.get(key)
    if found is None:
        found = groups[key] = Group(key)
    return found


def group_rows(groups: dict[str, Group]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for g in groups.values():
        rows.append({"key": g.key, "metrics": derive(g.totals), "sentiment": sentiment(g.totals)})
    rows.sort(
        key=lambda r: (-(r["metrics"]["net_revenue_minor"]), -r["metrics"]["engagements"], r["key"])
    )
    return rows


@dataclass(slots=True)
class Grouped:
    """Per scope key (campaign), totals per who (influencer / campaign) and per dimension."""

    who: dict[str, Totals] = field(default_factory=lambda: defaultdict(Totals))
    dims: dict[str, dict[str, Totals]] = field(
        default_factory=lambda: {d: defaultdict(Totals) for d in DIMENSIONS}
    )
    posts_all: Totals = field(default_factory=Totals)


async def load_groups(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: repo.ScopeColumn,
    keys: list[uuid.UUID],
    start: date,
    end: date,
    currency: str,
    others: OtherCurrencies | None,
) -> dict[uuid.UUID, Grouped]:
    """Range sums per scope key: links and sales per `who`, posts per who and dimension."""
    out: dict[uuid.UUID, Grouped] = defaultdict(Grouped)
    for r in await repo.grouped_links(session, brand_id, scope, keys, start, end):
        out[r.scope_key].who[str(r.who)].add(link_totals(r))
    for r in await repo.grouped_sales(session, brand_id, scope, keys, start, end):
        out[r.scope_key].who[str(r.who)].add(sales_totals(r, currency, others))
    for r in await repo.grouped_posts(session, brand_id, scope, keys, start, end):
        g = out[r.scope_key]
        t = post_totals(r)
        if r.dim == "who":
            g.who["None" if r.value is None else r.value].add(t)
        elif r.dim == "all":
            g.posts_all.add(t)
        else:
            g.dims[r.dim][r.value].add(t)
    return out


async def load_scope(
    session: AsyncSession,
    brand_id: uuid.UUID,
    scope: repo.ScopeColumn,
    key: uuid.UUID,
    start: date | None,
    end: date | None,
    currency: str,
) -> tuple[Daily, Grouped]:
    """One report scope in three scans: every day's rows (all days), and the per-who /
    per-dimension sums within [start, end] (open bounds: everything)."""
    s, e = start or date.min, end or date.max
    links: dict[date, Totals] = {}
    grouped = Grouped()
    for r in await repo.scope_links(session, brand_id, scope, key, s, e):
        if r.g == 0:
            links[r.day] = link_totals(r)
        elif r.r_clicks is not None:
            grouped.who[str(r.who)].add(link_totals(r, "r_"))
    sales: list[Any] = []
    for r in await repo.scope_sales(session, brand_id, scope, key, s, e):
        if r.g == 0:
            sales.append(r)
        elif r.r_orders is not None:
            grouped.who[str(r.who)].add(sales_totals(r, currency, None, "r_"))
    posts: dict[date, Totals] = {}
    for r in await repo.scope_posts(session, brand_id, scope, key, s, e):
        if r.dim == "day":
            posts[r.day] = post_totals(r)
        elif r.r_likes is None:
            continue
        elif r.dim == "who":
            grouped.who["None" if r.value is None else r.value].add(post_totals(r, "r_"))
        else:
            grouped.dims[r.dim][r.value].add(post_totals(r, "r_"))
    return Daily(links=links, sales=sales, posts=posts), grouped


def collab_totals(
    collab: repo.CollaborationFacts,
    who_key: str,
    grouped: Grouped,
    lines: list[repo.CostLineFacts],
    followers: int,
    currency: str,
    others: OtherCurrencies | None,
) -> tuple[Totals, Totals]:
    """(all of the collaboration's totals, its collaboration-level part only)."""
    level = add_fixed_costs(
        Totals(new_followers=followers),
        [collab],
        [line for line in lines if line.collaboration_id == collab.id],
        currency,
        others,
    )
    everything = grouped.who.get(who_key, Totals()).copy().add(level)
    # Collaboration-level metrics of the grouped rows: everything but post metrics.
    from_rows = grouped.who.get(who_key, Totals())
    for f in ("clicks", "unique_clicks", "bot_clicks", "orders", "orders_in_currency",
              "foreign_orders", *SALES_FIELDS):  # fmt: skip
        setattr(level, f, getattr(from_rows, f))
    return everything, level


def dimension_groups(
    collabs: list[repo.CollaborationFacts],
    levels: dict[uuid.UUID, Totals],
    grouped: Grouped,
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for dim in DIMENSIONS:
        groups: dict[str, Group] = {}
        for value, t in grouped.dims[dim].items():
            _group(groups, value).totals.add(t)
        for c in collabs:
            _group(groups, getattr(c, dim)).totals.add(levels[c.id])
        out[dim] = group_rows(groups)
    return out


# ----------------------------------------------------------------------------- followers
def _sum_range(per_day: dict[date, int], start: date | None, end: date | None) -> int:
    return sum(
        v for d, v in per_day.items() if (start is None or d >= start) and (end is None or d <= end)
    )


# ----------------------------------------------------------------------------- campaign
async def campaign_report(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    start: date | None = None,
    end: date | None = None,
    currency: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    check_range(start, end)
    context = await repo.campaign_context(session, brand_id, campaign_id)
    if context is None:
        raise CampaignNotFound(detail=f"No campaign with id {campaign_id}.")
    campaign = context.campaign
    timezone = context.timezone
    today = today or brand_today(timezone)
    currency = (currency or campaign.currency).upper()
    others = OtherCurrencies()

    collabs = context.collaborations
    lines = context.cost_lines
    kpis = context.kpis
    daily, grouped = await load_scope(
        session, brand_id, "campaign_id", campaign_id, start, end, currency
    )
    data_days = daily.days()
    lo, hi = effective_range(
        start,
        end,
        data_days=data_days,
        planned_start=campaign.starts_on,
        planned_end=campaign.ends_on,
        today=today,
    )
    by_day = daily.by_day(currency)
    # Money in other currencies within the range (by_day above ignored it).
    for row in daily.sales:
        if row.currency != currency and lo <= row.day <= hi:
            sales_totals(row, currency, others)

    # New followers: growth of the influencers' accounts while the campaign runs.
    w0 = campaign.starts_on or (data_days[0] if data_days else None)
    w1 = min(campaign.ends_on or today, today)
    window = (w0, w1) if w0 is not None and w1 >= w0 else None
    followers_by_day: dict[date, int] = {}
    followers_by_influencer: dict[uuid.UUID, int] = {}
    if window is not None and collabs:
        for r in await repo.window_followers(
            session, brand_id, [c.influencer_id for c in collabs], window, (lo, hi)
        ):
            if r.g == 0:
                followers_by_day[r.day] = int(r.new_followers)
            elif r.r_new_followers is not None:
                followers_by_influencer[r.influencer_id] = int(r.r_new_followers)

    totals = sum_days(by_day, lo, hi)
    totals.new_followers = _sum_range(followers_by_day, lo, hi)
    range_lines = lines_in(lines, lo, hi)
    add_fixed_costs(totals, collabs, range_lines, currency, others)
    unallocated = sum(
        line.amount_minor
        for line in range_lines
        if line.collaboration_id is None and line.currency == currency
    )

    influencers: list[dict[str, Any]] = []
    levels: dict[uuid.UUID, Totals] = {}
    for c in collabs:
        everything, level = collab_totals(
            c,
            str(c.influencer_id),
            grouped,
            range_lines,
            followers_by_influencer.get(c.influencer_id, 0),
            currency,
            None,
        )
        levels[c.id] = level
        influencers.append(
            {
                "influencer_id": c.influencer_id,
                "name": c.influencer_name,
                "collaboration_id": c.id,
                "status": c.status,
                "platform": c.platform,
                "tier": c.tier,
                "deliverable_type": c.deliverable_type,
                "metrics": derive(everything),
                "sentiment": sentiment(everything),
            }
        )
    # Campaign posts by accounts without a collaboration here (matched by hashtag), or by
    # no roster account at all: shown, so the rows add up to the totals.
    known = {str(c.influencer_id) for c in collabs}
    strays = [k for k in grouped.who if k not in known]
    names = await repo.influencer_names(
        session, brand_id, [uuid.UUID(k) for k in strays if k != "None"]
    )
    for key in strays:
        t = grouped.who[key]
        influencers.append(
            {
                "influencer_id": None if key == "None" else uuid.UUID(key),
                "name": names.get(key, "(posts matching no roster account)"),
                "collaboration_id": None,
                "status": None,
                "platform": None,
                "tier": None,
                "deliverable_type": None,
                "metrics": derive(t),
                "sentiment": sentiment(t),
            }
        )
    influencers.sort(
        key=lambda r: (-r["metrics"]["net_revenue_minor"], -r["metrics"]["engagements"], r["name"])
    )

    # KPI progress: everything up to each deadline, in the campaign's own currency.
    kpi_by_day = by_day if currency == campaign.currency else daily.by_day(campaign.currency)
    kpi_out = []
    all_days: Totals | None = None
    for k in kpis:
        k_start = campaign.starts_on or (
            data_days[0] if data_days else k.created_at.astimezone(ZoneInfo(timezone)).date()
        )
        upto = min(k.deadline, today)
        if data_days and upto >= data_days[-1]:
            if all_days is None:
                all_days = sum_days(kpi_by_day, None, None)
            t = all_days.copy()
        else:
            t = sum_days(kpi_by_day, None, upto)
        t.new_followers = _sum_range(followers_by_day, None, min(k.deadline, today))
        add_fixed_costs(t, collabs, lines_in(lines, None, k.deadline), campaign.currency)
        value = derive(t)[KPI_SOURCES[k.metric]]
        kpi_out.append(
            {
                "id": k.id,
                **kpi_progress(
                    k.metric, k.target_value, value, start=k_start, deadline=k.deadline, today=today
                ),
            }
        )

    return {
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "status": campaign.status,
            "goal": campaign.goal,
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
            "currency": campaign.currency,
        },
        "currency": currency,
        "timezone": timezone,
        "as_of": today,
        "start": lo,
        "end": hi,
        "metrics": derive(totals),
        "sentiment": sentiment(totals),
        "unallocated_cost_minor": unallocated,
        "other_currencies": others.out(),
        "kpis": kpi_out,
        "daily": series(by_day, followers_by_day, lo, hi),
        "breakdowns": {
            "influencer": influencers,
            **dimension_groups(collabs, levels, grouped),
        },
    }


# ----------------------------------------------------------------------------- influencer
def trend(values: list[float | None], *, lower_is_better: bool = False) -> str | None:
    """Direction of a metric over successive collaborations: the sign of the least-squares
    slope (relative to the mean, so a 2 % drift is "flat"). None with fewer than 2 values."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(i for i, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((i - mx) ** 2 for i, _ in points)
    slope = sum((i - mx) * (v - my) for i, v in points) / sxx
    relative = ratio(slope, abs(my)) if my else (1.0 if slope > 0 else -1.0 if slope < 0 else 0.0)
    if relative is None or abs(relative) < 0.02:
        return "flat"
    better = relative < 0 if lower_is_better else relative > 0
    return "improving" if better else "declining"


TREND_METRICS = {
    "roas": False,
    "engagement_rate": False,
    "conversion_rate": False,
    "cpa_minor": True,
    "net_revenue_minor": False,
    "engagements": False,
}


async def influencer_report(
    session: AsyncSession,
    brand_id: uuid.UUID,
    influencer_id: uuid.UUID,
    *,
    start: date | None = None,
    end: date | None = None,
    currency: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    check_range(start, end)
    influencer = await InfluencerRepository(session, brand_id).get_or_404(influencer_id)
    brand = (await session.execute(select(Brand).where(Brand.id == brand_id))).scalar_one()
    today = today or brand_today(brand.timezone)
    currency = (currency or brand.default_currency).upper()
    others = OtherCurrencies()

    collabs = await repo.collaborations(session, brand_id, "influencer_id", [influencer_id])
    campaign_ids = list({c.campaign_id for c in collabs})
    lines = [
        line
        for line in await repo.cost_lines(session, brand_id, campaign_ids)
        if line.collaboration_id in {c.id for c in collabs}
    ]
    daily, grouped = await load_scope(
        session, brand_id, "influencer_id", influencer_id, start, end, currency
    )
    data_days = daily.days()
    planned = [c.campaign_starts_on for c in collabs if c.campaign_starts_on]
    planned_end = [c.campaign_ends_on for c in collabs if c.campaign_ends_on]
    lo, hi = effective_range(
        start,
        end,
        data_days=data_days,
        planned_start=min(planned) if planned else None,
        planned_end=max(planned_end) if len(planned_end) == len(collabs) and collabs else None,
        today=today,
    )
    by_day = daily.by_day(currency)
    for row in daily.sales:
        if row.currency != currency and lo <= row.day <= hi:
            sales_totals(row, currency, others)

    # New followers: growth while any of the influencer's campaigns ran (counted once).
    follower_rows = await repo.daily_followers(
        session, brand_id, [influencer_id], by_influencer=True
    )
    windows: dict[uuid.UUID, tuple[date, date] | None] = {}
    for c in collabs:
        w0 = c.campaign_starts_on or c.created_at.astimezone(ZoneInfo(brand.timezone)).date()
        w1 = min(c.campaign_ends_on or today, today)
        windows[c.id] = (w0, w1) if w1 >= w0 else None
    covered: set[date] = set()
    for w in windows.values():
        if w is not None:
            covered.update(
                date_range(max(w[0], lo), min(w[1], hi)) if w[0] <= hi and w[1] >= lo else []
            )
    followers_by_day: dict[date, int] = defaultdict(int)
    for r in follower_rows:
        if r.day in covered:
            followers_by_day[r.day] += int(r.new_followers)

    totals = sum_days(by_day, lo, hi)
    totals.new_followers = sum(followers_by_day.values())
    range_lines = lines_in(lines, lo, hi)
    add_fixed_costs(totals, collabs, range_lines, currency, others)

    history: list[dict[str, Any]] = []
    levels: dict[uuid.UUID, Totals] = {}
    for c in collabs:
        w = windows[c.id]
        followers = 0
        if w is not None:
            followers = sum(
                int(r.new_followers)
                for r in follower_rows
                if max(w[0], lo) <= r.day <= min(w[1], hi)
            )
        everything, level = collab_totals(
            c, str(c.campaign_id), grouped, range_lines, followers, currency, None
        )
        levels[c.id] = level
        history.append(
            {
                "collaboration_id": c.id,
                "campaign_id": c.campaign_id,
                "campaign_name": c.campaign_name,
                "campaign_status": c.campaign_status,
                "starts_on": c.campaign_starts_on,
                "ends_on": c.campaign_ends_on,
                "status": c.status,
                "deliverable_type": c.deliverable_type,
                "metrics": derive(everything),
                "sentiment": sentiment(everything),
                "change": {},
            }
        )
    for previous, current in itertools.pairwise(history):
        for metric in TREND_METRICS:
            a, b = previous["metrics"][metric], current["metrics"][metric]
            current["change"][metric] = ratio(None if a is None or b is None else b - a, a)
    trends = {
        metric: trend([h["metrics"][metric] for h in history], lower_is_better=lower)
        for metric, lower in TREND_METRICS.items()
    }
    # A collaboration per campaign: "repeat" is working together on more than one.
    relationship = {
        "collaborations": len(collabs),
        "active_or_done": sum(1 for c in collabs if c.status in COMMITTED_STATUSES),
        "repeat": sum(1 for c in collabs if c.status in COMMITTED_STATUSES) > 1,
        "first_campaign_start": min(planned) if planned else None,
        "trend": trends,
    }
    return {
        "influencer": {"id": influencer.id, "name": influencer.name, "status": influencer.status},
        "currency": currency,
        "timezone": brand.timezone,
        "as_of": today,
        "start": lo,
        "end": hi,
        "metrics": derive(totals),
        "sentiment": sentiment(totals),
        "other_currencies": others.out(),
        "daily": series(by_day, followers_by_day, lo, hi),
        "relationship": relationship,
        "history": history,
        "breakdowns": dimension_groups(collabs, levels, grouped),
    }
