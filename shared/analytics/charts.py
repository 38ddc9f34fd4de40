"""Report charts as PNG or SVG, drawn with matplotlib's object API on the Agg/SVG canvases.

No pyplot (no global figure state), so drawing is safe off the event loop in a worker thread;
a lock still serialises drawing because matplotlib's font and text caches are shared. Money
series are drawn in major units of the report currency. SVG output carries no date, so the
same report gives the same bytes.
"""

from __future__ import annotations

import io
import threading
from datetime import date
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # no GUI backend, ever: this runs in servers

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from shared.orders.money import exponent

ChartFormat = Literal["png", "svg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}

MONEY_METRICS = frozenset(
    {
        "revenue_minor",
        "refunds_minor",
        "net_revenue_minor",
        "commissions_minor",
        "total_cost_minor",
        "cpa_minor",
        "cpc_minor",
        "cpe_minor",
        "aov_minor",
    }
)
RATE_METRICS = frozenset({"engagement_rate", "ctr", "conversion_rate"})
LABELS = {
    "reach": "Reach",
    "impressions": "Impressions",
    "views": "Views",
    "engagements": "Engagements",
    "clicks": "Clicks",
    "unique_clicks": "Unique clicks",
    "orders": "Orders",
    "revenue_minor": "Revenue",
    "refunds_minor": "Refunds",
    "net_revenue_minor": "Net revenue",
    "commissions_minor": "Commissions",
    "new_followers": "New followers",
    "roas": "ROAS",
    "roi": "ROI",
    "cpa_minor": "CPA",
    "cpc_minor": "CPC",
    "cpe_minor": "CPE",
    "aov_minor": "AOV",
    "total_cost_minor": "Total cost",
    "engagement_rate": "Engagement rate",
    "ctr": "CTR",
    "conversion_rate": "Conversion rate",
}
_LOCK = threading.Lock()
_COLORS = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#dc2626", "#0891b2")


def label(metric: str, currency: str) -> str:
    name = LABELS.get(metric, metric.replace("_", " "))
    return f"{name} ({currency})" if metric in MONEY_METRICS else name


def scale(metric: str, value: float | None, currency: str) -> float | None:
    """A metric value as drawn: money in major units, rates in percent."""
    if value is None:
        return None
    if metric in MONEY_METRICS:
        return float(value) / float(10 ** exponent(currency))
    if metric in RATE_METRICS:
        return value * 100
    return float(value)


def _render(fig: Figure, fmt: ChartFormat) -> bytes:
    buf = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
    fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight", metadata=metadata)
    return buf.getvalue()


def timeseries(
    days: list[date],
    values: dict[str, list[float | int]],
    *,
    title: str,
    currency: str,
    fmt: ChartFormat = "png",
) -> bytes:
    """One line per metric over the days; a money metric gets its own right-hand axis when
    mixed with counts (they differ by orders of magnitude)."""
    with _LOCK:
        fig = Figure(figsize=(9, 4.2))
        ax = fig.add_subplot()
        money = [m for m in values if m in MONEY_METRICS]
        counts = [m for m in values if m not in MONEY_METRICS]
        axes = {m: ax for m in counts}
        if money:
            money_ax = ax.twinx() if counts else ax
            for m in money:
                axes[m] = money_ax
            money_ax.set_ylabel(currency)
        for i, (metric, series) in enumerate(values.items()):
            ys = [scale(metric, v, currency) or 0.0 for v in series]
            axes[metric].plot(
                days,  # type: ignore[arg-type]
                ys,
                label=label(metric, currency),
                color=_COLORS[i % len(_COLORS)],
                linewidth=1.8,
                marker="o" if len(days) <= 31 else None,
                markersize=3,
            )
        ax.set_title(title, loc="left", fontsize=12)
        ax.grid(True, alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=bool(counts)))
        handles, labels = [], []
        for a in {id(a): a for a in axes.values()}.values():
            h, lab = a.get_legend_handles_labels()
            handles += h
            labels += lab
        if handles:
            ax.legend(handles, labels, loc="upper left", fontsize=8, frameon=False)
        if not days:
            ax.text(0.5, 0.5, "No data yet", ha="center", va="center", transform=ax.transAxes)
        fig.autofmt_xdate()
        return _render(fig, fmt)


def leaderboard(
    rows: list[tuple[str, float | None]],
    *,
    metric: str,
    title: str,
    currency: str,
    fmt: ChartFormat = "png",
) -> bytes:
    """Horizontal bars, best first (rows arrive sorted); unknown values are drawn as 0 and
    marked n/a."""
    with _LOCK:
        height = max(2.5, 0.38 * len(rows) + 1.2)
        fig = Figure(figsize=(8, height))
        ax = fig.add_subplot()
        names = [name for name, _ in rows][::-1]
        values = [scale(metric, v, currency) for _, v in rows][::-1]
        # Positions, not names, on the axis: two influencers may share a name.
        positions = list(range(len(names)))
        bars = ax.barh(positions, [v or 0.0 for v in values], color=_COLORS[0])
        ax.set_yticks(positions, names)
        for bar, v in zip(bars, values, strict=True):
            text = "n/a" if v is None else f"{v:,.2f}".rstrip("0").rstrip(".")
            ax.annotate(
                text,
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_title(title, loc="left", fontsize=12)
        ax.set_xlabel(label(metric, currency) + (" (%)" if metric in RATE_METRICS else ""))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.6g}"))
        ax.grid(True, axis="x", alpha=0.3)
        if not rows:
            ax.text(
                0.5, 0.5, "No influencers yet", ha="center", va="center", transform=ax.transAxes
            )
        return _render(fig, fmt)
