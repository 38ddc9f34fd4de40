"""Query filters on engagement signals and audience shares, shared by
`GET /v1/discovery/accounts` and `GET /v1/influencers`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Depends, Query

from shared.engagement.repository import DiscoveryFilters

AgeBucket = Literal["13-17", "18-24", "25-34", "35-44", "45-54", "55+"]


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


def signal_filters(
    min_engagement_rate: Annotated[
        float | None, Query(ge=0, le=10, description="Fraction: 0.03 = 3%.")
    ] = None,
    max_engagement_rate: Annotated[float | None, Query(ge=0, le=10)] = None,
    min_authenticity: Annotated[int | None, Query(ge=0, le=100)] = None,
    max_sponsored_share: Annotated[float | None, Query(ge=0, le=1)] = None,
    audience_country: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2.")
    ] = None,
    min_country_share: Annotated[
        float | None, Query(ge=0, le=100, description="Percent of the audience.")
    ] = None,
    audience_age: Annotated[AgeBucket | None, Query(description="An age bucket.")] = None,
    min_age_share: Annotated[
        float | None, Query(ge=0, le=100, description="e.g. 40 with audience_age=18-24.")
    ] = None,
    audience_gender: Annotated[Gender | None, Query()] = None,
    min_gender_share: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> DiscoveryFilters:
    """Engagement and audience filters (also taken by `GET /v1/influencers`, where they
    apply to one account together with platform/tier/followers)."""
    return DiscoveryFilters(
        min_engagement_rate=min_engagement_rate,
        max_engagement_rate=max_engagement_rate,
        min_authenticity=min_authenticity,
        max_sponsored_share=max_sponsored_share,
        audience_country=audience_country.upper() if audience_country else None,
        min_country_share=min_country_share,
        audience_age=audience_age,
        min_age_share=min_age_share,
        audience_gender=audience_gender.value if audience_gender else None,
        min_gender_share=min_gender_share,
    )


SignalFiltersDep = Annotated[DiscoveryFilters, Depends(signal_filters)]
