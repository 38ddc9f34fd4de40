"""Reports: campaign and influencer reports, benchmarks (JSON, or CSV with
`Accept: text/csv`), and their charts (PNG or SVG). Everything is read from rollups."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.api.deps import Reader, SessionDep
from services.api.errors import problem_responses
from services.api.reports import schemas
from services.api.schemas import ResponseModel
from shared.analytics import charts, export
from shared.analytics.benchmarks import benchmarks
from shared.analytics.reports import campaign_report, influencer_report
from shared.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["reports"], responses=problem_responses(401, 403, 422))

Start = Annotated[
    date | None,
    Query(description="First day (the brand's local date), inclusive.", examples=["2026-11-01"]),
]
End = Annotated[
    date | None,
    Query(description="Last day (the brand's local date), inclusive.", examples=["2026-11-30"]),
]
Currency = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z]{3}$",
        description="Report currency (ISO 4217). Money in other currencies is never converted: "
        "it is listed under other_currencies.",
        examples=["EUR"],
    ),
]
ChartFormatQ = Annotated[
    Literal["png", "svg"] | None,
    Query(alias="format", description="png (default) or svg; or send Accept: image/svg+xml."),
]

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "section,group,day,metric,value\r\ntotals,,,clicks,1200\r\n",
            }
        },
        "description": "The report; as CSV (section, group, day, metric, value) with "
        "Accept: text/csv.",
    }
}
IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/svg+xml": {"schema": {"type": "string"}},
        },
        "description": "The chart.",
    }
}
TIMESERIES_METRICS = tuple(schemas.DailyPoint.model_fields.keys() - {"day"})
LEADERBOARD_METRICS = tuple(
    name for name, f in schemas.Metrics.model_fields.items() if name != "exposure_basis"
)


def wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept.lower()


def csv_response(body: str, filename: str) -> Response:
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def chart_format(request: Request, fmt: str | None) -> charts.ChartFormat:
    if fmt == "svg" or (fmt is None and "image/svg+xml" in request.headers.get("accept", "")):
        return "svg"
    return "png"


def json_response(model: type[ResponseModel], report: dict[str, Any]) -> Response:
    """Validate against the response model and serialise in one pass (pydantic-core): a
    report is tens of kilobytes, and FastAPI's default path (validate, dump to Python,
    json.dumps) costs several times as much. The route keeps `response_model` for OpenAPI."""
    body = model.model_validate(report).model_dump_json()
    return Response(body, media_type="application/json")


def image(data: bytes, fmt: charts.ChartFormat) -> Response:
    return Response(data, media_type=charts.MEDIA_TYPES[fmt], headers={"Cache-Control": "no-store"})


@router.get(
    "/campaigns/{campaign_id}/report",
    response_model=schemas.CampaignReport,
    summary="Campaign report: totals, derived metrics, KPI progress, daily series, breakdowns",
    responses={**problem_responses(404), **CSV_RESPONSE},
)
async def get_campaign_report(
    campaign_id: uuid.UUID,
    request: Request,
    principal: Reader,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    currency: Currency = None,
) -> Response:
    report = await campaign_report(
        session, principal.brand_id, campaign_id, start=start, end=end, currency=currency
    )
    if wants_csv(request):
        return csv_response(
            export.to_csv(export.report_rows(report)), f"campaign-{campaign_id}-report.csv"
        )
    return json_response(schemas.CampaignReport, report)


@router.get(
    "/campaigns/{campaign_id}/report/chart",
    summary="Campaign chart: daily time series, or the influencer leaderboard",
    response_class=Response,
    responses={**problem_responses(404), **IMAGE_RESPONSE},
)
async def get_campaign_chart(
    campaign_id: uuid.UUID,
    request: Request,
    principal: Reader,
    session: SessionDep,
    kind: Annotated[
        Literal["timeseries", "leaderboard"],
        Query(description="timeseries: metrics per day; leaderboard: influencers ranked."),
    ] = "timeseries",
    metric: Annotated[
        list[str] | None,
        Query(
            description="timeseries: one or more daily metrics (default clicks, orders, "
            "net_revenue_minor); leaderboard: one metric (default net_revenue_minor).",
            examples=["clicks"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Leaderboard rows.")] = 15,
    fmt: ChartFormatQ = None,
    start: Start = None,
    end: End = None,
    currency: Currency = None,
) -> Response:
    report = await campaign_report(
        session, principal.brand_id, campaign_id, start=start, end=end, currency=currency
    )
    out = chart_format(request, fmt)
    title = report["campaign"]["name"]
    if kind == "timeseries":
        return image(await _timeseries(report, metric, title, out), out)
    chosen = _one_metric(metric, "net_revenue_minor")
    rows = [(r["name"], r["metrics"][chosen]) for r in report["breakdowns"]["influencer"]]
    lower_first = chosen in ("cpa_minor", "cpc_minor", "cpe_minor")
    rows.sort(key=lambda r: (r[1] is None, (r[1] or 0) if lower_first else -(r[1] or 0), r[0]))
    data = await run_in_threadpool(
        charts.leaderboard,
        rows[:limit],
        metric=chosen,
        title=f"{title}: influencers by {charts.label(chosen, report['currency'])}",
        currency=report["currency"],
        fmt=out,
    )
    return image(data, out)


def _one_metric(metric: list[str] | None, default: str) -> str:
    chosen = (metric or [default])[0]
    if len(metric or []) > 1 or chosen not in LEADERBOARD_METRICS:
        raise InvalidInput(
            ["query", "metric"],
            f"One of: {', '.join(LEADERBOARD_METRICS)}.",
        )
    return chosen


async def _timeseries(
    report: dict[str, Any], metric: list[str] | None, title: str, out: charts.ChartFormat
) -> bytes:
    chosen = metric or ["clicks", "orders", "net_revenue_minor"]
    unknown = [m for m in chosen if m not in TIMESERIES_METRICS]
    if unknown or len(chosen) > 6:
        raise InvalidInput(
            ["query", "metric"],
            f"Up to 6 of: {', '.join(sorted(TIMESERIES_METRICS))}.",
        )
    daily = report["daily"]
    return await run_in_threadpool(
        charts.timeseries,
        [d["day"] for d in daily],
        {m: [d[m] for d in daily] for m in chosen},
        title=f"{title}: daily",
        currency=report["currency"],
        fmt=out,
    )


@router.get(
    "/influencers/{influencer_id}/report",
    response_model=schemas.InfluencerReport,
    summary="Influencer report across campaigns, with per-collaboration history and trends",
    responses={**problem_responses(404), **CSV_RESPONSE},
)
async def get_influencer_report(
    influencer_id: uuid.UUID,
    request: Request,
    principal: Reader,
    session: SessionDep,
    start: Start = None,
    end: End = None,
    currency: Currency = None,
) -> Response:
    report = await influencer_report(
        session, principal.brand_id, influencer_id, start=start, end=end, currency=currency
    )
    if wants_csv(request):
        return csv_response(
            export.to_csv(export.report_rows(report)), f"influencer-{influencer_id}-report.csv"
        )
    return json_response(schemas.InfluencerReport, report)


@router.get(
    "/influencers/{influencer_id}/report/chart",
    summary="Influencer chart: daily time series, or its collaborations ranked",
    response_class=Response,
    responses={**problem_responses(404), **IMAGE_RESPONSE},
)
async def get_influencer_chart(
    influencer_id: uuid.UUID,
    request: Request,
    principal: Reader,
    session: SessionDep,
    kind: Annotated[
        Literal["timeseries", "history"],
        Query(description="timeseries: metrics per day; history: one bar per collaboration."),
    ] = "timeseries",
    metric: Annotated[list[str] | None, Query()] = None,
    fmt: ChartFormatQ = None,
    start: Start = None,
    end: End = None,
    currency: Currency = None,
) -> Response:
    report = await influencer_report(
        session, principal.brand_id, influencer_id, start=start, end=end, currency=currency
    )
    out = chart_format(request, fmt)
    title = report["influencer"]["name"]
    if kind == "timeseries":
        return image(await _timeseries(report, metric, title, out), out)
    chosen = _one_metric(metric, "net_revenue_minor")
    rows = [(h["campaign_name"], h["metrics"][chosen]) for h in report["history"]]
    data = await run_in_threadpool(
        charts.leaderboard,
        rows,
        metric=chosen,
        title=f"{title}: collaborations by {charts.label(chosen, report['currency'])}",
        currency=report["currency"],
        fmt=out,
    )
    return image(data, out)


@router.get(
    "/reports/benchmarks",
    response_model=schemas.Benchmarks,
    summary="A campaign against the brand's past campaigns (quartiles of CPA, ROAS, "
    "engagement rate, conversion rate), overall and by platform, tier, deliverable type",
    responses={**problem_responses(404), **CSV_RESPONSE},
)
async def get_benchmarks(
    request: Request,
    principal: Reader,
    session: SessionDep,
    campaign_id: Annotated[
        uuid.UUID | None,
        Query(description="The campaign to compare; without it, only the peers' quartiles."),
    ] = None,
    currency: Currency = None,
) -> Response:
    report = await benchmarks(
        session, principal.brand_id, campaign_id=campaign_id, currency=currency
    )
    if wants_csv(request):
        return csv_response(export.to_csv(export.benchmark_rows(report)), "benchmarks.csv")
    return json_response(schemas.Benchmarks, report)
