"""Campaign-fit recommendations: the brand's influencers ranked 0-100 for one campaign, each
score broken down into the components it was made of.

Components (each 0..1; the score is 100 x the weighted mean of the applicable ones):
- niche: share of the campaign's target interests found in the influencer's niches;
- audience: for each dimension the campaign targets (age range, genders, countries,
  languages), the share of the account's audience inside the target (the overlap of the
  audience distribution with the target), averaged over the dimensions;
- engagement: engagement rate / tier benchmark, halved and capped (at benchmark: 0.5,
  twice the benchmark or more: 1);
- authenticity: authenticity score / 100;
- sponsored: 1 up to 10% sponsored posts, falling linearly to 0 at 50% (saturation);
- past_performance: earlier collaborations with this brand, when there are any: conversion
  (orders / unique human clicks; 4% or more scores 1), cost per order against the average
  order value (CPO <= 20% of AOV scores 1, >= 100% scores 0) and delivery reliability
  (published / (published + missed) deliverables), averaged over what is known;
- cost: the rate card's price (the requested deliverable type, else the cheapest listed)
  against the remaining budget: <= 25% of it scores 1, >= 100% scores 0.

A component is *not applicable* (left out, its weight shared among the others) when the
campaign gives it nothing to compare with (no interests, no target audience, no budget), and
past performance when there is no history. An applicable component the account has no data
for (no audience breakdown, signals not computed yet, no rate card in the campaign currency)
counts as a neutral 0.5 and says so, so a blank profile neither wins nor sinks.

Speed: one SQL statement scores every candidate account on the precomputed signals (no
per-account work at request time), keeps each influencer's best account and returns the top
CANDIDATES rows; past performance (orders, clicks, ledger) is then computed for those only
and the final order settled in Python. A roster of 50,000 accounts answers well under 300 ms
(bench/engagement.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.budget import BudgetView, budget_view
from shared.campaigns.repository import CampaignRepository
from shared.engagement.signals import benchmarks_of
from shared.errors import InvalidInput
from shared.models import Campaign, Collaboration
from shared.models.enums import DeliverableType

COMPONENTS = (
    "niche",
    "audience",
    "engagement",
    "authenticity",
    "sponsored",
    "past_performance",
    "cost",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "niche": 0.20,
    "audience": 0.25,
    "engagement": 0.20,
    "authenticity": 0.15,
    "sponsored": 0.05,
    "past_performance": 0.10,
    "cost": 0.05,
}
NEUTRAL = 0.5
CANDIDATES = 200  # influencers that reach the Python stage (past performance, final order)
ACCOUNTS_PER_CANDIDATE = 3  # top accounts fetched per candidate: each influencer's best one
# is among them (rosters hold 1-3 accounts per influencer; more only narrows the pool)
MAX_LIMIT = 100

SPONSORED_FREE = 0.10
SPONSORED_SATURATED = 0.50
CONVERSION_FULL = 0.04
CPO_GOOD = 0.20
COST_GOOD = 0.25

# Age buckets of social_accounts.audience_age as [low, high) years; "55+" taken as 55-64.
AGE_BUCKETS: dict[str, tuple[int, int]] = {
    "13-17": (13, 18),
    "18-24": (18, 25),
    "25-34": (25, 35),
    "35-44": (35, 45),
    "45-54": (45, 55),
    "55+": (55, 65),
}


@dataclass(frozen=True, slots=True)
class Target:
    interests: list[str]
    age_weights: dict[str, float]  # bucket -> fraction of the bucket inside the target range
    genders: list[str]
    countries: list[str]
    languages: list[str]
    age_label: str | None

    @property
    def has_audience(self) -> bool:
        return bool(self.age_weights or self.genders or self.countries or self.languages)


def target_of(campaign: Campaign) -> Target:
    aud = campaign.target_audience or {}
    age_min, age_max = aud.get("age_min"), aud.get("age_max")
    weights: dict[str, float] = {}
    label = None
    if age_min is not None or age_max is not None:
        lo = int(age_min) if age_min is not None else 13
        hi = int(age_max) + 1 if age_max is not None else 200
        label = f"{lo}-{hi - 1}" if age_max is not None else f"{lo}+"
        for bucket, (b_lo, b_hi) in AGE_BUCKETS.items():
            overlap = max(0, min(hi, b_hi) - max(lo, b_lo))
            if overlap:
                weights[bucket] = overlap / (b_hi - b_lo)
    return Target(
        interests=[str(i).lower() for i in aud.get("interests") or []],
        age_weights=weights,
        genders=[str(g).lower() for g in aud.get("genders") or []],
        countries=[str(c).upper() for c in aud.get("countries") or []],
        languages=[str(lang).lower() for lang in aud.get("languages") or []],
        age_label=label,
    )


def normalise_weights(overrides: dict[str, float | None]) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in weights:
            raise InvalidInput(["query", f"weight_{name}"], f"Unknown component {name!r}.")
        if value < 0:
            raise InvalidInput(["query", f"weight_{name}"], "Weights are >= 0.")
        weights[name] = float(value)
    if sum(weights.values()) <= 0:
        raise InvalidInput(["query", "weight_niche"], "At least one weight must be > 0.")
    return weights


# ------------------------------------------------------------------------ the SQL stage
def _share_sql(column: str, keys: list[str], prefix: str, params: dict[str, Any]) -> str:
    """SQL for the share (0..1) of `column`'s distribution on `keys`; NULL without data."""
    parts = []
    for n, key in enumerate(keys):
        name = f"{prefix}{n}"
        params[name] = key
        parts.append(f"coalesce((a.{column} ->> :{name})::float8, 0)")
    total = " + ".join(parts)
    return (
        f"(CASE WHEN a.{column} = '{{}}'::jsonb THEN NULL ELSE least(1.0, ({total}) / 100.0) END)"
    )


def _age_sql(weights: dict[str, float], params: dict[str, Any]) -> str:
    parts = []
    for n, (bucket, w) in enumerate(weights.items()):
        params[f"ab{n}"] = bucket
        params[f"aw{n}"] = w
        parts.append(f"coalesce((a.audience_age ->> :ab{n})::float8, 0) * CAST(:aw{n} AS float8)")
    total = " + ".join(parts)
    return (
        f"(CASE WHEN a.audience_age = '{{}}'::jsonb THEN NULL "
        f"ELSE least(1.0, ({total}) / 100.0) END)"
    )


def _weighted(values: dict[str, str], weights: dict[str, float], applicable: set[str]) -> str:
    used = [c for c in values if c in applicable and weights[c] > 0]
    total = sum(weights[c] for c in used) or 1.0
    return (
        " + ".join(f"{weights[c] / total!r} * coalesce({values[c]}, {NEUTRAL})" for c in used)
        or "0"
    )


@dataclass(slots=True)
class Options:
    weights: dict[str, float]
    limit: int = 20
    include_existing: bool = False
    platform: str | None = None
    tier: str | None = None
    deliverable_type: str | None = None


@dataclass(slots=True)
class Component:
    name: str
    value: float | None  # None: not applicable
    weight: float  # normalised over the applicable components
    has_data: bool
    detail: str

    @property
    def points(self) -> float:
        if self.value is None:
            return 0.0
        return 100.0 * self.weight * self.value


@dataclass(slots=True)
class Recommendation:
    influencer_id: uuid.UUID
    name: str
    account_id: uuid.UUID
    platform: str
    handle: str
    followers: int
    tier: str
    in_campaign: bool
    score: float
    components: list[Component] = field(default_factory=list)


@dataclass(slots=True)
class RecommendationResult:
    campaign: Campaign
    budget: BudgetView
    weights: dict[str, float]  # normalised over the applicable components
    not_applicable: dict[str, str]
    candidates: int
    items: list[Recommendation]


# Scores every candidate account in one pass. Each lateral subquery is fenced (OFFSET 0) so
# PostgreSQL evaluates its expressions once per row instead of inlining them into every use
# (the rate-card scan and the JSONB reads are the costly parts); only narrow numeric rows
# reach the top-N sort. Display columns are fetched afterwards for the few rows kept.
_QUERY = """
WITH bench AS (
  SELECT * FROM unnest(CAST(:b_platform AS text[]), CAST(:b_tier AS text[]),
                       CAST(:b_rate AS float8[]), CAST(:b_source AS text[]))
           AS b(platform, tier, rate, source)
)
SELECT a.id AS account_id, a.influencer_id, a.followers, f1.*,
       {c_audience} AS c_audience, {c_engagement} AS c_engagement,
       {c_authenticity} AS c_authenticity, {c_sponsored} AS c_sponsored, {c_cost} AS c_cost,
       ({prelim}) AS prelim
FROM social_accounts a
JOIN influencers i ON i.id = a.influencer_id AND i.status = 'active'
LEFT JOIN account_signals s ON s.account_id = a.id
LEFT JOIN bench b ON b.platform = a.platform AND b.tier = a.tier
CROSS JOIN LATERAL (
  SELECT {price} AS price, {niche} AS c_niche,
         {age} AS d_age, {gender} AS d_gender, {country} AS d_country, {language} AS d_language,
         s.engagement_rate, s.authenticity_score, b.rate AS bench_rate,
         coalesce(s.sponsored_share, a.sponsored_share_bps / 10000.0) AS sponsored_share,
         i.rate_currency, {in_campaign} AS in_campaign
  OFFSET 0
) f1
WHERE a.brand_id = :brand {filters}
ORDER BY prelim DESC, a.followers DESC, a.id
LIMIT :accounts
"""

_COUNT = """
SELECT count(*) FROM social_accounts a
JOIN influencers i ON i.id = a.influencer_id AND i.status = 'active'
WHERE a.brand_id = :brand {filters}
"""

_DETAILS = text(
    """
SELECT a.id AS account_id, a.platform, a.handle, a.tier, i.name, i.niches,
       s.authenticity_reasons, b.source AS bench_source
FROM social_accounts a
JOIN influencers i ON i.id = a.influencer_id
LEFT JOIN account_signals s ON s.account_id = a.id
LEFT JOIN unnest(CAST(:b_platform AS text[]), CAST(:b_tier AS text[]),
                 CAST(:b_source AS text[])) AS b(platform, tier, source)
       ON b.platform = a.platform AND b.tier = a.tier
WHERE a.id = ANY(CAST(:ids AS uuid[]))
"""
)


def _build_query(
    brand_id: uuid.UUID,
    members: list[uuid.UUID],
    campaign: Campaign,
    target: Target,
    budget: BudgetView,
    opts: Options,
    applicable: set[str],
    benches: dict[tuple[str, str], Any],
) -> tuple[str, dict[str, Any], str]:
    params: dict[str, Any] = {
        "brand": brand_id,
        "campaign": campaign.id,
        "candidates": CANDIDATES,
        "b_platform": [k[0] for k in benches],
        "b_tier": [k[1] for k in benches],
        "b_rate": [b.rate for b in benches.values()],
        "b_source": [b.source for b in benches.values()],
    }
    # The campaign's members, fetched beforehand (a few): a per-row EXISTS costs an index
    # probe per account.
    params["members"] = members
    in_campaign = "(a.influencer_id = ANY(CAST(:members AS uuid[])))"
    filters = ""
    if not opts.include_existing:
        filters += f" AND NOT {in_campaign}"
        in_campaign = "false"
    if opts.platform:
        filters += " AND a.platform = :platform"
        params["platform"] = opts.platform
    if opts.tier:
        filters += " AND a.tier = :tier"
        params["tier"] = opts.tier
    if opts.deliverable_type:
        params["dtype"] = opts.deliverable_type
        price = "(i.rate_card ->> :dtype)::bigint"
    else:
        # The cheapest listed price: plain key reads (rate card keys are deliverable types),
        # much cheaper per row than expanding the JSON object.
        price = (
            "least("
            + ", ".join(f"(i.rate_card ->> '{t.value}')::bigint" for t in DeliverableType)
            + ")"
        )
    if target.interests:
        hits = []
        for n, interest in enumerate(target.interests):
            params[f"n{n}"] = interest
            hits.append(f"(i.niches @> ARRAY[CAST(:n{n} AS text)])::int")
        niche = f"({' + '.join(hits)})::float8 / {float(len(target.interests))!r}"
    else:
        niche = "NULL::float8"
    age = _age_sql(target.age_weights, params) if target.age_weights else "NULL::float8"
    gender = (
        _share_sql("audience_gender", target.genders, "g", params)
        if target.genders
        else "NULL::float8"
    )
    country = (
        _share_sql("audience_countries", target.countries, "c", params)
        if target.countries
        else "NULL::float8"
    )
    language = (
        _share_sql("audience_languages", target.languages, "l", params)
        if target.languages
        else "NULL::float8"
    )
    dims = [
        d
        for d, on in (
            ("d_age", target.age_weights),
            ("d_gender", target.genders),
            ("d_country", target.countries),
            ("d_language", target.languages),
        )
        if on
    ]
    if dims:
        audience = (
            "("
            + " + ".join(f"coalesce({d}, 0)" for d in dims)
            + ") / nullif("
            + " + ".join(f"({d} IS NOT NULL)::int" for d in dims)
            + ", 0)"
        )
    else:
        audience = "NULL::float8"
    remaining = budget.remaining_minor
    if "cost" in applicable and remaining is not None:
        params["remaining"] = float(remaining)
        params["currency"] = campaign.currency
        cost = (
            "CASE WHEN f1.rate_currency IS DISTINCT FROM :currency OR f1.price IS NULL "
            "THEN NULL WHEN CAST(:remaining AS float8) <= 0 THEN 0.0 "
            "ELSE least(1.0, greatest(0.0, (CAST(:remaining AS float8) - f1.price) / "
            f"({1 - COST_GOOD!r} * CAST(:remaining AS float8)))) END"
        )
    else:
        cost = "NULL::float8"
    c_engagement = (
        "(CASE WHEN f1.engagement_rate IS NULL OR NOT f1.bench_rate > 0 THEN NULL "
        "ELSE least(1.0, greatest(0.0, f1.engagement_rate / f1.bench_rate / 2.0)) END)"
    )
    c_authenticity = "(f1.authenticity_score / 100.0)"
    # least/greatest skip NULLs: guard first.
    c_sponsored = (
        "(CASE WHEN f1.sponsored_share IS NULL THEN NULL ELSE 1.0 - least(1.0, greatest(0.0, "
        f"(f1.sponsored_share - {SPONSORED_FREE!r}) / "
        f"{SPONSORED_SATURATED - SPONSORED_FREE!r})) END)"
    )
    prelim = _weighted(
        {
            "niche": "f1.c_niche",
            "audience": audience,
            "engagement": c_engagement,
            "authenticity": c_authenticity,
            "sponsored": c_sponsored,
            "cost": cost,
        },
        opts.weights,
        applicable - {"past_performance"},
    )
    sql = _QUERY.format(
        in_campaign=in_campaign,
        price=price,
        niche=niche,
        age=age,
        gender=gender,
        country=country,
        language=language,
        filters=filters,
        c_audience=audience,
        c_engagement=c_engagement,
        c_authenticity=c_authenticity,
        c_sponsored=c_sponsored,
        c_cost=cost,
        prelim=prelim,
    )
    params["accounts"] = CANDIDATES * ACCOUNTS_PER_CANDIDATE
    return sql, params, _COUNT.format(filters=filters)


# --------------------------------------------------------------------- past performance
@dataclass(slots=True)
class PastStats:
    collaborations: int = 0
    orders: int = 0
    clicks: int = 0
    revenue_minor: int = 0
    cost_minor: int = 0
    published: int = 0
    missed: int = 0


_PAST = text(
    """
WITH past AS (
  SELECT c.id, c.influencer_id,
         coalesce(c.flat_fee_minor, 0) + coalesce(c.gifted_value_minor, 0) AS fees
  FROM collaborations c
  WHERE c.brand_id = :brand AND c.campaign_id <> :campaign
    AND c.influencer_id = ANY(CAST(:influencers AS uuid[]))
    AND c.status IN ('contracted', 'active', 'completed') AND c.currency = :currency
)
SELECT p.influencer_id,
       count(*) AS collaborations,
       sum(p.fees) AS fees,
       sum((SELECT count(*) FROM orders o WHERE o.collaboration_id = p.id
             AND o.status <> 'cancelled' AND o.currency = :currency)) AS orders,
       sum((SELECT coalesce(sum(o.subtotal_minor - o.refunded_minor), 0) FROM orders o
             WHERE o.collaboration_id = p.id AND o.status <> 'cancelled'
               AND o.currency = :currency)) AS revenue,
       sum((SELECT coalesce(sum(e.amount_minor), 0) FROM commission_entries e
             WHERE e.collaboration_id = p.id AND e.currency = :currency)) AS commissions,
       sum((SELECT count(*) FROM clicks k JOIN tracking_links l ON l.id = k.link_id
             WHERE l.collaboration_id = p.id AND NOT k.is_bot AND k.is_unique)) AS clicks,
       sum((SELECT count(*) FROM deliverables d WHERE d.collaboration_id = p.id
             AND d.status = 'published')) AS published,
       sum((SELECT count(*) FROM deliverables d WHERE d.collaboration_id = p.id
             AND d.status = 'missed')) AS missed
FROM past p GROUP BY p.influencer_id
"""
)


async def past_performance(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign: Campaign,
    influencer_ids: list[uuid.UUID],
) -> dict[uuid.UUID, PastStats]:
    if not influencer_ids:
        return {}
    rows = await session.execute(
        _PAST,
        {
            "brand": brand_id,
            "campaign": campaign.id,
            "influencers": influencer_ids,
            "currency": campaign.currency,
        },
    )
    return {
        r.influencer_id: PastStats(
            collaborations=int(r.collaborations),
            orders=int(r.orders or 0),
            clicks=int(r.clicks or 0),
            revenue_minor=int(r.revenue or 0),
            cost_minor=int(r.fees or 0) + int(r.commissions or 0),
            published=int(r.published or 0),
            missed=int(r.missed or 0),
        )
        for r in rows
    }


def past_score(stats: PastStats, currency: str) -> tuple[float | None, str]:
    parts: list[float] = []
    notes: list[str] = []
    if stats.clicks > 0:
        conv = stats.orders / stats.clicks
        parts.append(min(1.0, conv / CONVERSION_FULL))
        notes.append(
            f"conversion {conv * 100:.1f}% ({stats.orders} orders / {stats.clicks} clicks)"
        )
    if stats.orders > 0:
        cpo = stats.cost_minor / stats.orders
        aov = stats.revenue_minor / stats.orders
        if aov > 0:
            ratio = cpo / aov
            parts.append(max(0.0, min(1.0, (1 - ratio) / (1 - CPO_GOOD))))
            notes.append(
                f"cost per order {cpo:.0f} vs average order {aov:.0f} {currency} minor units"
            )
    if stats.published + stats.missed > 0:
        reliability = stats.published / (stats.published + stats.missed)
        parts.append(reliability)
        notes.append(
            f"{stats.published} of {stats.published + stats.missed} deliverables published"
        )
    head = f"{stats.collaborations} earlier collaboration(s) with this brand"
    if not parts:
        return None, head + ": no orders, clicks or deliverables to judge yet"
    return sum(parts) / len(parts), head + ": " + "; ".join(notes)


# --------------------------------------------------------------------------- entry point
def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


async def recommend(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID, opts: Options
) -> RecommendationResult:
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    budget = await budget_view(session, campaign)
    target = target_of(campaign)
    not_applicable: dict[str, str] = {}
    if not target.interests:
        not_applicable["niche"] = "the campaign has no target interests"
    if not target.has_audience:
        not_applicable["audience"] = (
            "the campaign has no target audience (age, gender, country, language)"
        )
    if budget.remaining_minor is None:
        not_applicable["cost"] = "the campaign has no budget"
    applicable = {c for c in COMPONENTS if c not in not_applicable}
    benches = await benchmarks_of(session, brand_id)
    members = list(
        (
            await session.execute(
                select(Collaboration.influencer_id).where(
                    Collaboration.brand_id == brand_id, Collaboration.campaign_id == campaign.id
                )
            )
        ).scalars()
    )
    sql, params, count_sql = _build_query(
        brand_id, members, campaign, target, budget, opts, applicable, benches
    )
    ranked = (await session.execute(text(sql), params)).mappings().all()
    considered = int((await session.execute(text(count_sql), params)).scalar_one())
    # Each influencer's best account: the first of its rows in score order.
    best: dict[uuid.UUID, dict[str, Any]] = {}
    for scored in ranked:
        if scored["influencer_id"] not in best:
            best[scored["influencer_id"]] = dict(scored)
            if len(best) == CANDIDATES:
                break
    rows = list(best.values())
    details = await session.execute(
        _DETAILS,
        {
            "ids": [r["account_id"] for r in rows],
            "b_platform": params["b_platform"],
            "b_tier": params["b_tier"],
            "b_source": params["b_source"],
        },
    )
    by_account = {d["account_id"]: d for d in details.mappings()}
    for row in rows:
        row.update(by_account[row["account_id"]])
    past = await past_performance(session, brand_id, campaign, [r["influencer_id"] for r in rows])

    items: list[Recommendation] = []
    for r in rows:
        stats = past.get(r["influencer_id"])
        comps = _components(r, target, budget, campaign, stats, applicable, opts)
        items.append(
            Recommendation(
                influencer_id=r["influencer_id"],
                name=r["name"],
                account_id=r["account_id"],
                platform=r["platform"],
                handle=r["handle"],
                followers=int(r["followers"]),
                tier=r["tier"],
                in_campaign=bool(r["in_campaign"]),
                score=0.0,
                components=comps,
            )
        )
    # Weights are normalised per row over the components applicable to it (past performance
    # only counts where there is a history).
    for item in items:
        used = [c for c in item.components if c.value is not None and opts.weights[c.name] > 0]
        total = sum(opts.weights[c.name] for c in used) or 1.0
        for c in item.components:
            c.weight = opts.weights[c.name] / total if c.value is not None else 0.0
        item.score = round(sum(c.points for c in item.components), 1)
    items.sort(key=lambda x: (-x.score, -x.followers, str(x.account_id)))
    total_w = sum(opts.weights[c] for c in applicable if c != "past_performance") or 1.0
    weights = {
        c: round(opts.weights[c] / total_w, 4) if c in applicable else 0.0 for c in COMPONENTS
    }
    return RecommendationResult(
        campaign=campaign,
        budget=budget,
        weights=weights,
        not_applicable=not_applicable,
        candidates=considered,
        items=items[: opts.limit],
    )


def _components(
    r: Any,
    target: Target,
    budget: BudgetView,
    campaign: Campaign,
    stats: PastStats | None,
    applicable: set[str],
    opts: Options,
) -> list[Component]:
    out: list[Component] = []

    def add(name: str, value: float | None, has_data: bool, detail: str) -> None:
        if name not in applicable:
            out.append(Component(name, None, 0.0, False, "not applicable: " + detail))
            return
        if value is None:
            out.append(Component(name, NEUTRAL, 0.0, False, detail + " (no data: neutral 0.5)"))
            return
        out.append(Component(name, max(0.0, min(1.0, float(value))), 0.0, has_data, detail))

    # niche
    if target.interests:
        niches = {str(n).lower() for n in (r["niches"] or [])}
        hits = [t for t in target.interests if t in niches]
        add(
            "niche",
            r["c_niche"],
            True,
            f"matches {len(hits)} of {len(target.interests)} target interests"
            + (f": {', '.join(hits)}" if hits else ""),
        )
    else:
        add("niche", None, False, "the campaign has no target interests")

    # audience
    if target.has_audience:
        parts = []
        for key, label in (
            ("d_age", f"aged {target.age_label}"),
            ("d_gender", "/".join(target.genders)),
            ("d_country", "in " + "/".join(target.countries)),
            ("d_language", "speaking " + "/".join(target.languages)),
        ):
            if r[key] is not None:
                parts.append(f"{_pct(float(r[key]))} {label}")
        detail = "audience " + ", ".join(parts) if parts else "no audience breakdown"
        add("audience", r["c_audience"], bool(parts), detail)
    else:
        add("audience", None, False, "the campaign has no target audience")

    # engagement vs benchmark
    er, bench = r["engagement_rate"], r["bench_rate"]
    if er is not None and bench:
        detail = (
            f"engagement rate {_pct(er)} is {er / bench:.2f}x the {r['tier']} {r['platform']} "
            f"benchmark of {_pct(bench)} ({r['bench_source']})"
        )
    else:
        detail = "engagement rate not computed yet"
    add("engagement", r["c_engagement"], er is not None, detail)

    # authenticity
    auth = r["authenticity_score"]
    codes = [x.get("code") for x in (r["authenticity_reasons"] or [])]
    add(
        "authenticity",
        r["c_authenticity"],
        auth is not None,
        f"authenticity {auth}/100" + (f" ({', '.join(codes)})" if codes else "")
        if auth is not None
        else "authenticity not computed yet",
    )

    # sponsored saturation
    sp = r["sponsored_share"]
    add(
        "sponsored",
        r["c_sponsored"],
        sp is not None,
        f"{_pct(float(sp))} of recent posts sponsored (free up to {_pct(SPONSORED_FREE)}, "
        f"saturated at {_pct(SPONSORED_SATURATED)})"
        if sp is not None
        else "sponsored share unknown",
    )

    # past performance
    if stats is None:
        out.append(
            Component(
                "past_performance", None, 0.0, False, "no earlier collaborations with this brand"
            )
        )
    else:
        value, detail = past_score(stats, campaign.currency)
        if value is None:
            out.append(Component("past_performance", None, 0.0, False, detail))
        else:
            out.append(Component("past_performance", value, 0.0, True, detail))

    # cost fit
    if "cost" in applicable:
        price = r["price"]
        kind = opts.deliverable_type or "cheapest listed deliverable"
        if r["c_cost"] is not None:
            detail = (
                f"rate {price} ({kind}) vs remaining budget {budget.remaining_minor} "
                f"{campaign.currency} minor units"
            )
        elif price is not None and r["rate_currency"] != campaign.currency:
            detail = f"rate card in {r['rate_currency']}, campaign in {campaign.currency}"
        else:
            detail = f"no rate card price ({kind})"
        add("cost", r["c_cost"], r["c_cost"] is not None, detail)
    else:
        add("cost", None, False, "the campaign has no budget")
    return out
