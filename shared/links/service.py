"""Tracking links: creation with UTM defaults, codes, the open-redirect guard, caps and expiry,
cache invalidation after commit, and per-link click stats.

Rules:
- A link belongs to a collaboration of the caller's brand (another brand's id is a 404).
- `code` is public and global across brands (/r/{code} carries no brand): generated codes are
  8 characters from a 62-character alphabet (~47.6 bits, drawn with `secrets`); a vanity code
  is taken by whoever inserts it first, enforced by the unique constraint, never by a SELECT.
  Codes never change: they are printed on QR codes and posted in captions.
- Destination and fallback URLs pass `validate_destination` against the brand's allowed
  domains and are stored in its normalised form (ASCII host), so what was checked is exactly
  what the redirect serves.
- UTM parameters are materialised at creation (defaults from the campaign and the influencer's
  primary account, then the caller's overrides) so renaming a campaign or a handle later never
  silently changes a live link.
- Every committed change to a link invalidates the redirect's cache for its code.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.brands.repository import BrandRepository
from shared.db.integrity import constraint_name
from shared.errors import Conflict, InvalidInput
from shared.jobs import after_commit
from shared.links.cache import invalidate_link
from shared.links.repository import (
    LinkCollaborationNotFound,
    LinkContext,
    LinkRepository,
    click_groups,
    link_context,
)
from shared.links.urls import UTM_KEYS, UnsafeDestination, merge_utm, validate_destination
from shared.models import TrackingLink
from shared.models.enums import LinkStatus

CODE_ALPHABET: Final = string.ascii_letters + string.digits
GENERATED_CODE_LENGTH: Final = 8
# 62^8 ~ 2.2e14 codes: a collision is rare enough that a handful of retries never runs out.
MAX_CODE_ATTEMPTS: Final = 5
CODE_CONSTRAINT: Final = "uq_tracking_links_code"

DEFAULT_UTM_MEDIUM: Final = "influencer"
NO_ACCOUNT_SOURCE: Final = "influencer"

STATS_DEFAULT_DAYS: Final = 30
STATS_MAX_DAYS: Final = 366
STATS_MAX_ROWS: Final = 100  # per breakdown (referrers can be many); the largest first


class LinkCodeTaken(Conflict):
    code = "code_taken"
    title = "Code taken"


class LinkHasClicks(Conflict):
    code = "link_has_clicks"
    title = "Link has clicks"


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))


def short_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


def resolved_destination(link: TrackingLink) -> str:
    """Where /r/{code} sends a follower (before the click id is appended)."""
    return merge_utm(link.destination_url, link.utm, destination_wins=link.destination_utm_wins)


def default_utm(ctx: LinkContext) -> dict[str, str]:
    utm = {
        "utm_source": ctx.platform or NO_ACCOUNT_SOURCE,
        "utm_medium": DEFAULT_UTM_MEDIUM,
        "utm_campaign": ctx.campaign_slug,
    }
    if ctx.handle:
        utm["utm_content"] = ctx.handle
    return utm


def apply_utm(base: Mapping[str, Any], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """`base` with `overrides` applied: a value replaces, None (or "") removes the parameter."""
    utm = {k: str(v) for k, v in base.items() if k in UTM_KEYS and v}
    for key, value in overrides.items():
        if key not in UTM_KEYS:
            raise InvalidInput(["body", "utm", key], f"Unknown UTM parameter {key!r}.")
        if value:
            utm[key] = value
        else:
            utm.pop(key, None)
    return utm


def _checked_url(url: str, allowed_domains: list[str], field: str) -> str:
    if not allowed_domains:
        raise InvalidInput(
            ["body", field],
            "The brand has no allowed destination domains yet: add them with PATCH /v1/brand.",
        )
    try:
        return validate_destination(url, allowed_domains)
    except UnsafeDestination as exc:
        raise InvalidInput(["body", field], f"Refused destination: {exc}.") from exc


async def _allowed_domains(session: AsyncSession, brand_id: uuid.UUID) -> list[str]:
    brand = await BrandRepository(session).get(brand_id)
    assert brand is not None  # callers hold a principal of this brand
    return list(brand.allowed_domains)


def _require_fallback(click_cap: int | None, fallback_url: str | None) -> None:
    if click_cap is not None and fallback_url is None:
        raise InvalidInput(
            ["body", "fallback_url"],
            "A click cap needs a fallback_url: followers past the cap are sent there.",
        )


def _invalidate_after_commit(session: AsyncSession, code: str) -> None:
    async def invalidate(redis: Any) -> None:
        await invalidate_link(redis, code)

    after_commit(session, invalidate)


async def create_link(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    collaboration_id: uuid.UUID,
    destination_url: str,
    code: str | None = None,
    utm: Mapping[str, str | None] | None = None,
    destination_utm_wins: bool = False,
    status: str = LinkStatus.ACTIVE.value,
    expires_at: datetime | None = None,
    click_cap: int | None = None,
    fallback_url: str | None = None,
    now: datetime | None = None,
) -> TrackingLink:
    ctx = await link_context(session, brand_id, collaboration_id)
    if ctx is None:
        raise LinkCollaborationNotFound(
            detail=f"No collaboration with id {collaboration_id}.",
            errors=[{"loc": ["body", "collaboration_id"], "msg": "Unknown collaboration."}],
        )
    allowed = await _allowed_domains(session, brand_id)
    destination = _checked_url(destination_url, allowed, "destination_url")
    fallback = None if fallback_url is None else _checked_url(fallback_url, allowed, "fallback_url")
    if expires_at is not None and expires_at <= (now or datetime.now(UTC)):
        raise InvalidInput(["body", "expires_at"], "expires_at must be in the future.")
    values: dict[str, Any] = {
        "brand_id": brand_id,
        "collaboration_id": collaboration_id,
        "destination_url": destination,
        "utm": apply_utm(default_utm(ctx), utm or {}),
        "destination_utm_wins": destination_utm_wins,
        "status": LinkStatus(status).value,
        "expires_at": expires_at,
        "click_cap": click_cap,
        "fallback_url": fallback,
    }
    _require_fallback(click_cap, fallback)

    for _ in range(MAX_CODE_ATTEMPTS):
        link = TrackingLink(code=code or generate_code(), **values)
        try:
            async with session.begin_nested():
                session.add(link)
                await session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) != CODE_CONSTRAINT:
                raise
            if code is not None:
                # Codes are global: say it is taken, never by whom.
                raise LinkCodeTaken(
                    f"The code {code!r} is already taken; choose another or omit it.",
                    errors=[{"loc": ["body", "code"], "msg": "Code already taken."}],
                ) from exc
            continue
        break
    else:  # pragma: no cover - 5 collisions in a 2.2e14 space
        raise RuntimeError("could not generate a free link code")

    await session.refresh(link)
    # A negative cache entry may exist for a code that was just claimed.
    _invalidate_after_commit(session, link.code)
    return link


async def update_link(
    session: AsyncSession,
    brand_id: uuid.UUID,
    link_id: uuid.UUID,
    *,
    destination_url: str | _Unset = UNSET,
    fallback_url: str | _Unset | None = UNSET,
    utm: Mapping[str, str | None] | _Unset = UNSET,
    destination_utm_wins: bool | _Unset = UNSET,
    status: str | _Unset = UNSET,
    expires_at: datetime | _Unset | None = UNSET,
    click_cap: int | _Unset | None = UNSET,
) -> TrackingLink:
    """Partial update; only the arguments passed change. `utm` is merged into the stored UTM
    parameters (None removes one). Setting `expires_at` in the past expires the link now."""
    link = await LinkRepository(session, brand_id).get_or_404(link_id, for_update=True)
    if not isinstance(destination_url, _Unset) or isinstance(fallback_url, str):
        allowed = await _allowed_domains(session, brand_id)
        if not isinstance(destination_url, _Unset):
            link.destination_url = _checked_url(destination_url, allowed, "destination_url")
        if isinstance(fallback_url, str):
            link.fallback_url = _checked_url(fallback_url, allowed, "fallback_url")
    if fallback_url is None:
        link.fallback_url = None
    if not isinstance(utm, _Unset):
        link.utm = apply_utm(link.utm, utm)
    if not isinstance(destination_utm_wins, _Unset):
        link.destination_utm_wins = destination_utm_wins
    if not isinstance(status, _Unset):
        link.status = LinkStatus(status).value
    if not isinstance(expires_at, _Unset):
        link.expires_at = expires_at
    if not isinstance(click_cap, _Unset):
        link.click_cap = click_cap
    _require_fallback(link.click_cap, link.fallback_url)
    await session.flush()
    await session.refresh(link)
    _invalidate_after_commit(session, link.code)
    return link


async def delete_link(session: AsyncSession, brand_id: uuid.UUID, link_id: uuid.UUID) -> None:
    """Delete a link that was never clicked. A clicked link is evidence for attribution and
    stats: disable it instead (409 `link_has_clicks`)."""
    repo = LinkRepository(session, brand_id)
    link = await repo.get_or_404(link_id, for_update=True)
    if await repo.has_clicks(link.id):
        raise LinkHasClicks(
            "This link has recorded clicks, which attribution and reports rely on; "
            "disable it (PATCH status=disabled) instead of deleting it."
        )
    code = link.code
    await session.delete(link)
    await session.flush()
    _invalidate_after_commit(session, code)


# --- stats -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayCount:
    date: date
    clicks: int
    unique_clicks: int
    bot_clicks: int


@dataclass(frozen=True, slots=True)
class KeyCount:
    key: str | None  # None: no referrer / unknown country
    clicks: int
    unique_clicks: int


@dataclass(frozen=True, slots=True)
class LinkStats:
    link_id: uuid.UUID
    from_: date
    to: date
    timezone: str
    clicks: int
    unique_clicks: int
    bot_clicks: int
    by_day: list[DayCount]
    by_referrer: list[KeyCount]
    by_country: list[KeyCount]
    by_device: list[KeyCount]


def _breakdown(groups: list[Any], dimension: str) -> list[KeyCount]:
    rows = [
        KeyCount(key=g.key, clicks=g.clicks, unique_clicks=g.unique_clicks)
        for g in groups
        if g.dimension == dimension and g.clicks > 0
    ]
    rows.sort(key=lambda r: (-r.clicks, r.key is None, r.key or ""))
    return rows[:STATS_MAX_ROWS]


async def link_stats(
    session: AsyncSession,
    brand_id: uuid.UUID,
    link_id: uuid.UUID,
    *,
    from_: date | None = None,
    to: date | None = None,
) -> LinkStats:
    """Clicks of one link between two local dates of the brand's time zone, both inclusive
    (default: the last 30 days including today). Bots are excluded from `clicks` and
    `unique_clicks` everywhere and reported as `bot_clicks`."""
    link = await LinkRepository(session, brand_id).get_or_404(link_id)
    brand = await BrandRepository(session).get(brand_id)
    assert brand is not None
    tz = ZoneInfo(brand.timezone)
    to = to or datetime.now(tz).date()
    from_ = from_ or to - timedelta(days=STATS_DEFAULT_DAYS - 1)
    if from_ > to:
        raise InvalidInput(["query", "from"], "`from` must not be after `to`.")
    days = (to - from_).days + 1
    if days > STATS_MAX_DAYS:
        raise InvalidInput(["query", "to"], f"The window is at most {STATS_MAX_DAYS} days.")
    start = datetime.combine(from_, time(0), tzinfo=tz)
    end = datetime.combine(to + timedelta(days=1), time(0), tzinfo=tz)
    groups = await click_groups(session, brand_id, link.id, start, end, brand.timezone)

    total = next((g for g in groups if g.dimension == "total"), None)
    per_day = {g.key: g for g in groups if g.dimension == "day"}
    by_day = []
    for offset in range(days):
        day = from_ + timedelta(days=offset)
        g = per_day.get(day)
        by_day.append(
            DayCount(
                date=day,
                clicks=g.clicks if g else 0,
                unique_clicks=g.unique_clicks if g else 0,
                bot_clicks=g.bot_clicks if g else 0,
            )
        )
    return LinkStats(
        link_id=link.id,
        from_=from_,
        to=to,
        timezone=brand.timezone,
        clicks=total.clicks if total else 0,
        unique_clicks=total.unique_clicks if total else 0,
        bot_clicks=total.bot_clicks if total else 0,
        by_day=by_day,
        by_referrer=_breakdown(groups, "referrer"),
        by_country=_breakdown(groups, "country"),
        by_device=_breakdown(groups, "device"),
    )
