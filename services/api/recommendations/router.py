"""`GET /v1/campaigns/{id}/recommendations`: explainable campaign-fit ranking."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import Reader, SessionDep
from services.api.errors import problem_responses
from services.api.recommendations import schemas
from shared.engagement.recommendations import (
    DEFAULT_WEIGHTS,
    MAX_LIMIT,
    Options,
    normalise_weights,
    recommend,
)
from shared.models.enums import DeliverableType, Platform, Tier

router = APIRouter(
    prefix="/v1", tags=["recommendations"], responses=problem_responses(401, 403, 422)
)

Weight = Annotated[float | None, Query(ge=0, le=100)]
_DEFAULTS = ", ".join(f"{k} {v}" for k, v in DEFAULT_WEIGHTS.items())


@router.get(
    "/campaigns/{campaign_id}/recommendations",
    response_model=schemas.Recommendations,
    summary="Influencers ranked for a campaign, with the breakdown of each score",
    description="Each influencer's best-fitting account, scored 0-100 as the weighted mean of: "
    "niche relevance (target interests), audience match (share of the audience in the "
    "target ages/genders/countries/languages), engagement vs the tier benchmark, "
    "authenticity, sponsored-content saturation, past performance with this brand (conversion, "
    "cost per order, delivery, when there is history) and cost fit (rate card vs remaining "
    f"budget). Default weights: {_DEFAULTS}; override any with `weight_<component>` (relative "
    "weights, normalised). Influencers already in the campaign are left out unless "
    "`include_existing=true`.",
    responses=problem_responses(404),
)
async def recommendations(
    campaign_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    include_existing: Annotated[bool, Query()] = False,
    platform: Annotated[Platform | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    deliverable_type: Annotated[
        DeliverableType | None,
        Query(description="Rate-card price used for cost fit (default: cheapest listed)."),
    ] = None,
    weight_niche: Weight = None,
    weight_audience: Weight = None,
    weight_engagement: Weight = None,
    weight_authenticity: Weight = None,
    weight_sponsored: Weight = None,
    weight_past_performance: Weight = None,
    weight_cost: Weight = None,
) -> schemas.Recommendations:
    weights = normalise_weights(
        {
            "niche": weight_niche,
            "audience": weight_audience,
            "engagement": weight_engagement,
            "authenticity": weight_authenticity,
            "sponsored": weight_sponsored,
            "past_performance": weight_past_performance,
            "cost": weight_cost,
        }
    )
    result = await recommend(
        session,
        principal.brand_id,
        campaign_id,
        Options(
            weights=weights,
            limit=limit,
            include_existing=include_existing,
            platform=platform.value if platform else None,
            tier=tier.value if tier else None,
            deliverable_type=deliverable_type.value if deliverable_type else None,
        ),
    )
    return schemas.Recommendations.of(result)
