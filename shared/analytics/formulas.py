"""Report arithmetic: additive totals and every metric derived from them, as pure functions.

Units: counts are integers; money is integer minor units of the report currency (derived
money such as CPC or AOV is a float in minor units, unrounded); rates are fractions
(0.035 = 3.5 %); ROI and ROAS are multiples. Any ratio with a zero (or unknown) denominator
is None: never an exception, never infinity.

Definitions (the issue's, made exact):
- engagements = likes + comments + shares + saves
- exposure = impressions, or views when the posts report no impressions (Instagram replaced
  impressions with views in 2025); `exposure_basis` says which
- engagement rate = engagements / exposure;  CTR = clicks / exposure
- conversion rate = orders / unique clicks
- revenue = gross (what customers paid); net revenue = gross - refunds; AOV = gross / orders
  in the report currency
- total cost = cost lines + collaboration fees (flat fee + gifted value) + net commissions
  (earned - reversed)
- CPC = total cost / clicks; CPE = total cost / engagements; CPA = total cost / orders
- ROI = (net revenue - total cost) / total cost;  ROAS = net revenue / total cost

Currencies (there is no FX source, so nothing is converted): money metrics count the report
currency only. Orders and commissions in other currencies are left out of revenue and cost
alike (`revenue_complete` is then false). Fixed costs (fees, cost lines) in another currency
make the total cost unknown: CPC, CPE, CPA, ROI and ROAS are then null (`costs_complete`
false) rather than computed from a partial cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

ENGAGEMENT_METRICS = ("likes", "comments", "shares", "saves")
POST_METRICS = (*ENGAGEMENT_METRICS, "views", "impressions", "reach")
SENTIMENTS = ("positive", "neutral", "negative", "unscored")


def ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    """numerator / denominator, or None when either is unknown or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None


@dataclass(slots=True)
class Totals:
    """Everything additive a report sums. Money in minor units of the report currency;
    `orders` counts orders in every currency (an order is an order), `orders_in_currency`
    only those whose money is in the report (AOV divides by it)."""

    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    views: int = 0
    impressions: int = 0
    reach: int = 0
    comments_positive: int = 0
    comments_neutral: int = 0
    comments_negative: int = 0
    comments_unscored: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0
    orders: int = 0
    orders_in_currency: int = 0
    gross_minor: int = 0
    refunds_minor: int = 0
    commission_earned_minor: int = 0
    commission_reversed_minor: int = 0
    fees_minor: int = 0  # collaborations' flat fees + gifted value
    cost_lines_minor: int = 0
    new_followers: int = 0
    foreign_orders: int = 0  # orders whose money is in another currency
    foreign_fixed_costs: int = 0  # fees / cost lines in another currency (count)

    def add(self, other: Totals) -> Totals:
        # Spelled out: reports add a few thousand of these per request, and a loop over
        # fields() with getattr/setattr costs ten times as much. test_formulas checks that
        # every field is here.
        self.likes += other.likes
        self.comments += other.comments
        self.shares += other.shares
        self.saves += other.saves
        self.views += other.views
        self.impressions += other.impressions
        self.reach += other.reach
        self.comments_positive += other.comments_positive
        self.comments_neutral += other.comments_neutral
        self.comments_negative += other.comments_negative
        self.comments_unscored += other.comments_unscored
        self.clicks += other.clicks
        self.unique_clicks += other.unique_clicks
        self.bot_clicks += other.bot_clicks
        self.orders += other.orders
        self.orders_in_currency += other.orders_in_currency
        self.gross_minor += other.gross_minor
        self.refunds_minor += other.refunds_minor
        self.commission_earned_minor += other.commission_earned_minor
        self.commission_reversed_minor += other.commission_reversed_minor
        self.fees_minor += other.fees_minor
        self.cost_lines_minor += other.cost_lines_minor
        self.new_followers += other.new_followers
        self.foreign_orders += other.foreign_orders
        self.foreign_fixed_costs += other.foreign_fixed_costs
        return self

    def copy(self) -> Totals:
        return Totals().add(self)


TOTALS_FIELDS = tuple(f.name for f in fields(Totals))


def engagements(t: Totals) -> int:
    return t.likes + t.comments + t.shares + t.saves


def exposure(t: Totals) -> tuple[int, str]:
    """The denominator of engagement rate and CTR, and its name."""
    if t.impressions > 0:
        return t.impressions, "impressions"
    return t.views, "views"


def net_revenue(t: Totals) -> int:
    return t.gross_minor - t.refunds_minor


def net_commissions(t: Totals) -> int:
    return t.commission_earned_minor - t.commission_reversed_minor


def total_cost(t: Totals) -> int:
    return t.cost_lines_minor + t.fees_minor + net_commissions(t)


def derive(t: Totals) -> dict[str, Any]:
    """The report's metrics from its totals (the API's `metrics` object)."""
    eng = engagements(t)
    exp, basis = exposure(t)
    net = net_revenue(t)
    costs_known = t.foreign_fixed_costs == 0
    cost = total_cost(t)
    known_cost = cost if costs_known else None
    return {
        "reach": t.reach,
        "impressions": t.impressions,
        "views": t.views,
        "likes": t.likes,
        "comments": t.comments,
        "shares": t.shares,
        "saves": t.saves,
        "engagements": eng,
        "exposure_basis": basis,
        "engagement_rate": ratio(eng, exp),
        "clicks": t.clicks,
        "unique_clicks": t.unique_clicks,
        "bot_clicks": t.bot_clicks,
        "ctr": ratio(t.clicks, exp),
        "orders": t.orders,
        "conversion_rate": ratio(t.orders, t.unique_clicks),
        "revenue_minor": t.gross_minor,
        "refunds_minor": t.refunds_minor,
        "net_revenue_minor": net,
        "aov_minor": ratio(t.gross_minor, t.orders_in_currency),
        "commissions_earned_minor": t.commission_earned_minor,
        "commissions_reversed_minor": t.commission_reversed_minor,
        "commissions_minor": net_commissions(t),
        "fees_minor": t.fees_minor,
        "cost_lines_minor": t.cost_lines_minor,
        "total_cost_minor": cost,
        "cpc_minor": ratio(known_cost, t.clicks),
        "cpe_minor": ratio(known_cost, eng),
        "cpa_minor": ratio(known_cost, t.orders),
        "roi": ratio(None if known_cost is None else net - known_cost, known_cost),
        "roas": ratio(net, known_cost),
        "new_followers": t.new_followers,
        "revenue_complete": t.foreign_orders == 0,
        "costs_complete": costs_known,
    }


def sentiment(t: Totals) -> dict[str, Any]:
    """Counts of the comments received, and shares of those scored (unscored comments are in
    languages the scorer cannot read: counted, never guessed)."""
    scored = t.comments_positive + t.comments_neutral + t.comments_negative
    return {
        "positive": t.comments_positive,
        "neutral": t.comments_neutral,
        "negative": t.comments_negative,
        "unscored": t.comments_unscored,
        "scored": scored,
        "positive_share": ratio(t.comments_positive, scored),
        "negative_share": ratio(t.comments_negative, scored),
        # -1 (all negative) .. 1 (all positive)
        "net_sentiment": ratio(t.comments_positive - t.comments_negative, scored),
    }


# ----------------------------------------------------------------------------- KPI progress
# Cumulative metrics grow over the campaign: judged against the pace needed to reach the
# target by the deadline. The others are levels: judged against the target as they stand.
CUMULATIVE_KPIS = frozenset(
    {
        "reach",
        "impressions",
        "engagements",
        "clicks",
        "unique_clicks",
        "orders",
        "revenue",
        "new_followers",
    }
)
LOWER_IS_BETTER_KPIS = frozenset({"cpa"})

# KPI metric -> key of `derive()`'s result.
KPI_SOURCES = {
    "reach": "reach",
    "impressions": "impressions",
    "engagements": "engagements",
    "engagement_rate": "engagement_rate",
    "clicks": "clicks",
    "unique_clicks": "unique_clicks",
    "orders": "orders",
    "revenue": "net_revenue_minor",
    "conversion_rate": "conversion_rate",
    "new_followers": "new_followers",
    "cpa": "cpa_minor",
    "roas": "roas",
}


def kpi_progress(
    metric: str,
    target: Decimal | float,
    value: float | int | None,
    *,
    start: date,
    deadline: date,
    today: date,
) -> dict[str, Any]:
    """Progress towards one KPI target.

    status:
    - achieved: a cumulative target is reached (it only grows), or a level target (rates,
      ROAS, CPA: cost per order at or under the target) is met once the deadline has passed;
    - on_track: a cumulative metric not there yet but at or above the straight-line pace from
      `start` to the deadline (expected_to_date = target x elapsed share of the days);
      a level metric meeting its target as it stands, with the deadline ahead;
    - behind: a cumulative metric below that pace, or a level metric worse than its target,
      with the deadline ahead;
    - missed: the deadline has passed without reaching the target;
    - no_data: the metric has no value yet (e.g. ROAS with no cost, CPA with no order).
    `percent` = value / target x 100 (for CPA, target / value x 100: 100 or more is met).
    `projected` extrapolates a cumulative metric's pace so far to the deadline.
    """
    target_f = float(target)
    lower = metric in LOWER_IS_BETTER_KPIS
    cumulative = metric in CUMULATIVE_KPIS
    total_days = (deadline - start).days + 1
    elapsed_days = min(max((today - start).days + 1, 0), total_days) if total_days > 0 else 0
    elapsed = ratio(elapsed_days, total_days) if total_days > 0 else 1.0
    out: dict[str, Any] = {
        "metric": metric,
        "value": value,
        "target": target_f,
        "deadline": deadline,
        "direction": "lower_is_better" if lower else "higher_is_better",
        "elapsed_share": elapsed,
        "percent": None,
        "expected_to_date": None,
        "projected": None,
        "status": "no_data",
    }
    if value is None:
        if today > deadline:
            out["status"] = "missed"
        return out
    percent = ratio(target_f, value) if lower else ratio(value, target_f)
    out["percent"] = None if percent is None else percent * 100
    met = value <= target_f if lower else value >= target_f
    if met:
        out["status"] = "achieved" if cumulative or today > deadline else "on_track"
    elif today > deadline:
        out["status"] = "missed"
    elif cumulative:
        expected = target_f * (elapsed or 0.0)
        out["status"] = "on_track" if value >= expected else "behind"
    else:
        out["status"] = "behind"
    if cumulative:
        out["expected_to_date"] = target_f * (elapsed or 0.0)
        out["projected"] = ratio(value, elapsed) if elapsed else None
    return out


# ----------------------------------------------------------------------------- distributions
def quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, Excel's PERCENTILE.INC)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return sorted_values[lo]
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def distribution(values: list[float | None]) -> dict[str, Any]:
    known = sorted(v for v in values if v is not None)
    return {
        "n": len(known),
        "p25": quantile(known, 0.25),
        "median": quantile(known, 0.5),
        "p75": quantile(known, 0.75),
    }


def percentile_rank(value: float | None, values: list[float | None]) -> float | None:
    """Share of `values` (known ones) below `value`, ties counting half: 0..1."""
    known = [v for v in values if v is not None]
    if value is None or not known:
        return None
    below = sum(1 for v in known if v < value)
    equal = sum(1 for v in known if v == value)
    return (below + equal / 2) / len(known)
