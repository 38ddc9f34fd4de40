"""Report formulas on hand-computed numbers (pure functions, no database)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from shared.analytics.formulas import (
    TOTALS_FIELDS,
    Totals,
    derive,
    distribution,
    kpi_progress,
    percentile_rank,
    quantile,
    ratio,
    sentiment,
)
from shared.analytics.reports import effective_range, trend
from shared.analytics.rollups import Cells, batches, follower_days, post_deltas, spans

D = date


def test_ratio_is_none_on_zero_or_unknown_denominators() -> None:
    assert ratio(1, 4) == 0.25
    assert ratio(0, 5) == 0.0
    assert ratio(5, 0) is None
    assert ratio(None, 5) is None
    assert ratio(5, None) is None
    assert ratio(1e308, 1e-308) is None  # never infinity


def test_derive_on_hand_computed_totals() -> None:
    t = Totals(
        likes=900, comments=60, shares=25, saves=15, impressions=40_000, views=55_000,
        reach=30_000, clicks=800, unique_clicks=640, bot_clicks=37, orders=32,
        orders_in_currency=30, gross_minor=240_000, refunds_minor=18_000,
        commission_earned_minor=24_000, commission_reversed_minor=1_800, fees_minor=50_000,
        cost_lines_minor=12_000,
    )  # fmt: skip
    m = derive(t)
    assert m["engagements"] == 1_000
    assert m["exposure_basis"] == "impressions"
    assert m["engagement_rate"] == 1_000 / 40_000 == 0.025
    assert m["ctr"] == 800 / 40_000 == 0.02
    assert m["conversion_rate"] == 32 / 640 == 0.05
    assert m["net_revenue_minor"] == 222_000
    assert m["aov_minor"] == 240_000 / 30 == 8_000
    assert m["commissions_minor"] == 22_200
    assert m["total_cost_minor"] == 12_000 + 50_000 + 22_200 == 84_200
    assert m["cpc_minor"] == 84_200 / 800
    assert m["cpe_minor"] == 84_200 / 1_000
    assert m["cpa_minor"] == 84_200 / 32
    assert m["roi"] == (222_000 - 84_200) / 84_200
    assert m["roas"] == 222_000 / 84_200
    assert m["revenue_complete"] is True and m["costs_complete"] is True


def test_exposure_falls_back_to_views() -> None:
    m = derive(Totals(likes=30, views=1_000, clicks=5))
    assert m["exposure_basis"] == "views"
    assert m["engagement_rate"] == 0.03 and m["ctr"] == 0.005


def test_fully_refunded_orders_give_zero_net_revenue_not_negative_roas() -> None:
    m = derive(Totals(orders=2, orders_in_currency=2, gross_minor=10_000, refunds_minor=10_000,
                      fees_minor=5_000))  # fmt: skip
    assert m["net_revenue_minor"] == 0
    assert m["roas"] == 0.0 and m["roi"] == -1.0
    assert m["aov_minor"] == 5_000  # AOV is on what was ordered


def test_zero_denominators_are_null_everywhere() -> None:
    m = derive(Totals())
    for key in ("engagement_rate", "ctr", "conversion_rate", "aov_minor", "cpc_minor",
                "cpe_minor", "cpa_minor", "roi", "roas"):  # fmt: skip
        assert m[key] is None, key
    # Revenue without any cost: ROAS undefined, not infinite.
    m = derive(Totals(orders=1, orders_in_currency=1, gross_minor=100))
    assert m["roas"] is None and m["roi"] is None and m["cpa_minor"] == 0.0
    # Negative net commissions (clawbacks exceed earnings) still give a finite total cost.
    m = derive(Totals(commission_earned_minor=100, commission_reversed_minor=300))
    assert m["total_cost_minor"] == -200 and m["roas"] == 0.0


def test_foreign_fixed_costs_make_cost_metrics_unknown() -> None:
    m = derive(Totals(orders=3, clicks=10, gross_minor=900, orders_in_currency=3,
                      foreign_fixed_costs=1))  # fmt: skip
    assert m["costs_complete"] is False
    for key in ("cpc_minor", "cpe_minor", "cpa_minor", "roi", "roas"):
        assert m[key] is None, key
    m = derive(Totals(orders=3, orders_in_currency=2, foreign_orders=1, gross_minor=900,
                      fees_minor=300))  # fmt: skip
    assert m["revenue_complete"] is False and m["roas"] == 3.0
    assert m["aov_minor"] == 450  # over the two orders in the report currency


def test_sentiment_shares() -> None:
    s = sentiment(Totals(comments_positive=6, comments_neutral=2, comments_negative=2,
                         comments_unscored=5))  # fmt: skip
    assert s["scored"] == 10 and s["positive_share"] == 0.6 and s["negative_share"] == 0.2
    assert s["net_sentiment"] == pytest.approx(0.4)
    assert sentiment(Totals(comments_unscored=3))["net_sentiment"] is None


def test_totals_add_every_field() -> None:
    a = Totals(**{name: i + 1 for i, name in enumerate(TOTALS_FIELDS)})
    b = a.copy().add(a)
    assert all(getattr(b, name) == 2 * (i + 1) for i, name in enumerate(TOTALS_FIELDS))
    assert a.clicks == TOTALS_FIELDS.index("clicks") + 1  # copy() is independent


# ----------------------------------------------------------------------------- KPI progress
START, DEADLINE = D(2026, 11, 1), D(2026, 11, 30)  # 30 days


@pytest.mark.parametrize(
    ("metric", "target", "value", "today", "status", "percent"),
    [
        # Cumulative: day 10 of 30 -> a third of the target is the pace.
        ("clicks", 3_000, 1_000, D(2026, 11, 10), "on_track", 100 / 3),
        ("clicks", 3_000, 999, D(2026, 11, 10), "behind", 33.3),
        ("clicks", 3_000, 3_000, D(2026, 11, 10), "achieved", 100),
        ("orders", 50, 49, D(2026, 12, 1), "missed", 98),
        ("revenue", 100_000, 0, D(2026, 10, 20), "on_track", 0),  # not started yet
        # Levels: judged as they stand; final after the deadline.
        ("roas", Decimal("2.5"), 3.0, D(2026, 11, 10), "on_track", 120),
        ("roas", Decimal("2.5"), 3.0, D(2026, 12, 2), "achieved", 120),
        ("engagement_rate", Decimal("0.04"), 0.03, D(2026, 11, 10), "behind", 75),
        # Lower is better.
        ("cpa", 2_000, 1_600, D(2026, 11, 10), "on_track", 125),
        ("cpa", 2_000, 2_500, D(2026, 11, 10), "behind", 80),
        ("cpa", 2_000, 2_500, D(2026, 12, 2), "missed", 80),
        ("cpa", 2_000, None, D(2026, 11, 10), "no_data", None),
        ("roas", 2, None, D(2026, 12, 2), "missed", None),
    ],
)
def test_kpi_progress(
    metric: str,
    target: float,
    value: float | None,
    today: date,
    status: str,
    percent: float | None,
) -> None:
    p = kpi_progress(metric, target, value, start=START, deadline=DEADLINE, today=today)
    assert p["status"] == status
    if percent is None:
        assert p["percent"] is None
    else:
        assert p["percent"] == pytest.approx(percent, abs=0.05)


def test_kpi_pace_and_projection() -> None:
    p = kpi_progress("clicks", 3_000, 1_200, start=START, deadline=DEADLINE, today=D(2026, 11, 10))
    assert p["elapsed_share"] == pytest.approx(1 / 3)
    assert p["expected_to_date"] == pytest.approx(1_000)
    assert p["projected"] == pytest.approx(3_600)
    level = kpi_progress("roas", 2, 1.0, start=START, deadline=DEADLINE, today=D(2026, 11, 10))
    assert level["expected_to_date"] is None and level["projected"] is None


# ----------------------------------------------------------------------------- distributions
def test_quantiles_interpolate_linearly() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.25) == 7.0
    assert quantile([5_000, 10_000, 30_000], 0.25) == 7_500
    assert quantile([5_000, 10_000, 30_000], 0.75) == 20_000
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    d = distribution([None, 3.0, 1.0, 2.0])
    assert d == {"n": 3, "p25": 1.5, "median": 2.0, "p75": 2.5}


def test_percentile_rank_counts_ties_half() -> None:
    assert percentile_rank(2.0, [1.0, 2.0, 3.0, None]) == pytest.approx(0.5)
    assert percentile_rank(0.0, [1.0, 2.0]) == 0.0
    assert percentile_rank(9.0, [1.0, 2.0]) == 1.0
    assert percentile_rank(None, [1.0]) is None and percentile_rank(1.0, []) is None


def test_trend_over_collaborations() -> None:
    assert trend([1.0, 2.0, 3.0]) == "improving"
    assert trend([3.0, 2.0, None, 1.0]) == "declining"
    assert trend([3.0, 2.0, 1.0], lower_is_better=True) == "improving"
    assert trend([1.0, 1.01]) == "flat"
    assert trend([1.0]) is None and trend([None, None]) is None
    assert trend([0.0, 0.0]) == "flat"


# ----------------------------------------------------------------------------- rollup math
def test_post_deltas_carry_metrics_forward() -> None:
    # POST_METRICS order: likes, comments, shares, saves, views, impressions, reach
    snaps = [
        (D(2026, 8, 1), (10, None, None, None, None, 100, None)),
        (D(2026, 8, 1), (15, 2, None, None, None, 150, None)),
        (D(2026, 8, 3), (40, None, None, None, 500, None, None)),
        (D(2026, 8, 4), (38, 3, None, None, 600, None, None)),  # an unlike
    ]
    out = post_deltas(snaps)
    assert out == {
        D(2026, 8, 1): [15, 2, 0, 0, 0, 150, 0],
        D(2026, 8, 3): [25, 0, 0, 0, 500, 0, 0],
        D(2026, 8, 4): [-2, 1, 0, 0, 100, 0, 0],
    }
    totals = [sum(day[i] for day in out.values()) for i in range(7)]
    assert totals == [38, 3, 0, 0, 600, 150, 0]  # the latest value of each metric


def test_follower_days_start_from_the_first_reading() -> None:
    readings = [(D(2026, 9, 1), 100), (D(2026, 9, 1), 120), (D(2026, 9, 3), 90)]
    assert follower_days(readings) == {D(2026, 9, 1): (120, 20), D(2026, 9, 3): (90, -30)}
    assert follower_days([]) == {}


def test_spans_split_at_long_gaps() -> None:
    k, j = uuid.uuid4(), uuid.uuid4()
    cells = {(k, D(2026, 1, 1)), (k, D(2026, 1, 5)), (k, D(2026, 1, 20)), (j, D(2026, 2, 2))}
    assert sorted(spans(cells), key=str) == sorted(
        [(k, D(2026, 1, 1), D(2026, 1, 5)), (k, D(2026, 1, 20), D(2026, 1, 20)),
         (j, D(2026, 2, 2), D(2026, 2, 2))],
        key=str,
    )  # fmt: skip


def test_batches_keep_a_keys_days_together() -> None:
    keys = [uuid.uuid4() for _ in range(5)]
    cells = Cells(links={(k, D(2026, 1, day)) for k in keys for day in range(1, 11)})
    units = batches(cells, 25)
    assert sum(len(u) for u in units) == 50
    for unit in units:
        for k in {key for key, _ in unit.links}:
            assert sum(1 for key, _ in unit.links if key == k) == 10


def test_effective_range_defaults() -> None:
    today = D(2026, 11, 20)
    # Planned dates and data: from the earlier start to today (the end is in the future).
    assert effective_range(
        None, None, data_days=[D(2026, 11, 3)], planned_start=D(2026, 11, 5),
        planned_end=D(2026, 12, 31), today=today,
    ) == (D(2026, 11, 3), today)  # fmt: skip
    # Late data after the planned end still shows.
    assert effective_range(
        None, None, data_days=[D(2026, 10, 1), D(2026, 10, 20)], planned_start=D(2026, 10, 1),
        planned_end=D(2026, 10, 10), today=today,
    ) == (D(2026, 10, 1), D(2026, 10, 20))  # fmt: skip
    assert effective_range(
        None, None, data_days=[], planned_start=None, planned_end=None, today=today
    ) == (today, today)
