"""Campaign rules: creation with slug and hashtags, updates, the status machine, and the
campaign-with-hashtags-KPIs-and-budget read model."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import errors
from shared.brands.repository import BrandRepository
from shared.campaigns.budget import BudgetView, budget_views
from shared.campaigns.repository import CampaignRepository
from shared.errors import Conflict, InvalidInput
from shared.events import record_event
from shared.models import Campaign, KpiTarget
from shared.models.enums import CampaignStatus

# -- vocabulary ------------------------------------------------------------------------------

S = CampaignStatus

# status -> the statuses it may move to. Completed and cancelled are final.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    S.DRAFT: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED}),
    S.PAUSED: frozenset({S.ACTIVE, S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


def allowed_sources(to: CampaignStatus) -> list[str]:
    """The statuses a transition to `to` may start from (sorted, for a stable SQL text)."""
    return sorted(s.value for s, targets in TRANSITIONS.items() if to in targets)


def allowed_targets(status: str) -> list[str]:
    return sorted(t.value for t in TRANSITIONS[CampaignStatus(status)])


SLUG_MAX = 80
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HASHTAG_MAX = 100
HASHTAG_RE = re.compile(r"^[a-z0-9_]+$")


def slugify(name: str) -> str:
    """`Été 2026: Summer Drop!` -> `ete-2026-summer-drop`. Never empty."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "campaign"


def normalise_slug(value: str) -> str:
    slug = value.strip().lower()
    if not SLUG_RE.match(slug) or len(slug) > SLUG_MAX:
        raise ValueError(
            f"a slug is 1-{SLUG_MAX} characters of a-z, 0-9 and single inner hyphens "
            "(it becomes utm_campaign)"
        )
    return slug


def normalise_hashtag(value: str) -> str:
    """`#VouchSummer` and `vouchsummer` are the same tracking hashtag: `vouchsummer`."""
    tag = value.strip().removeprefix("#").lower()
    if not tag or len(tag) > HASHTAG_MAX or not HASHTAG_RE.match(tag):
        raise ValueError(
            f"{value!r} is not a hashtag: letters a-z, digits and underscores, with or without "
            f"a leading '#', at most {HASHTAG_MAX} characters"
        )
    return tag


def normalise_hashtags(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalise_hashtag(v) for v in values))


def _valid_slug(value: str) -> str:
    try:
        return normalise_slug(value)
    except ValueError as exc:
        raise InvalidInput(["body", "slug"], str(exc)) from exc


def _valid_hashtags(values: Iterable[str]) -> list[str]:
    tags: list[str] = []
    for i, raw in enumerate(values):
        try:
            tags.append(normalise_hashtag(raw))
        except ValueError as exc:
            raise InvalidInput(["body", "hashtags", i], str(exc)) from exc
    return list(dict.fromkeys(tags))


# -- errors ----------------------------------------------------------------------------------


class SlugTaken(Conflict):
    code = "slug_taken"
    title = "Slug taken"


class HashtagTaken(Conflict):
    code = "hashtag_taken"
    title = "Hashtag taken"


class InvalidTransition(errors.InvalidTransition):
    code = "invalid_transition"
    resource = "campaign"


class CampaignNotDeletable(Conflict):
    code = "campaign_not_deletable"
    title = "Campaign not deletable"


class CurrencyLocked(Conflict):
    code = "currency_locked"
    title = "Currency locked"


# -- read model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignDetails:
    campaign: Campaign
    hashtags: list[str]
    kpis: list[KpiTarget]
    budget: BudgetView


async def load_details(
    session: AsyncSession, brand_id: uuid.UUID, campaigns: Sequence[Campaign]
) -> list[CampaignDetails]:
    """Campaigns with their hashtags, KPI targets and budget view: three queries for any
    number of campaigns (a list page costs the same as one campaign)."""
    repo = CampaignRepository(session, brand_id)
    ids = [c.id for c in campaigns]
    tags = await repo.hashtags_for(ids)
    kpis = await repo.kpis_for(ids)
    budgets = await budget_views(session, campaigns)
    return [
        CampaignDetails(
            campaign=c, hashtags=tags.get(c.id, []), kpis=kpis.get(c.id, []), budget=budgets[c.id]
        )
        for c in campaigns
    ]


async def get_details(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID
) -> CampaignDetails:
    campaign = await CampaignRepository(session, brand_id).get_or_404(campaign_id)
    return (await load_details(session, brand_id, [campaign]))[0]


# -- writes ----------------------------------------------------------------------------------


def _check_dates(starts_on: date | None, ends_on: date | None, *, field: str) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput(
            ["body", field], f"ends_on ({ends_on}) is before starts_on ({starts_on})."
        )


async def _take_hashtags(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID, tags: list[str]
) -> None:
    repo = CampaignRepository(session, brand_id)
    taken = await repo.replace_hashtags(campaign_id, tags)
    if taken:
        owner = await repo.owner_of_hashtag(taken[0])
        where = f"campaign {owner.slug!r}" if owner else "another campaign"
        raise HashtagTaken(
            f"#{taken[0]} already tracks {where}; a hashtag tracks one campaign per brand.",
            hashtag=taken[0],
            campaign_id=str(owner.id) if owner else None,
            campaign_slug=owner.slug if owner else None,
            hashtags=taken,
        )


async def create_campaign(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    name: str,
    goal: str,
    slug: str | None = None,
    brief: str | None = None,
    assets: list[dict[str, Any]] | None = None,
    hashtags: Sequence[str] = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
    budget_minor: int | None = None,
    currency: str | None = None,
    target_audience: dict[str, Any] | None = None,
    attribution_window_days: int = 30,
    commission_hold_days: int = 30,
) -> Campaign:
    """Create a draft campaign. An explicit slug that the brand already uses is a 409
    `slug_taken`; a slug generated from the name gets a numeric suffix instead (`summer-2`)."""
    _check_dates(starts_on, ends_on, field="ends_on")
    if budget_minor is not None and budget_minor < 0:
        raise InvalidInput(["body", "budget_minor"], "budget_minor must be >= 0.")
    if currency is None:
        brand = await BrandRepository(session).get(brand_id)
        assert brand is not None  # the caller's key guarantees it
        currency = brand.default_currency
    tags = _valid_hashtags(hashtags)
    values: dict[str, Any] = {
        "name": name,
        "goal": goal,
        "brief": brief,
        "assets": assets or [],
        "starts_on": starts_on,
        "ends_on": ends_on,
        "budget_minor": budget_minor,
        "currency": currency.upper(),
        "target_audience": target_audience or {},
        "attribution_window_days": attribution_window_days,
        "commission_hold_days": commission_hold_days,
    }
    repo = CampaignRepository(session, brand_id)
    campaign: Campaign | None
    if slug is not None:
        campaign = await repo.insert({**values, "slug": _valid_slug(slug)})
        if campaign is None:
            raise SlugTaken(
                f"The brand already has a campaign with slug {slug!r}.",
                errors=[{"loc": ["body", "slug"], "msg": "slug already in use"}],
                slug=slug,
            )
    else:
        base = slugify(name)
        candidates = [base] + [f"{base}-{n}" for n in range(2, 11)]
        candidates.append(f"{base}-{secrets.token_hex(3)}")
        campaign = None
        for candidate in candidates:
            campaign = await repo.insert({**values, "slug": candidate})
            if campaign is not None:
                break
        if campaign is None:  # eleven collisions in a row: let the caller pick a slug
            raise SlugTaken(
                f"Could not generate a free slug from {name!r}; send one explicitly.",
                errors=[{"loc": ["body", "slug"], "msg": "no free slug could be generated"}],
                slug=base,
            )
    await _take_hashtags(session, brand_id, campaign.id, tags)
    return campaign


# Fields PATCH may set to null (clear); every other field refuses null.
NULLABLE_FIELDS = frozenset({"brief", "starts_on", "ends_on", "budget_minor"})
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "slug",
        "goal",
        "brief",
        "assets",
        "hashtags",
        "starts_on",
        "ends_on",
        "budget_minor",
        "currency",
        "target_audience",
        "attribution_window_days",
        "commission_hold_days",
    }
)


async def update_campaign(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID, changes: dict[str, Any]
) -> Campaign:
    """Apply a partial update. `hashtags` and `target_audience` replace the whole value.
    Status is not a field here: it moves only through `transition_campaign`."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(["body", field], f"{field} cannot be changed here.")
    for field, value in changes.items():
        if value is None and field not in NULLABLE_FIELDS:
            raise InvalidInput(["body", field], f"{field} may not be null.")

    repo = CampaignRepository(session, brand_id)
    # Locked: the budget guard and concurrent edits serialise on the campaign row.
    campaign = await repo.get_or_404(campaign_id, for_update=True)

    starts_on = changes.get("starts_on", campaign.starts_on)
    ends_on = changes.get("ends_on", campaign.ends_on)
    if "starts_on" in changes or "ends_on" in changes:
        _check_dates(starts_on, ends_on, field="ends_on" if "ends_on" in changes else "starts_on")
        outside = await repo.kpi_deadlines_outside(campaign.id, starts_on, ends_on)
        if outside:
            kpi = outside[0]
            field = "ends_on" if ends_on is not None and kpi.deadline > ends_on else "starts_on"
            raise InvalidInput(
                ["body", field],
                f"KPI target {kpi.metric} has deadline {kpi.deadline}, outside the new "
                "campaign dates; move or delete it first.",
            )

    currency = changes.get("currency")
    if currency is not None and currency.upper() != campaign.currency:
        if await repo.has_money_rows(campaign.id):
            raise CurrencyLocked(
                f"The campaign's cost lines and collaborations are in {campaign.currency}; "
                "its currency cannot change any more.",
                errors=[{"loc": ["body", "currency"], "msg": "currency is locked"}],
                currency=campaign.currency,
            )
        campaign.currency = currency.upper()

    for field in (
        "name",
        "goal",
        "brief",
        "assets",
        "starts_on",
        "ends_on",
        "budget_minor",
        "target_audience",
        "attribution_window_days",
        "commission_hold_days",
    ):
        if field in changes:
            setattr(campaign, field, changes[field])

    if "slug" in changes:
        new_slug = _valid_slug(changes["slug"])
        if new_slug != campaign.slug:
            campaign.slug = new_slug
            try:
                async with session.begin_nested():
                    await session.flush()
            except IntegrityError as exc:
                if "uq_campaigns_brand_slug" not in str(exc.orig):
                    raise
                raise SlugTaken(
                    f"The brand already has a campaign with slug {new_slug!r}.",
                    errors=[{"loc": ["body", "slug"], "msg": "slug already in use"}],
                    slug=new_slug,
                ) from exc

    await session.flush()
    if "hashtags" in changes:
        await _take_hashtags(session, brand_id, campaign.id, _valid_hashtags(changes["hashtags"]))
    await session.refresh(campaign)  # updated_at is set by the database
    return campaign


async def transition_campaign(
    session: AsyncSession,
    brand_id: uuid.UUID,
    campaign_id: uuid.UUID,
    to: CampaignStatus,
    *,
    note: str | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> Campaign:
    """Move the campaign along its status machine (see TRANSITIONS), enforced in SQL.

    A 409 `invalid_transition` names the current and the requested status; the change is
    recorded as a `campaign.status_changed` outbox event with the note and the actor."""
    repo = CampaignRepository(session, brand_id)
    sources = allowed_sources(to)
    result = await repo.transition(campaign_id, to.value, sources) if sources else None
    if result is None:
        current = await repo.get_or_404(campaign_id)  # unknown / other brand: 404
        targets = allowed_targets(current.status)
        onward = (
            f"from {current.status} it can move to {', '.join(targets)}"
            if targets
            else f"{current.status} is final"
        )
        raise InvalidTransition(
            current.status,
            to.value,
            f"A campaign cannot move from {current.status} to {to.value}; {onward}.",
            allowed_statuses=targets,
        )
    previous, campaign = result
    await record_event(
        session,
        brand_id,
        "campaign.status_changed",
        {
            "campaign_id": str(campaign.id),
            "slug": campaign.slug,
            "from_status": previous,
            "to_status": campaign.status,
            "note": note,
            "actor_key_id": str(actor_key_id) if actor_key_id else None,
            "changed_at": campaign.status_changed_at.isoformat()
            if campaign.status_changed_at
            else None,
        },
    )
    return campaign


async def delete_campaign(
    session: AsyncSession, brand_id: uuid.UUID, campaign_id: uuid.UUID
) -> None:
    """Only drafts are deleted (with their KPI targets, cost lines and collaborations);
    a campaign that ever ran is cancelled or completed instead, so its history stays."""
    repo = CampaignRepository(session, brand_id)
    if await repo.delete_draft(campaign_id):
        return
    current = await repo.get_or_404(campaign_id)
    raise CampaignNotDeletable(
        f"Only draft campaigns can be deleted; this one is {current.status}. "
        "Cancel or complete it instead.",
        current_status=current.status,
    )


async def find_campaign_by_hashtags(
    session: AsyncSession, brand_id: uuid.UUID, tags: Iterable[str]
) -> Campaign | None:
    """The brand's campaign tracked by any of `tags` (as found in a caption: with or without
    '#', any case). Tags that are not valid hashtags are ignored. See
    CampaignRepository.find_by_hashtags for the order when several campaigns match."""
    normalised: list[str] = []
    for raw in tags:
        try:
            normalised.append(normalise_hashtag(raw))
        except ValueError:
            continue
    return await CampaignRepository(session, brand_id).find_by_hashtags(
        list(dict.fromkeys(normalised))
    )
