from __future__ import annotations

import uuid

from pydantic import Field

from services.api.schemas import ResponseModel
from shared.engagement.recommendations import Recommendation as RecommendationRow
from shared.engagement.recommendations import RecommendationResult


class ComponentScore(ResponseModel):
    value: float | None = Field(
        description="0..1; null when not applicable (left out of the score)."
    )
    weight: float = Field(description="Share of the score (weights of a row sum to 1).")
    points: float = Field(description="value x weight x 100: what it added to the score.")
    has_data: bool = Field(description="false: neutral 0.5 for lack of data, or not applicable.")
    detail: str = Field(description="The numbers behind the value, in words.")


class Recommendation(ResponseModel):
    influencer_id: uuid.UUID
    name: str
    account_id: uuid.UUID = Field(description="The influencer's best-fitting account.")
    platform: str
    handle: str
    followers: int
    tier: str
    in_campaign: bool
    score: float = Field(description="0-100, the sum of the breakdown's points.")
    breakdown: dict[str, ComponentScore] = Field(
        description="niche, audience, engagement, authenticity, sponsored, past_performance, cost."
    )

    @classmethod
    def of(cls, r: RecommendationRow) -> Recommendation:
        return cls(
            influencer_id=r.influencer_id,
            name=r.name,
            account_id=r.account_id,
            platform=r.platform,
            handle=r.handle,
            followers=r.followers,
            tier=r.tier,
            in_campaign=r.in_campaign,
            score=r.score,
            breakdown={
                c.name: ComponentScore(
                    value=None if c.value is None else round(c.value, 4),
                    weight=round(c.weight, 4),
                    points=round(c.points, 2),
                    has_data=c.has_data,
                    detail=c.detail,
                )
                for c in r.components
            },
        )


class Recommendations(ResponseModel):
    campaign_id: uuid.UUID
    weights: dict[str, float] = Field(
        description="The weights used, normalised over the applicable components (past "
        "performance shares in per row where there is a history)."
    )
    not_applicable: dict[str, str] = Field(description="Components left out, and why.")
    remaining_budget_minor: int | None
    currency: str
    candidates: int = Field(description="Accounts scored.")
    items: list[Recommendation]

    @classmethod
    def of(cls, result: RecommendationResult) -> Recommendations:
        return cls(
            campaign_id=result.campaign.id,
            weights=result.weights,
            not_applicable=result.not_applicable,
            remaining_budget_minor=result.budget.remaining_minor,
            currency=result.campaign.currency,
            candidates=result.candidates,
            items=[Recommendation.of(r) for r in result.items],
        )
