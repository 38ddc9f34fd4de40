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

Speed: scoring reads account_features (shared/models/engagement.py), one narrow row per
account that PostgreSQL triggers keep exact in every writer's transaction: the joins are
done and the JSONB audience and rate card already extracted, so no per-account work happens
at request time. One statement scores every candidate account from it in float8 arithmetic,
keeps the top CANDIDATES x ACCOUNTS_PER_CANDIDATE rows and spells out their components;
past performance (orders, clicks, ledger) is then computed for each influencer's best
account (CANDIDATES at most) and the final order settled in Python. On bench/engagement.py's
roster of 50,000 accounts the statement takes about 70 ms on one core (about 40 ms when
PostgreSQL adds a parallel worker), and a whole request about 70 ms in-process (p50; 330 ms
when the statement joined the source tables).
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
from shared.influencers import rules
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
# Scoring reads account_features alone: one narrow row per account, kept exact by triggers
# (shared/models/engagement.py AccountFeatures). Every literal and parameter is float8, so no
# numeric arithmetic runs per row, and the values are the stored shares and rates exactly.
_AGE_INDEX = {bucket: n + 1 for n, bucket in enumerate(rules.AGE_BUCKETS)}  # 1-based
_GENDER_INDEX = {gender: n + 1 for n, gender in enumerate(rules.GENDERS)}
_PRICE_INDEX = {t.value: n + 1 for n, t in enumerate(DeliverableType)}


def _f8(value: float) -> str:
    """A float8 literal (repr round-trips: exactly the Python float)."""
    return f"{float(value)!r}::float8"


@dataclass(frozen=True, slots=True)
class _Dimension:
    column: str  # of account_features; NULL when the account has no such distribution
    total: str  # SQL: the percent of the audience inside the target (never NULL)

    def share(self, empty: str) -> str:
        """min(1, total / 100), or `empty` for an account without this distribution."""
        return (
            f"(CASE WHEN f.{self.column} IS NULL THEN {empty} "
            f"ELSE least({_f8(1)}, ({self.total}) / {_f8(100)}) END)"
        )


def _dimensions(target: Target, params: dict[str, Any]) -> dict[str, _Dimension]:
    dims: dict[str, _Dimension] = {}
    if target.age_weights:
        dims["d_age"] = _Dimension(
            "age",
            " + ".join(
                f"f.age[{_AGE_INDEX[bucket]}]" + ("" if w == 1 else f" * {_f8(w)}")
                for bucket, w in target.age_weights.items()
            ),
        )
    if target.genders:
        # Target genders are validated against rules.GENDERS; any other matches no one.
        dims["d_gender"] = _Dimension(
            "gender",
            " + ".join(
                f"f.gender[{_GENDER_INDEX[g]}]" if g in _GENDER_INDEX else _f8(0)
                for g in target.genders
            ),
        )
    for name, column, keys, prefix in (
        ("d_country", "countries", target.countries, "c"),
        ("d_language", "languages", target.languages, "l"),
    ):
        if keys:
            parts = []
            for n, key in enumerate(keys):
                params[f"{prefix}{n}"] = key
                parts.append(f"coalesce((f.{column} ->> :{prefix}{n})::float8, {_f8(0)})")
            dims[name] = _Dimension(column, " + ".join(parts))
    return dims


def _engagement_sql(
    benches: dict[tuple[str, str], Any], opts: Options, params: dict[str, Any]
) -> str:
    """Engagement rate / the benchmark of the account's (platform, tier) cell, halved and
    capped; NULL without a rate or for a cell whose benchmark is not > 0, and 0 for a cell
    missing from `benches` (none is: benchmarks_of lists every cell). The cells the filters
    leave, 40 at most, are a CASE: a few text comparisons per row, cheaper than a join."""
    er = "f.engagement_rate"
    platforms: dict[str, list[str]] = {}
    for n, ((platform, tier), bench) in enumerate(benches.items()):
        if (opts.platform and platform != opts.platform) or (opts.tier and tier != opts.tier):
            continue
        params[f"bt{n}"] = tier
        if bench.rate > 0:
            params[f"br{n}"] = float(bench.rate)
            value = f"least({_f8(1)}, greatest({_f8(0)}, {er} / CAST(:br{n} AS float8) / {_f8(2)}))"
        else:
            value = "NULL::float8"
        platforms.setdefault(platform, []).append(f"WHEN CAST(:bt{n} AS text) THEN {value}")
    whens = []
    for n, (platform, cells) in enumerate(platforms.items()):
        params[f"bp{n}"] = platform
        whens.append(
            f"WHEN CAST(:bp{n} AS text) THEN CASE f.tier {' '.join(cells)} ELSE {_f8(0)} END"
        )
    rated = f"CASE f.platform {' '.join(whens)} ELSE {_f8(0)} END" if whens else _f8(0)
    return f"(CASE WHEN {er} IS NULL THEN NULL ELSE {rated} END)"


def _weighted(values: dict[str, str], weights: dict[str, float], applicable: set[str]) -> str:
    used = [c for c in values if c in applicable and weights[c] > 0]
    total = sum(weights[c] for c in used) or 1.0
    return " + ".join(
        f"{_f8(weights[c] / total)} * coalesce({values[c]}, {_f8(NEUTRAL)})" for c in used
    ) or _f8(0)


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


# Two stages in one statement. The inner query scores every candidate account in one pass
# over account_features and keeps the top rows by the preliminary score: only narrow rows
# (ids, followers, score) reach the top-N sort, and each per-row value is written once in
# the score, so nothing needs fencing. The outer query reads the kept rows again by key and
# spells out each component for them alone. Display columns are fetched afterwards.
_QUERY = """
SELECT t.account_id, t.influencer_id, t.followers, t.prelim,
       {price} AS price, {in_campaign} AS in_campaign, f.rate_currency,
       f.engagement_rate, f.authenticity_score, f.sponsored_share,
       {d_age} AS d_age, {d_gender} AS d_gender, {d_country} AS d_country,
       {d_language} AS d_language,
       {c_niche} AS c_niche, {c_audience} AS c_audience, {c_engagement} AS c_engagement,
       {c_authenticity} AS c_authenticity, {c_sponsored} AS c_sponsored, {c_cost} AS c_cost
FROM (
  SELECT f.account_id, f.influencer_id, f.followers, ({prelim}) AS prelim
  FROM account_features f
  WHERE f.brand_id = :brand AND f.active {filters}
  ORDER BY prelim DESC, f.followers DESC, f.account_id
  LIMIT :accounts
) t
JOIN account_features f ON f.account_id = t.account_id
ORDER BY t.prelim DESC, t.followers DESC, t.account_id
"""

_COUNT = """
SELECT count(*) FROM account_features f WHERE f.brand_id = :brand AND f.active {filters}
"""

_DETAILS = text(
    """
SELECT a.id AS account_id, a.platform, a.handle, a.tier, i.name, i.niches,
       s.authenticity_reasons
FROM social_accounts a
JOIN influencers i ON i.id = a.influencer_id
LEFT JOIN account_signals s ON s.account_id = a.id
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
    params: dict[str, Any] = {"brand": brand_id}
    # The campaign's members, fetched beforehand (a few): a per-row EXISTS costs an index
    # probe per account.
    params["members"] = members
    in_campaign = "(f.influencer_id = ANY(CAST(:members AS uuid[])))"
    filters = ""
    if not opts.include_existing:
        filters += f" AND NOT {in_campaign}"
        in_campaign = "false"
    if opts.platform:
        filters += " AND f.platform = :platform"
        params["platform"] = opts.platform
    if opts.tier:
        filters += " AND f.tier = :tier"
        params["tier"] = opts.tier
    if opts.deliverable_type:
        k = _PRICE_INDEX.get(opts.deliverable_type)
        price = f"f.prices[{k}]" if k else "NULL::bigint"
    else:
        price = "f.price_min"
    if target.interests:
        hits = []
        for n, interest in enumerate(target.interests):
            params[f"n{n}"] = interest
            # = ANY is NULL, not false, on a miss in an array holding a NULL: coalesce.
            hits.append(f"coalesce(CAST(:n{n} AS text) = ANY(f.niches), false)::int")
        niche = f"({' + '.join(hits)})::float8 / {_f8(len(target.interests))}"
    else:
        niche = "NULL::float8"
    dims = _dimensions(target, params)
    if dims:
        # The mean over the dimensions the account has data for; NULL when it has none.
        audience = (
            "("
            + " + ".join(d.share(empty=_f8(0)) for d in dims.values())
            + ") / nullif("
            + " + ".join(f"(f.{d.column} IS NOT NULL)::int" for d in dims.values())
            + ", 0)"
        )
    else:
        audience = "NULL::float8"
    remaining = budget.remaining_minor
    if "cost" in applicable and remaining is not None:
        params["currency"] = campaign.currency
        if remaining <= 0:
            fit = _f8(0)
        else:
            params["remaining"] = float(remaining)
            params["span"] = (1 - COST_GOOD) * float(remaining)
            fit = (
                f"least({_f8(1)}, greatest({_f8(0)}, "
                f"(CAST(:remaining AS float8) - {price}) / CAST(:span AS float8)))"
            )
        cost = (
            f"(CASE WHEN f.rate_currency IS DISTINCT FROM :currency OR {price} IS NULL "
            f"THEN NULL ELSE {fit} END)"
        )
    else:
        cost = "NULL::float8"
    engagement = _engagement_sql(benches, opts, params)
    authenticity = f"(f.authenticity_score / {_f8(100)})"
    # least/greatest skip NULLs: guard first.
    sponsored = (
        f"(CASE WHEN f.sponsored_share IS NULL THEN NULL ELSE {_f8(1)} - least({_f8(1)}, "
        f"greatest({_f8(0)}, (f.sponsored_share - {_f8(SPONSORED_FREE)}) / "
        f"{_f8(SPONSORED_SATURATED - SPONSORED_FREE)})) END)"
    )
    prelim = _weighted(
        {
            "niche": niche,
            "audience": audience,
            "engagement": engagement,
            "authenticity": authenticity,
            "sponsored": sponsored,
            "cost": cost,
        },
        opts.weights,
        applicable - {"past_performance"},
    )
    no_dim = "NULL::float8"
    sql = _QUERY.format(
        prelim=prelim,
        filters=filters,
        price=price,
        in_campaign=in_campaign,
        d_age=dims["d_age"].share(empty="NULL") if "d_age" in dims else no_dim,
        d_gender=dims["d_gender"].share(empty="NULL") if "d_gender" in dims else no_dim,
        d_country=dims["d_country"].share(empty="NULL") if "d_country" in dims else no_dim,
        d_language=dims["d_language"].share(empty="NULL") if "d_language" in dims else no_dim,
        c_niche=niche,
        c_audience=audience,
        c_engagement=engagement,
        c_authenticity=authenticity,
        c_sponsored=sponsored,
        c_cost=cost,
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
    # Plan the two scans for this brand's actual row count. Prepared statements otherwise
    # switch to a generic plan after five runs, which guesses the brand's share of the table
    # from the number of brands and may pick an index scan over most of it (2x slower).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
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
    details = await session.execute(_DETAILS, {"ids": [r["account_id"] for r in rows]})
    by_account = {d["account_id"]: d for d in details.mappings()}
    for row in rows:
        row.update(by_account[row["account_id"]])
        bench = benches.get((row["platform"], row["tier"]))
        row["bench_rate"] = bench.rate if bench is not None else None
        row["bench_source"] = bench.source if bench is not None else None
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
