"""Reports as CSV: one tidy table (section, group, day, metric, value) per report, so a
spreadsheet can filter or pivot any part of it. Values are written as the JSON report has
them (money in minor units, rates as fractions); an unknown value is an empty cell."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

HEADER = ("section", "group", "day", "metric", "value")
Row = tuple[str, str, str, str, str]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (date, uuid.UUID, Decimal)):
        return str(value)
    return str(value)


def _flat(section: str, group: str, day: str, values: dict[str, Any]) -> Iterator[Row]:
    for metric, value in values.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if not isinstance(v, (dict, list)):
                    yield (section, group, day, f"{metric}.{sub}", _cell(v))
        elif not isinstance(value, list):
            yield (section, group, day, metric, _cell(value))


def _breakdowns(report: dict[str, Any]) -> Iterator[Row]:
    for dim, rows in report.get("breakdowns", {}).items():
        for row in rows:
            group = str(row.get("name") or row.get("key") or "")
            extra = {
                k: v for k, v in row.items() if k not in ("metrics", "sentiment", "key", "name")
            }
            yield from _flat(f"by_{dim}", group, "", extra)
            yield from _flat(f"by_{dim}", group, "", row.get("metrics", {}))
            if "sentiment" in row:
                yield from _flat(f"by_{dim}", group, "", {"sentiment": row["sentiment"]})


def report_rows(report: dict[str, Any]) -> Iterator[Row]:
    """Campaign and influencer reports."""
    head: dict[str, Any] = {
        k: report[k]
        for k in ("currency", "timezone", "as_of", "start", "end", "unallocated_cost_minor")
        if k in report
    }
    for key in ("campaign", "influencer"):
        if key in report:
            head.update({f"{key}_{k}": v for k, v in report[key].items()})
    yield from _flat("report", "", "", head)
    yield from _flat("totals", "", "", report["metrics"])
    yield from _flat("sentiment", "", "", report["sentiment"])
    for kpi in report.get("kpis", []):
        yield from _flat("kpi", f"{kpi['metric']} by {kpi['deadline']}", "", kpi)
    for day in report.get("daily", []):
        values = {k: v for k, v in day.items() if k != "day"}
        yield from _flat("daily", "", str(day["day"]), values)
    yield from _breakdowns(report)
    for h in report.get("history", []):
        group = f"{h['campaign_name']} ({h['collaboration_id']})"
        info = {k: v for k, v in h.items() if k not in ("metrics", "sentiment", "change")}
        yield from _flat("history", group, "", info)
        yield from _flat("history", group, "", h["metrics"])
        yield from _flat("history", group, "", {"change": h["change"]})
    if "relationship" in report:
        yield from _flat("relationship", "", "", report["relationship"])
    for other in report.get("other_currencies", []):
        yield from _flat("other_currencies", other["currency"], "", other)


def benchmark_rows(report: dict[str, Any]) -> Iterator[Row]:
    yield from _flat("report", "", "", {"currency": report["currency"], "as_of": report["as_of"]})
    if report.get("campaign"):
        yield from _flat("report", "", "", {"campaign": report["campaign"]})
    for peer in report["peers"]:
        yield from _flat("peers", peer["name"], "", peer)
    yield from _flat("overall", "", "", report["overall"])
    for dim, rows in report["breakdowns"].items():
        for row in rows:
            yield from _flat(f"by_{dim}", row["key"], "", {"campaigns": row["campaigns"]})
            yield from _flat(f"by_{dim}", row["key"], "", row["metrics"])


def to_csv(rows: Iterator[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue()
