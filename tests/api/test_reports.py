"""Reports over the API: every metric on a hand-computed campaign, ranges, currencies, KPI
progress, CSV, charts, benchmarks, and another brand's ids answering 404."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import CostLine, KpiTarget
from tests.factories import (
    ReportCollab,
    Tenant,
    add_clicks,
    add_comment,
    add_followers,
    add_order,
    add_post,
    add_reversal,
    add_snapshot,
    make_report_campaign,
    make_report_collab,
    run_rollups,
)
from tests.problems import assert_problem

SM = async_sessionmaker[AsyncSession]
TODAY = datetime.now(UTC).date()
D0 = TODAY - timedelta(days=9)  # the campaign started 9 days ago (today is its 10th day)
END = TODAY + timedelta(days=20)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def d(n: int) -> date:
    return D0 + timedelta(days=n)


@dataclass
class World:
    campaign_id: uuid.UUID
    a: ReportCollab
    b: ReportCollab
    c: ReportCollab


async def build_world(sessionmaker: SM, tenant: Tenant) -> World:
    """The campaign whose every number is computed by hand in test_campaign_report_numbers."""
    b_id = tenant.brand_id
    campaign = await make_report_campaign(
        sessionmaker, b_id, name="Spring drop", starts_on=D0, ends_on=END
    )
    a = await make_report_collab(
        sessionmaker, b_id, campaign, name="Ana", flat_fee_minor=50_000,
        gifted_value_minor=10_000, platform="instagram", followers=50_000,
        deliverable_type="reel",
    )  # fmt: skip
    b = await make_report_collab(
        sessionmaker, b_id, campaign, name="Ben", status="contracted", flat_fee_minor=20_000,
        platform="tiktok", followers=5_000, deliverable_type="video",
    )  # fmt: skip
    c = await make_report_collab(
        sessionmaker, b_id, campaign, name="Cleo", status="prospect", flat_fee_minor=99_999
    )
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [
                CostLine(brand_id=b_id, campaign_id=campaign, category="agency_fee",
                         amount_minor=15_000, currency="USD", incurred_on=D0),
                CostLine(brand_id=b_id, campaign_id=campaign, collaboration_id=a.collaboration_id,
                         category="content_production", amount_minor=5_000, currency="USD"),
                KpiTarget(brand_id=b_id, campaign_id=campaign, metric="clicks",
                          target_value=Decimal(300), deadline=END),
                KpiTarget(brand_id=b_id, campaign_id=campaign, metric="orders",
                          target_value=Decimal(50), deadline=END),
                KpiTarget(brand_id=b_id, campaign_id=campaign, metric="roas",
                          target_value=Decimal("0.5"), deadline=END),
                KpiTarget(brand_id=b_id, campaign_id=campaign, metric="cpa",
                          target_value=Decimal(10_000), deadline=END),
                KpiTarget(brand_id=b_id, campaign_id=campaign, metric="engagement_rate",
                          target_value=Decimal("0.05"), deadline=END),
            ]
        )  # fmt: skip
    # Clicks: A 100 human (80 unique) + 10 bots on day 1; B 50 unique on day 2.
    await add_clicks(sessionmaker, a, [at(d(1))] * 80)
    await add_clicks(sessionmaker, a, [at(d(1), 13)] * 20, unique=False)
    await add_clicks(sessionmaker, a, [at(d(1), 14)] * 10, bot=True)
    await add_clicks(sessionmaker, b, [at(d(2))] * 50)
    # Orders: A three on day 1 (one partly refunded) + a cancelled one; B one USD, one EUR.
    o1 = await add_order(sessionmaker, a, at(d(1)), 10_000, commission_minor=6_000)
    await add_order(sessionmaker, a, at(d(1)), 20_000, refunded_minor=5_000)
    await add_order(sessionmaker, a, at(d(1)), 30_000)
    await add_order(sessionmaker, a, at(d(1)), 40_000, status="cancelled")
    await add_reversal(sessionmaker, a, o1, -500, at(d(3)))
    await add_order(sessionmaker, b, at(d(2)), 15_000, commission_minor=1_500)
    await add_order(sessionmaker, b, at(d(2)), 8_000, currency="EUR")
    # Posts: A's reel (impressions), B's TikTok video (views only).
    pa = await add_post(sessionmaker, a, platform="instagram", content_type="reel")
    await add_snapshot(sessionmaker, b_id, pa, at(d(1)), likes=900, comments=50, shares=30,
                       saves=20, impressions=20_000, reach=15_000)  # fmt: skip
    await add_snapshot(sessionmaker, b_id, pa, at(d(2)), likes=1000, comments=60, shares=40,
                       saves=20, impressions=25_000, reach=18_000)  # fmt: skip
    pb = await add_post(sessionmaker, b, platform="tiktok", content_type="video")
    await add_snapshot(sessionmaker, b_id, pb, at(d(2)), likes=400, comments=40, shares=10,
                       saves=50, views=30_000, reach=12_000)  # fmt: skip
    for label in ("positive", "positive", "positive", "negative"):
        await add_comment(sessionmaker, b_id, pa, at(d(2)), label)
    for label in ("neutral", "unscored", "unscored"):
        await add_comment(sessionmaker, b_id, pb, at(d(2)), label)
    # Followers: A +600 during the campaign; B's baseline before it, +100 on day 1.
    await add_followers(sessionmaker, a, at(d(0), 1), 50_000)
    await add_followers(sessionmaker, a, at(d(3)), 50_600)
    await add_followers(sessionmaker, b, at(d(-5)), 5_000)
    await add_followers(sessionmaker, b, at(d(1)), 5_100)
    await run_rollups(sessionmaker)
    return World(campaign, a, b, c)


@pytest.fixture
async def world(sessionmaker: SM, tenant: Tenant) -> World:
    return await build_world(sessionmaker, tenant)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-12)


async def test_campaign_report_numbers(
    client: httpx.AsyncClient, tenant: Tenant, world: World
) -> None:
    resp = await client.get(f"/v1/campaigns/{world.campaign_id}/report", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert (r["currency"], r["timezone"]) == ("USD", "UTC")
    assert (r["start"], r["end"], r["as_of"]) == (str(D0), str(TODAY), str(TODAY))
    m = r["metrics"]
    expected = {
        "likes": 1400, "comments": 100, "shares": 50, "saves": 70, "engagements": 1620,
        "impressions": 25_000, "views": 30_000, "reach": 30_000,
        "exposure_basis": "impressions",
        "clicks": 150, "unique_clicks": 130, "bot_clicks": 10,
        "orders": 5,  # 4 USD + 1 EUR; the cancelled one is not an order
        "revenue_minor": 75_000, "refunds_minor": 5_000, "net_revenue_minor": 70_000,
        "commissions_earned_minor": 7_500, "commissions_reversed_minor": 500,
        "commissions_minor": 7_000,
        "fees_minor": 80_000,  # A 50k + 10k gifted, B 20k; C is only a prospect
        "cost_lines_minor": 20_000, "total_cost_minor": 107_000,
        "cpa_minor": 21_400, "new_followers": 700,
        "revenue_complete": False,  # the EUR order
        "costs_complete": True,
    }  # fmt: skip
    assert {k: m[k] for k in expected} == expected
    assert m["engagement_rate"] == approx(1620 / 25_000)
    assert m["ctr"] == approx(150 / 25_000)
    assert m["conversion_rate"] == approx(5 / 130)
    assert m["aov_minor"] == approx(75_000 / 4)
    assert m["cpc_minor"] == approx(107_000 / 150)
    assert m["cpe_minor"] == approx(107_000 / 1620)
    assert m["roi"] == approx((70_000 - 107_000) / 107_000)
    assert m["roas"] == approx(70_000 / 107_000)
    assert r["sentiment"] == {
        "positive": 3, "neutral": 1, "negative": 1, "unscored": 2, "scored": 5,
        "positive_share": 0.6, "negative_share": 0.2, "net_sentiment": 0.4,
    }  # fmt: skip
    assert r["unallocated_cost_minor"] == 15_000
    assert r["other_currencies"] == [
        {"currency": "EUR", "orders": 1, "revenue_minor": 8_000, "refunds_minor": 0,
         "commissions_minor": 0, "costs_minor": 0}
    ]  # fmt: skip

    # Daily series: every day of the range, zeros included.
    daily = {p["day"]: p for p in r["daily"]}
    assert len(r["daily"]) == 10 and next(iter(daily)) == str(D0)
    assert daily[str(d(1))]["clicks"] == 100 and daily[str(d(1))]["orders"] == 3
    assert daily[str(d(1))]["net_revenue_minor"] == 55_000
    assert daily[str(d(1))]["engagements"] == 1000
    assert daily[str(d(2))]["engagements"] == 120 + 500
    assert daily[str(d(3))]["commissions_minor"] == -500
    assert daily[str(d(3))]["new_followers"] == 600
    assert sum(p["clicks"] for p in r["daily"]) == 150
    assert daily[str(TODAY)]["clicks"] == 0

    # Breakdowns.
    by_name = {row["name"]: row for row in r["breakdowns"]["influencer"]}
    ana, ben, cleo = (
        by_name["Ana"]["metrics"],
        by_name["Ben"]["metrics"],
        by_name["Cleo"]["metrics"],
    )
    assert (ana["clicks"], ana["orders"], ana["net_revenue_minor"]) == (100, 3, 55_000)
    assert ana["total_cost_minor"] == 60_000 + 5_000 + 5_500
    assert ana["engagements"] == 1120 and ana["new_followers"] == 600
    assert ana["roas"] == approx(55_000 / 70_500)
    assert (ben["clicks"], ben["orders"], ben["total_cost_minor"]) == (50, 2, 21_500)
    assert by_name["Ben"]["sentiment"]["unscored"] == 2
    # Zero denominators are null, never an error or infinity.
    assert cleo["total_cost_minor"] == 0
    for key in ("roas", "roi", "cpa_minor", "cpc_minor", "engagement_rate", "ctr", "aov_minor",
                "conversion_rate"):  # fmt: skip
        assert cleo[key] is None, key
    platforms = {g["key"]: g["metrics"] for g in r["breakdowns"]["platform"]}
    assert platforms["instagram"]["engagements"] == 1120
    assert platforms["tiktok"]["views"] == 30_000 and platforms["tiktok"]["clicks"] == 50
    tiers = {g["key"]: g["metrics"] for g in r["breakdowns"]["tier"]}
    assert tiers["micro"]["clicks"] == 100 and tiers["nano"]["clicks"] == 50
    types = {g["key"]: g["metrics"] for g in r["breakdowns"]["deliverable_type"]}
    assert types["reel"]["orders"] == 3 and types["video"]["engagements"] == 500
    # The breakdown rows add up to the totals (less what is not allocated).
    for dim in ("influencer", "platform", "tier", "deliverable_type"):
        rows = r["breakdowns"][dim]
        assert sum(g["metrics"]["clicks"] for g in rows) == 150, dim
        assert sum(g["metrics"]["engagements"] for g in rows) == 1620, dim
        assert sum(g["metrics"]["total_cost_minor"] for g in rows) == 107_000 - 15_000, dim

    # KPI progress on day 10 of 30.
    kpis = {k["metric"]: k for k in r["kpis"]}
    assert kpis["clicks"]["status"] == "on_track"  # 150 >= 300 x 10/30
    assert kpis["clicks"]["percent"] == approx(50.0)
    assert kpis["clicks"]["expected_to_date"] == approx(100.0)
    assert kpis["clicks"]["projected"] == approx(450.0)
    assert kpis["orders"]["status"] == "behind"  # 5 < 50 x 10/30
    assert kpis["roas"]["status"] == "on_track"  # a level metric meeting its target
    assert kpis["cpa"]["status"] == "behind" and kpis["cpa"]["direction"] == "lower_is_better"
    assert kpis["cpa"]["percent"] == approx(10_000 / 21_400 * 100)
    assert kpis["engagement_rate"]["status"] == "on_track"


async def test_date_range_filters_everything_but_fees(
    client: httpx.AsyncClient, tenant: Tenant, world: World
) -> None:
    day = str(d(2))
    resp = await client.get(
        f"/v1/campaigns/{world.campaign_id}/report",
        headers=tenant.headers,
        params={"start": day, "end": day},
    )
    assert resp.status_code == 200, resp.text
    r = resp.json()
    m = r["metrics"]
    assert [p["day"] for p in r["daily"]] == [day]
    assert (m["clicks"], m["orders"], m["revenue_minor"]) == (50, 2, 15_000)
    assert m["engagements"] == 120 + 500 and m["impressions"] == 5_000
    assert m["engagement_rate"] == approx(620 / 5_000)
    # Fees always; the dated agency fee (day 0) not; the undated production line yes.
    assert (m["fees_minor"], m["cost_lines_minor"], m["commissions_minor"]) == (
        80_000,
        5_000,
        1_500,
    )
    assert r["other_currencies"][0]["revenue_minor"] == 8_000


async def test_report_in_another_currency_counts_only_that_currency(
    client: httpx.AsyncClient, tenant: Tenant, world: World
) -> None:
    resp = await client.get(
        f"/v1/campaigns/{world.campaign_id}/report",
        headers=tenant.headers,
        params={"currency": "eur"},
    )
    r = resp.json()
    m = r["metrics"]
    assert r["currency"] == "EUR"
    assert (m["orders"], m["revenue_minor"], m["aov_minor"]) == (5, 8_000, 8_000.0)
    # Every cost is in USD: none is counted, so the cost metrics are null, not wrong.
    assert m["total_cost_minor"] == 0 and m["costs_complete"] is False
    for key in ("roas", "roi", "cpa_minor", "cpc_minor", "cpe_minor"):
        assert m[key] is None, key
    usd = {o["currency"]: o for o in r["other_currencies"]}["USD"]
    assert usd["revenue_minor"] == 75_000 and usd["costs_minor"] == 80_000 + 20_000
    # KPIs are always judged in the campaign's own currency.
    assert {k["metric"]: k for k in r["kpis"]}["cpa"]["value"] == 21_400


async def test_empty_campaign_report_has_nulls_not_errors(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: SM
) -> None:
    campaign = await make_report_campaign(sessionmaker, tenant.brand_id)
    resp = await client.get(f"/v1/campaigns/{campaign}/report", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert r["start"] == r["end"] == str(TODAY) and len(r["daily"]) == 1
    for key in ("engagement_rate", "ctr", "conversion_rate", "aov_minor", "cpc_minor",
                "cpe_minor", "cpa_minor", "roi", "roas"):  # fmt: skip
        assert r["metrics"][key] is None, key
    assert r["breakdowns"]["influencer"] == [] and r["kpis"] == []


async def test_report_csv(client: httpx.AsyncClient, tenant: Tenant, world: World) -> None:
    resp = await client.get(
        f"/v1/campaigns/{world.campaign_id}/report",
        headers={**tenant.headers, "Accept": "text/csv"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["section", "group", "day", "metric", "value"]
    cells = {(s, g, day, metric): v for s, g, day, metric, v in rows[1:]}
    assert cells[("totals", "", "", "clicks")] == "150"
    assert cells[("totals", "", "", "roas")] == repr(70_000 / 107_000)
    assert cells[("totals", "", "", "cpa_minor")] == "21400.0"
    assert cells[("daily", "", str(d(1)), "clicks")] == "100"
    assert cells[("by_influencer", "Cleo", "", "roas")] == ""  # null
    assert cells[("kpi", f"clicks by {END}", "", "status")] == "on_track"
    assert cells[("other_currencies", "EUR", "", "revenue_minor")] == "8000"


async def test_campaign_charts(client: httpx.AsyncClient, tenant: Tenant, world: World) -> None:
    url = f"/v1/campaigns/{world.campaign_id}/report/chart"
    png = await client.get(url, headers=tenant.headers)
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = await client.get(
        url,
        headers=tenant.headers,
        params={"kind": "leaderboard", "metric": "roas", "format": "svg"},
    )
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and b"Ana" in svg.content
    negotiated = await client.get(
        url, headers={**tenant.headers, "Accept": "image/svg+xml"}, params={"metric": "clicks"}
    )
    assert negotiated.headers["content-type"] == "image/svg+xml"
    bad = await client.get(url, headers=tenant.headers, params={"metric": "bogus"})
    assert_problem(bad, 422, field="query.metric")
    bad = await client.get(url, headers=tenant.headers, params={"kind": "pie"})
    assert_problem(bad, 422, field="query.kind")


async def test_bad_ranges_and_currencies_are_422(
    client: httpx.AsyncClient, tenant: Tenant, world: World
) -> None:
    url = f"/v1/campaigns/{world.campaign_id}/report"
    resp = await client.get(
        url, headers=tenant.headers, params={"start": str(d(3)), "end": str(d(1))}
    )
    assert_problem(resp, 422, field="query.end")
    resp = await client.get(
        url, headers=tenant.headers, params={"start": "2020-01-01", "end": "2026-01-01"}
    )
    assert_problem(resp, 422, field="query.end")
    resp = await client.get(url, headers=tenant.headers, params={"currency": "EURO"})
    assert_problem(resp, 422, field="query.currency")
    resp = await client.get(url, headers=tenant.headers, params={"start": "yesterday"})
    assert_problem(resp, 422, field="query.start")


async def test_another_brands_ids_are_404(
    client: httpx.AsyncClient, other_tenant: Tenant, world: World
) -> None:
    a = world.a
    for path in (
        f"/v1/campaigns/{world.campaign_id}/report",
        f"/v1/campaigns/{world.campaign_id}/report/chart",
        f"/v1/influencers/{a.influencer_id}/report",
        f"/v1/influencers/{a.influencer_id}/report/chart",
        f"/v1/reports/benchmarks?campaign_id={world.campaign_id}",
    ):
        assert_problem(await client.get(path, headers=other_tenant.headers), 404)
    # And their CSV and SVG forms too.
    resp = await client.get(
        f"/v1/campaigns/{world.campaign_id}/report",
        headers={**other_tenant.headers, "Accept": "text/csv"},
    )
    assert_problem(resp, 404)
    # Unknown ids likewise; malformed ones are 422.
    assert_problem(
        await client.get(f"/v1/campaigns/{uuid.uuid4()}/report", headers=other_tenant.headers),
        404,
    )
    assert_problem(
        await client.get("/v1/influencers/nope/report", headers=other_tenant.headers), 422
    )


async def test_reports_need_a_key(client: httpx.AsyncClient, world: World) -> None:
    assert_problem(await client.get(f"/v1/campaigns/{world.campaign_id}/report"), 401)


# ----------------------------------------------------------------------------- influencer
async def test_influencer_report_history_and_trend(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: SM
) -> None:
    b_id = tenant.brand_id
    first = await make_report_campaign(
        sessionmaker, b_id, name="Autumn", status="completed",
        starts_on=TODAY - timedelta(days=60), ends_on=TODAY - timedelta(days=40),
    )  # fmt: skip
    second = await make_report_campaign(
        sessionmaker, b_id, name="Winter", starts_on=TODAY - timedelta(days=10), ends_on=END
    )
    one = await make_report_collab(
        sessionmaker, b_id, first, name="Rae", status="completed", flat_fee_minor=10_000
    )
    two = await make_report_collab(
        sessionmaker, b_id, second, influencer_id=one.influencer_id, flat_fee_minor=10_000
    )
    await add_order(sessionmaker, one, at(TODAY - timedelta(days=50)), 15_000)
    await add_order(sessionmaker, two, at(TODAY - timedelta(days=5)), 30_000)
    await add_order(sessionmaker, two, at(TODAY - timedelta(days=4)), 10_000, currency="GBP")
    await add_clicks(sessionmaker, two, [at(TODAY - timedelta(days=5))] * 40)
    await run_rollups(sessionmaker)

    resp = await client.get(f"/v1/influencers/{one.influencer_id}/report", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert r["influencer"]["name"] == "Rae" and r["currency"] == "USD"
    m = r["metrics"]
    assert (m["orders"], m["revenue_minor"], m["total_cost_minor"]) == (3, 45_000, 20_000)
    assert m["roas"] == approx(45_000 / 20_000)
    assert r["other_currencies"][0]["currency"] == "GBP"
    history = r["history"]
    assert [h["campaign_name"] for h in history] == ["Autumn", "Winter"]
    assert history[0]["metrics"]["roas"] == approx(1.5)
    assert history[1]["metrics"]["roas"] == approx(3.0)
    assert history[1]["change"]["roas"] == approx(1.0)  # +100 %
    assert history[1]["metrics"]["clicks"] == 40
    assert r["relationship"]["repeat"] is True
    assert r["relationship"]["collaborations"] == 2
    assert r["relationship"]["trend"]["roas"] == "improving"
    assert r["relationship"]["trend"]["cpa_minor"] == "improving"  # 10k -> 5k per order

    csv_resp = await client.get(
        f"/v1/influencers/{one.influencer_id}/report",
        headers={**tenant.headers, "Accept": "text/csv"},
    )
    assert csv_resp.headers["content-type"].startswith("text/csv")
    assert "history,Winter" in csv_resp.text
    chart = await client.get(
        f"/v1/influencers/{one.influencer_id}/report/chart",
        headers=tenant.headers,
        params={"kind": "history", "metric": "roas", "format": "svg"},
    )
    assert chart.status_code == 200 and b"Winter" in chart.content


# ----------------------------------------------------------------------------- benchmarks
async def test_benchmarks_against_past_campaigns(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: SM
) -> None:
    b_id = tenant.brand_id

    async def campaign(status: str, fee: int, orders: list[int], platform: str) -> uuid.UUID:
        cid = await make_report_campaign(sessionmaker, b_id, status=status)
        rc = await make_report_collab(
            sessionmaker, b_id, cid, status="completed", flat_fee_minor=fee, platform=platform
        )
        for total in orders:
            await add_order(sessionmaker, rc, at(TODAY - timedelta(days=3)), total)
        await add_clicks(sessionmaker, rc, [at(TODAY - timedelta(days=3))] * 10)
        return cid

    await campaign("completed", 10_000, [20_000], "instagram")  # CPA 10k, ROAS 2
    await campaign("completed", 10_000, [10_000, 10_000], "instagram")  # CPA 5k, ROAS 2
    await campaign("completed", 30_000, [30_000], "tiktok")  # CPA 30k, ROAS 1
    await campaign("draft", 1, [1], "instagram")  # not a past campaign
    this = await campaign("active", 10_000, [10_000] * 4, "instagram")  # CPA 2.5k, ROAS 4
    await run_rollups(sessionmaker)

    resp = await client.get(
        "/v1/reports/benchmarks", headers=tenant.headers, params={"campaign_id": str(this)}
    )
    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert len(r["peers"]) == 3
    cpa = r["overall"]["cpa_minor"]
    assert (cpa["n"], cpa["p25"], cpa["median"], cpa["p75"]) == (3, 7_500, 10_000, 20_000)
    assert (cpa["value"], cpa["percentile_rank"], cpa["vs_median"]) == (2_500, 0.0, "better")
    roas = r["overall"]["roas"]
    assert (roas["median"], roas["value"], roas["vs_median"]) == (2.0, 4.0, "better")
    assert roas["percentile_rank"] == 1.0
    conv = r["overall"]["conversion_rate"]
    assert conv["median"] == approx(0.1) and conv["value"] == approx(0.4)
    assert r["overall"]["engagement_rate"]["n"] == 0  # no posts: undefined everywhere
    platforms = {row["key"]: row for row in r["breakdowns"]["platform"]}
    assert platforms["instagram"]["campaigns"] == 2
    assert platforms["instagram"]["metrics"]["cpa_minor"]["median"] == 7_500
    assert platforms["tiktok"]["metrics"]["cpa_minor"]["value"] is None

    alone = await client.get("/v1/reports/benchmarks", headers=tenant.headers)
    assert alone.json()["campaign"] is None and alone.json()["overall"]["roas"]["n"] == 3
    as_csv = await client.get(
        "/v1/reports/benchmarks",
        headers={**tenant.headers, "Accept": "text/csv"},
        params={"campaign_id": str(this)},
    )
    assert "overall,,,cpa_minor.median,10000.0" in as_csv.text
