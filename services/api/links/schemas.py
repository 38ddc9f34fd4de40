from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from services.api.schemas import RequestModel, ResponseModel
from shared.models.enums import DeviceClass, LinkStatus

Url = Annotated[str, Field(min_length=1, max_length=2048)]
UtmValue = Annotated[str, Field(min_length=1, max_length=200)]

_URL_DOC = (
    "http(s) URL whose host is one of the brand's allowed destination domains (or a "
    "subdomain of one); anything else is refused so a link can never be an open redirect."
)


class UtmParams(RequestModel):
    """UTM parameters to set on the link; `null` removes one (a default included)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"utm_content": "reel-1", "utm_term": None}]}
    )

    utm_source: UtmValue | None = None
    utm_medium: UtmValue | None = None
    utm_campaign: UtmValue | None = None
    utm_content: UtmValue | None = None
    utm_term: UtmValue | None = None


class LinkCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "collaboration_id": "0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
                    "destination_url": "https://shop.example.com/products/trail-shoe",
                    "code": "anna-trail",
                    "utm": {"utm_content": "reel-1"},
                    "click_cap": 5000,
                    "fallback_url": "https://shop.example.com/sold-out",
                }
            ]
        }
    )

    collaboration_id: uuid.UUID = Field(description="A collaboration of the caller's brand.")
    destination_url: Url = Field(description=_URL_DOC)
    code: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{3,64}$",
        description="Vanity code (3-64 of A-Z a-z 0-9 _ -), case-sensitive and unique across "
        "all brands. Omit for a generated 8-character code.",
        examples=["anna-trail"],
    )
    utm: UtmParams | None = Field(
        None,
        description="Overrides of the defaults: utm_source = platform of the influencer's "
        "most-followed account ('influencer' if none), utm_medium = 'influencer', "
        "utm_campaign = campaign slug, utm_content = that account's handle. Stored with the "
        "link: later renames do not change it.",
    )
    destination_utm_wins: bool = Field(
        False, description="True: UTM parameters already on destination_url are kept."
    )
    status: LinkStatus = LinkStatus.ACTIVE
    expires_at: AwareDatetime | None = Field(
        None, description="After this instant /r/{code} answers 410 Gone."
    )
    click_cap: int | None = Field(
        None, ge=1, description="After this many clicks followers go to fallback_url."
    )
    fallback_url: Url | None = Field(None, description="Required with click_cap. " + _URL_DOC)


class LinkUpdate(RequestModel):
    """Only the fields sent change. `null` clears expires_at, click_cap and fallback_url."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "disabled"}, {"expires_at": None}]}
    )

    destination_url: Url | None = Field(None, description=_URL_DOC)
    utm: UtmParams | None = Field(None, description="Merged into the link's UTM parameters.")
    destination_utm_wins: bool | None = None
    status: LinkStatus | None = Field(None, description="`disabled`: /r/{code} answers 404.")
    expires_at: AwareDatetime | None = None
    click_cap: int | None = Field(None, ge=1)
    fallback_url: Url | None = None

    @field_validator("destination_url", "utm", "destination_utm_wins", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # These may be left out but not cleared: an explicit null is a 422 naming the field.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class Link(ResponseModel):
    id: uuid.UUID
    collaboration_id: uuid.UUID
    code: str = Field(examples=["anna-trail"])
    short_url: str = Field(
        description="The public URL to share: {public_url}/r/{code}.",
        examples=["https://go.example.com/r/anna-trail"],
    )
    destination_url: str
    resolved_destination: str = Field(
        description="Where the short URL redirects (destination with UTM parameters merged; "
        "the redirect also appends vclid=<click id>)."
    )
    utm: dict[str, str]
    destination_utm_wins: bool
    status: LinkStatus
    expires_at: datetime | None
    click_cap: int | None
    fallback_url: str | None
    created_at: datetime
    updated_at: datetime


class DayStats(ResponseModel):
    date: date
    clicks: int
    unique_clicks: int
    bot_clicks: int


class ReferrerStats(ResponseModel):
    referrer_domain: str | None = Field(description="null: no referrer (direct, apps).")
    clicks: int
    unique_clicks: int


class CountryStats(ResponseModel):
    country: str | None = Field(description="ISO 3166-1 alpha-2; null: unknown.")
    clicks: int
    unique_clicks: int


class DeviceStats(ResponseModel):
    device: DeviceClass
    clicks: int
    unique_clicks: int


class LinkStats(ResponseModel):
    link_id: uuid.UUID
    from_: date = Field(serialization_alias="from", description="First day, inclusive.")
    to: date = Field(description="Last day, inclusive.")
    timezone: str = Field(description="The brand's time zone: days are local to it.")
    clicks: int = Field(description="Human clicks (bots excluded).")
    unique_clicks: int = Field(description="One per visitor per link per hour (bots excluded).")
    bot_clicks: int = Field(description="Clicks flagged as bots, link-preview fetchers included.")
    by_day: list[DayStats] = Field(description="Every day of the window, zeros included.")
    by_referrer: list[ReferrerStats] = Field(description="Top 100 by clicks.")
    by_country: list[CountryStats]
    by_device: list[DeviceStats]
