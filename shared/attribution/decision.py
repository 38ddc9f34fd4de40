"""The attribution decision: given an order and the evidence it carries, which collaboration
earns it, and why every other candidate did not. A pure function of its inputs (the service
fetches the evidence in bulk), so it is cheap, deterministic and testable without a database.

Eligibility, for every candidate collaboration:
- the collaboration is contracted, active or completed (prospects and declined or cancelled
  collaborations earn nothing), in a campaign that is active, paused or completed;
- its campaign's policy uses the rule that found it;
- clicks fall inside the campaign's window before the order (and not after it, beyond
  CLICK_SKEW of clock difference);
- promo codes are active and not site-wide (generic);
- self-referral guard: an order whose e-mail hash is the influencer's own earns nothing.

Among the eligible, the winner has the lowest (rule position in its campaign's policy,
default rule order, tie-break); the tie-break is the code's position on the order for promo
codes, and the click time for clicks (latest first under last_click, earliest under
first_click).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.attribution.policy import DEFAULT_RULES, Model, Policy, Rule

EARNING_COLLABORATION_STATUSES = frozenset({"contracted", "active", "completed"})
EARNING_CAMPAIGN_STATUSES = frozenset({"active", "paused", "completed"})
CLICK_SKEW = timedelta(minutes=5)  # a click "after" the order by less is clock difference
MAX_TOUCH_CANDIDATES = 20  # clicks by the same shopper listed in a decision, at most

WON = "won"
LOST = "lost"
INELIGIBLE = "ineligible"


@dataclass(frozen=True, slots=True)
class CollabInfo:
    id: uuid.UUID
    brand_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    status: str
    campaign_status: str
    policy: Policy
    influencer_email_hash: str | None
    commission_bps: int | None
    commission_fixed_minor: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class PromoMatch:
    code: str  # as the brand stored it
    collaboration_id: uuid.UUID
    active: bool
    generic: bool


@dataclass(frozen=True, slots=True)
class ClickRef:
    link_id: uuid.UUID
    clicked_at: datetime
    via: str  # click_id | customer (earlier order) | email (earlier order) | visitor (IP+UA)
    click_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    placed_at: datetime
    currency: str
    discount_codes: tuple[str, ...]
    click_id: str | None
    email_hash: str | None


@dataclass(slots=True)
class Evidence:
    promos: dict[str, PromoMatch] = field(default_factory=dict)  # lower(code) -> match
    click: ClickRef | None = None  # the order's own verified click id
    click_forged: bool = False
    touches: list[ClickRef] = field(default_factory=list)  # same-shopper clicks
    links: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = field(
        default_factory=dict
    )  # link id -> (brand id, collaboration id)
    collabs: dict[uuid.UUID, CollabInfo] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    winner: CollabInfo | None
    rule: Rule | None
    model: Model | None
    summary: str
    candidates: list[dict[str, Any]]
    policy: dict[str, Any] | None
    commission_bps: int | None
    commission_fixed_minor: int | None


@dataclass(slots=True)
class _Candidate:
    rule: Rule
    evidence: dict[str, Any]
    collab: CollabInfo | None
    collaboration_id: uuid.UUID | None
    clicked_at: datetime | None = None
    position: int = 0  # promo codes: index on the order
    outcome: str = LOST
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        c = self.collab
        return {
            "collaboration_id": str(self.collaboration_id) if self.collaboration_id else None,
            "campaign_id": str(c.campaign_id) if c else None,
            "influencer_id": str(c.influencer_id) if c else None,
            "rule": self.rule.value,
            "evidence": self.evidence,
            "outcome": self.outcome,
            "reason": self.reason,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.1f}"


def decide(order: OrderFacts, ev: Evidence, *, brand_id: uuid.UUID) -> Decision:
    candidates: list[_Candidate] = []

    # promo codes, in the order the shopper entered them
    for position, code in enumerate(order.discount_codes):
        match = ev.promos.get(code.lower())
        evidence = {"code": code}
        if match is None:
            candidates.append(
                _Candidate(
                    Rule.PROMO_CODE,
                    evidence,
                    None,
                    None,
                    position=position,
                    outcome=INELIGIBLE,
                    reason="Not a promo code of this brand.",
                )
            )
            continue
        collab = ev.collabs.get(match.collaboration_id)
        cand = _Candidate(
            Rule.PROMO_CODE, evidence, collab, match.collaboration_id, position=position
        )
        if match.generic or (collab is not None and code.lower() in collab.policy.generic_codes):
            cand.outcome = INELIGIBLE
            cand.reason = (
                "Site-wide (generic) code: it earns no credit and does not block credit "
                "from a link."
            )
        elif not match.active:
            cand.outcome = INELIGIBLE
            cand.reason = f"The promo code {match.code!r} is inactive."
        candidates.append(cand)

    # the order's own click id
    if order.click_id is not None and (ev.click is not None or ev.click_forged):
        if ev.click is None:
            candidates.append(
                _Candidate(
                    Rule.CLICK_ID,
                    {"click_id": order.click_id},
                    None,
                    None,
                    outcome=INELIGIBLE,
                    reason="The click id failed verification (forged, altered, or not issued "
                    "by this Vouch installation).",
                )
            )
        else:
            candidates.append(_click_candidate(Rule.CLICK_ID, ev.click, ev, brand_id))

    # clicks by the same shopper (only when no genuine click id came through)
    touches = _collapse_touches(ev, order)
    for touch in touches:
        candidates.append(_click_candidate(Rule.LAST_CLICK, touch, ev, brand_id))

    for cand in candidates:
        if cand.outcome != INELIGIBLE:
            _check_eligible(cand, order)

    eligible = [c for c in candidates if c.outcome != INELIGIBLE]
    winner = min(eligible, key=lambda c: _rank(c, eligible), default=None)
    if winner is not None:
        winner.outcome = WON
        assert winner.collab is not None
        winner.reason = _won_reason(winner)
        for cand in eligible:
            if cand is not winner:
                cand.outcome = LOST
                cand.reason = _lost_reason(cand, winner)
    ordered = sorted(
        candidates,
        key=lambda c: (
            {WON: 0, LOST: 1, INELIGIBLE: 2}[c.outcome],
            _rank(c, eligible) if c.outcome != INELIGIBLE else (99, 99, 0.0),
        ),
    )
    return _decision(order, winner, ordered)


def _click_candidate(rule: Rule, click: ClickRef, ev: Evidence, brand_id: uuid.UUID) -> _Candidate:
    evidence: dict[str, Any] = {
        "link_id": str(click.link_id),
        "clicked_at": _iso(click.clicked_at),
        "via": click.via,
    }
    if click.click_id:
        evidence["click_id"] = click.click_id
    link = ev.links.get(click.link_id)
    if link is None or link[0] != brand_id:
        return _Candidate(
            rule,
            evidence,
            None,
            None,
            clicked_at=click.clicked_at,
            outcome=INELIGIBLE,
            reason="The clicked link no longer exists in this brand.",
        )
    collab_id = link[1]
    return _Candidate(
        rule, evidence, ev.collabs.get(collab_id), collab_id, clicked_at=click.clicked_at
    )


def _collapse_touches(ev: Evidence, order: OrderFacts) -> list[ClickRef]:
    """One click per collaboration: the one its model would credit (latest under last_click,
    earliest under first_click), among clicks inside its window; else the nearest outside."""
    if ev.click is not None:
        return []
    by_collab: dict[uuid.UUID | None, list[ClickRef]] = {}
    for touch in ev.touches:
        link = ev.links.get(touch.link_id)
        by_collab.setdefault(link[1] if link else None, []).append(touch)
    chosen: list[ClickRef] = []
    for collab_id, touches in by_collab.items():
        collab = ev.collabs.get(collab_id) if collab_id else None
        window = timedelta(days=collab.policy.window_days) if collab else timedelta(days=30)
        inside = [
            t
            for t in touches
            if order.placed_at - window <= t.clicked_at <= order.placed_at + CLICK_SKEW
        ]
        pool = inside or touches
        first = collab is not None and collab.policy.model == Model.FIRST_CLICK and inside
        chosen.append(
            min(pool, key=lambda t: t.clicked_at)
            if first
            else max(pool, key=lambda t: t.clicked_at)
        )
    chosen.sort(key=lambda t: t.clicked_at, reverse=True)
    return chosen[:MAX_TOUCH_CANDIDATES]


def _check_eligible(cand: _Candidate, order: OrderFacts) -> None:
    collab = cand.collab
    if collab is None:
        cand.outcome = INELIGIBLE
        cand.reason = "The collaboration no longer exists."
        return
    policy = collab.policy
    if collab.status not in EARNING_COLLABORATION_STATUSES:
        cand.outcome = INELIGIBLE
        cand.reason = (
            f"The collaboration is {collab.status}; only contracted, active or completed "
            "collaborations earn."
        )
    elif collab.campaign_status not in EARNING_CAMPAIGN_STATUSES:
        cand.outcome = INELIGIBLE
        cand.reason = f"The campaign is {collab.campaign_status}; it does not credit orders."
    elif policy.rank(cand.rule) is None:
        cand.outcome = INELIGIBLE
        cand.reason = f"The campaign's attribution policy does not use the {cand.rule} rule."
    elif cand.clicked_at is not None and cand.clicked_at > order.placed_at + CLICK_SKEW:
        cand.outcome = INELIGIBLE
        cand.reason = "The click came after the order."
    elif cand.clicked_at is not None and cand.clicked_at < order.placed_at - timedelta(
        days=policy.window_days
    ):
        age = order.placed_at - cand.clicked_at
        cand.outcome = INELIGIBLE
        cand.reason = (
            f"The click was {_days(age)} days before the order, outside the campaign's "
            f"{policy.window_days}-day window."
        )
    elif (
        policy.self_referral_guard
        and order.email_hash is not None
        and order.email_hash == collab.influencer_email_hash
    ):
        cand.outcome = INELIGIBLE
        cand.reason = "Self-referral: the order was placed with the influencer's own e-mail."


def _model_for(cand: _Candidate, eligible: list[_Candidate]) -> Model:
    """Clicks of one rule compare under one model: their campaigns' shared model, or
    last_click when their campaigns disagree."""
    models = {
        c.collab.policy.model for c in eligible if c.rule == cand.rule and c.collab is not None
    }
    return models.pop() if len(models) == 1 else Model.LAST_CLICK


def _rank(cand: _Candidate, eligible: list[_Candidate]) -> tuple[int, int, float]:
    assert cand.collab is not None
    position = cand.collab.policy.rank(cand.rule)
    default = DEFAULT_RULES.index(cand.rule)
    if cand.clicked_at is not None:
        stamp = cand.clicked_at.timestamp()
        tie = stamp if _model_for(cand, eligible) == Model.FIRST_CLICK else -stamp
    else:
        tie = float(cand.position)
    return (position if position is not None else 99, default, tie)


def _won_reason(winner: _Candidate) -> str:
    if winner.rule == Rule.PROMO_CODE:
        return f"The order used the collaboration's promo code {winner.evidence['code']!r}."
    if winner.rule == Rule.CLICK_ID:
        return "The order carried a verified click id from the collaboration's link."
    assert winner.collab is not None
    model = "latest" if winner.collab.policy.model == Model.LAST_CLICK else "earliest"
    return (
        f"The same shopper clicked the collaboration's link ({winner.evidence['via']}); it is "
        f"the {model} click within the {winner.collab.policy.window_days}-day window."
    )


def _lost_reason(cand: _Candidate, winner: _Candidate) -> str:
    if cand.collaboration_id == winner.collaboration_id:
        return f"Same collaboration, already credited through the {winner.rule} rule."
    if cand.rule != winner.rule:
        return (
            f"Outranked: the {winner.rule} rule comes before {cand.rule} in the campaign policies."
        )
    if cand.rule == Rule.PROMO_CODE:
        return "Outranked: another promo code came first on the order."
    assert winner.collab is not None
    if winner.clicked_at is not None and cand.clicked_at is not None:
        later = winner.clicked_at > cand.clicked_at
        return f"Outranked: the winning click was {'later' if later else 'earlier'}."
    return "Outranked."


def _decision(order: OrderFacts, winner: _Candidate | None, ordered: list[_Candidate]) -> Decision:
    candidates = [c.as_dict() for c in ordered]
    if winner is None or winner.collab is None:
        summary = (
            "No credit: nothing on the order pointed at an eligible collaboration."
            if ordered
            else "No credit: the order carried no promo code, click id or recent click."
        )
        return Decision(None, None, None, summary, candidates, None, None, None)
    collab = winner.collab
    bps = collab.commission_bps or None
    fixed = collab.commission_fixed_minor or None
    summary = f"Credited to collaboration {collab.id} by the {winner.rule} rule. {winner.reason}"
    if fixed is not None and collab.currency != order.currency:
        summary += (
            f" The fixed per-order commission is in {collab.currency} and the order in "
            f"{order.currency}: without a currency conversion it is not applied."
        )
        fixed = None
    return Decision(
        winner=collab,
        rule=winner.rule,
        model=collab.policy.model,
        summary=summary,
        candidates=candidates,
        policy=collab.policy.as_dict(),
        commission_bps=bps,
        commission_fixed_minor=fixed,
    )
