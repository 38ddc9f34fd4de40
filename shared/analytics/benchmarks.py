"""Benchmarks: one campaign against the brand's past campaigns.

Past campaigns (the peers) are the brand's other campaigns that are completed, or active or
paused with an end date already behind them. For each peer and for the campaign, over their
whole history: CPA, ROAS, engagement rate and conversion rate (shared/analytics/formulas.py),
overall and per platform, tier and deliverable type (grouped as in the campaign report). The
peers' values give quartiles (linear interpolation; a peer whose metric is undefined, e.g.
ROAS without cost, is left out of that metric's n).

Money metrics compare like with like: they use one currency (`?currency=`, else the
campaign's, else the brand's); a peer whose money is in another currency has no CPA/ROAS here.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.analytics import repository as repo
from shared.analytics.formulas import Totals, derive, distribution, percentile_rank
from shared.analytics.reports import (
    DIMENSIONS,
    Grouped,
    add_fixed_costs,
    brand_today,
    collab_totals,
    load_groups,
)
from shared.campaigns.repository import CampaignRepository
from shared.models import Brand

METRICS = {  # metric -> lower is better
    "cpa_minor": True,
    "roas": False,
    "engagement_rate": False,
    "conversion_rate": False,
}
PEER_STATUSES = frozenset({"active", "paused", "completed"})
ALL_TIME = (date(1, 1, 1), date(9999, 12, 31))


def _pick(t: Totals) -> dict[str, float | None]:
    d = derive(t)
    return {m: d[m] for m in METRICS}


def _compare(value: float | None, peers: list[float | None], lower: bool) -> dict[str, Any]:
    dist = distribution(peers)
    median = dist["median"]
    verdict = None
    if value is not None and median is not None:
        better = (value < median) == lower
        verdict = "equal" if value == median else "better" if better else "worse"
    return {
        "value": value,
        **dist,
        "percentile_rank": percentile_rank(value, peers),
        "vs_median": verdict,
    }


def _section(this: dict[str, float | None] | None, peers: list[dict[str, float | None]]) -> Any:
    return {
        m: _compare(this[m] if this else None, [p[m] for p in peers], lower)
        for m, lower in METRICS.items()
    }


async def benchmarks(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    campaign_id: uuid.UUID | None = None,
    currency: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    brand = (await session.execute(select(Brand).where(Brand.id == brand_id))).scalar_one()
    today = today or brand_today(brand.timezone)
    campaign = None
    if campaign_id is not None:
        campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    currency = (currency or (campaign.currency if campaign else brand.default_currency)).upper()

    every = await repo.campaigns(session, brand_id)
    peers = [
        c
        for c in every
        if c.id != campaign_id
        and c.status in PEER_STATUSES
        and (c.status == "completed" or (c.ends_on is not None and c.ends_on < today))
    ]
    subjects = [c.id for c in peers] + ([campaign_id] if campaign_id else [])
    collabs = await repo.collaborations(session, brand_id, "campaign_id", subjects)
    lines = await repo.cost_lines(session, brand_id, subjects)
    grouped = await load_groups(
        session, brand_id, "campaign_id", subjects, *ALL_TIME, currency, None
    )

    # Per campaign: overall metrics, and per dimension value.
    overall: dict[uuid.UUID, dict[str, float | None]] = {}
    by_dim: dict[str, dict[str, dict[uuid.UUID, dict[str, float | None]]]] = {
        d: {} for d in DIMENSIONS
    }
    for cid in subjects:
        g = grouped.get(cid, Grouped())
        mine = [c for c in collabs if c.campaign_id == cid]
        my_lines = [line for line in lines if line.campaign_id == cid]
        total = Totals()
        for t in g.who.values():
            total.add(t)
        add_fixed_costs(total, mine, my_lines, currency)
        overall[cid] = _pick(total)
        dims: dict[str, dict[str, Totals]] = {d: {} for d in DIMENSIONS}
        for d in DIMENSIONS:
            for value, t in g.dims[d].items():
                dims[d].setdefault(value, Totals()).add(t)
        for c in mine:
            _, level = collab_totals(c, str(c.influencer_id), g, my_lines, 0, currency, None)
            for d in DIMENSIONS:
                dims[d].setdefault(getattr(c, d), Totals()).add(level)
        for d in DIMENSIONS:
            for value, t in dims[d].items():
                by_dim[d].setdefault(value, {})[cid] = _pick(t)

    peer_ids = [c.id for c in peers]
    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for d in DIMENSIONS:
        rows = []
        for value, per_campaign in sorted(by_dim[d].items()):
            this = per_campaign.get(campaign_id) if campaign_id else None
            peer_values = [per_campaign[p] for p in peer_ids if p in per_campaign]
            rows.append(
                {
                    "key": value,
                    "campaigns": len(peer_values),
                    "metrics": _section(this, peer_values),
                }
            )
        breakdowns[d] = rows
    return {
        "currency": currency,
        "as_of": today,
        "campaign": (
            {"id": campaign.id, "name": campaign.name, "status": campaign.status}
            if campaign
            else None
        ),
        "peers": [{"id": c.id, "name": c.name, "status": c.status} for c in peers],
        "overall": _section(
            overall.get(campaign_id) if campaign_id else None, [overall[p] for p in peer_ids]
        ),
        "breakdowns": breakdowns,
    }
