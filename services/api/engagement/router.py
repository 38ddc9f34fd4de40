"""Engagement: posts seen through engagement integrations (matched or not), manual linking,
quality signals per account, discovery by signals and audience, Instagram settings."""

from __future__ import annotations

import dataclasses
import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.engagement import schemas
from services.api.engagement.filters import SignalFiltersDep
from services.api.errors import problem_responses
from services.api.schemas import PageOut
from shared.db.pagination import paginate
from shared.engagement import instagram
from shared.engagement.repository import (
    DiscoveryFilters,
    PostFilters,
    PostRepository,
    discovery_statement,
)
from shared.engagement.service import link_post
from shared.engagement.signals import is_stale
from shared.influencers.repository import InfluencerRepository, SocialAccountRepository
from shared.models import AccountSignals, Influencer, Post, SocialAccount
from shared.models.enums import Platform, Tier

router = APIRouter(prefix="/v1", tags=["engagement"], responses=problem_responses(401, 403, 422))


# ------------------------------------------------------------------------------ posts
def post_filters(
    matched: Annotated[
        bool | None,
        Query(description="false: posts matched to no roster account (to link by hand)."),
    ] = None,
    has_deliverable: Annotated[bool | None, Query()] = None,
    account_id: Annotated[uuid.UUID | None, Query()] = None,
    campaign_id: Annotated[uuid.UUID | None, Query()] = None,
    deliverable_id: Annotated[uuid.UUID | None, Query()] = None,
    platform: Annotated[Platform | None, Query()] = None,
) -> PostFilters:
    return PostFilters(
        matched=matched,
        has_deliverable=has_deliverable,
        account_id=account_id,
        campaign_id=campaign_id,
        deliverable_id=deliverable_id,
        platform=platform.value if platform else None,
    )


@router.get(
    "/posts",
    response_model=PageOut[schemas.Post],
    summary="List posts received through engagement integrations",
    description="Newest first. `matched=false` lists the posts no roster account matched "
    "(unknown handle): link them with `POST /v1/posts/{id}/link`.",
)
async def list_posts(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[PostFilters, Depends(post_filters)],
) -> dict[str, Any]:
    repo = PostRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.filtered(filters),
        keys=[Post.created_at, Post.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    return {
        "items": [schemas.Post.of(p) for p in result.items],
        "next_cursor": result.next_cursor,
    }


@router.get(
    "/posts/{post_id}",
    response_model=schemas.Post,
    summary="A post with its latest metrics and comment sentiment",
    responses=problem_responses(404),
)
async def get_post(post_id: uuid.UUID, principal: Reader, session: SessionDep) -> schemas.Post:
    return schemas.Post.of(await PostRepository(session, principal.brand_id).get_or_404(post_id))


@router.post(
    "/posts/{post_id}/link",
    response_model=schemas.Post,
    summary="Link a post to a deliverable, a roster account and/or a campaign",
    description="Only the fields sent change; `null` unlinks. Linking a deliverable also "
    "sets its campaign (unless `campaign_id` is sent) and, when the influencer has exactly one "
    "account on the post's platform, that account; the deliverable's disclosure flag is "
    "recomputed from the post. The accounts involved get their signals recomputed.",
    responses=problem_responses(400, 404, 413),
)
async def link(
    post_id: uuid.UUID, body: schemas.PostLink, principal: Writer, session: SessionDep
) -> schemas.Post:
    changes = body.model_dump(include=body.model_fields_set)
    post = await link_post(session, principal.brand_id, post_id, changes)
    return schemas.Post.of(post)


# ---------------------------------------------------------------------------- signals
async def _signals_of(
    session: Any, accounts: list[SocialAccount]
) -> tuple[dict[uuid.UUID, Any], set[uuid.UUID]]:
    """Signals rows by account id, and the accounts with new data not yet recomputed."""
    if not accounts:
        return {}, set()
    ids = [a.id for a in accounts]
    rows = await session.execute(select(AccountSignals).where(AccountSignals.account_id.in_(ids)))
    return {s.account_id: s for s in rows.scalars()}, await is_stale(session, ids)


@router.get(
    "/influencers/{influencer_id}/signals",
    response_model=list[schemas.AccountSignals],
    summary="Quality signals of each of an influencer's accounts",
    description="Engagement rate (and by views for video-first content) with its sample size "
    "and tier benchmark, authenticity score with the reasons behind it, sponsored share and "
    "comment sentiment. Recomputed by the worker when new data arrives (`stale` until then).",
    responses=problem_responses(404),
)
async def influencer_signals(
    influencer_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[schemas.AccountSignals]:
    await InfluencerRepository(session, principal.brand_id).get_or_404(influencer_id)
    repo = SocialAccountRepository(session, principal.brand_id)
    accounts = list(
        (
            await session.execute(
                repo.of_influencer(influencer_id).order_by(
                    SocialAccount.followers.desc(), SocialAccount.id
                )
            )
        ).scalars()
    )
    signals, stale = await _signals_of(session, accounts)
    return [schemas.AccountSignals.of(a, signals.get(a.id), stale=a.id in stale) for a in accounts]


@router.get(
    "/social-accounts/{account_id}/signals",
    response_model=schemas.AccountSignals,
    summary="Quality signals of one social account",
    responses=problem_responses(404),
)
async def account_signals(
    account_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.AccountSignals:
    account = await SocialAccountRepository(session, principal.brand_id).get_or_404(account_id)
    signals, stale = await _signals_of(session, [account])
    return schemas.AccountSignals.of(account, signals.get(account.id), stale=bool(stale))


# --------------------------------------------------------------------------- discovery
class DiscoverySort(StrEnum):
    ENGAGEMENT_RATE = "engagement_rate"
    ENGAGEMENT_RATE_DESC = "-engagement_rate"
    AUTHENTICITY = "authenticity"
    AUTHENTICITY_DESC = "-authenticity"

    @property
    def keys(self) -> list[InstrumentedAttribute[Any]]:
        if self in (DiscoverySort.AUTHENTICITY, DiscoverySort.AUTHENTICITY_DESC):
            return [AccountSignals.authenticity_sort_key, AccountSignals.account_id]
        return [AccountSignals.er_sort_key, AccountSignals.account_id]


def discovery_filters(
    signals: SignalFiltersDep,
    platform: Annotated[Platform | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    niche: Annotated[str | None, Query(max_length=50)] = None,
) -> DiscoveryFilters:
    return dataclasses.replace(
        signals,
        platform=platform.value if platform else None,
        tier=tier.value if tier else None,
        niche=niche.strip().lower() if niche else None,
    )


@router.get(
    "/discovery/accounts",
    response_model=PageOut[schemas.DiscoveredAccount],
    summary="Find accounts by engagement, authenticity and audience",
    description="Accounts whose signals have been computed, filtered (AND) by engagement rate, "
    "authenticity, sponsored share, platform, tier, niche and audience shares (e.g. "
    "`audience_age=18-24&min_age_share=40`: at least 40% of the audience aged 18-24), sorted "
    "by engagement rate or authenticity (`-` for descending; unknown values sort last).",
)
async def discover(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[DiscoveryFilters, Depends(discovery_filters)],
    sort: Annotated[DiscoverySort, Query()] = DiscoverySort.ENGAGEMENT_RATE_DESC,
) -> dict[str, Any]:
    result = await paginate(
        session,
        discovery_statement(principal.brand_id, filters),
        keys=sort.keys,
        limit=page.limit,
        cursor=page.cursor,
        descending=sort.value.startswith("-"),
    )
    signals = list(result.items)
    ids = [s.account_id for s in signals]
    accounts: dict[uuid.UUID, tuple[SocialAccount, str]] = {}
    stale = await is_stale(session, ids)
    if ids:
        rows = await session.execute(
            select(SocialAccount, Influencer.name)
            .join(Influencer, Influencer.id == SocialAccount.influencer_id)
            .where(SocialAccount.id.in_(ids))
        )
        accounts = {a.id: (a, name) for a, name in rows.all()}
    items = []
    for s in signals:
        account, name = accounts[s.account_id]
        base = schemas.AccountSignals.of(account, s, stale=s.account_id in stale)
        items.append(
            schemas.DiscoveredAccount(
                **base.model_dump(),
                influencer_name=name,
                audience_age=account.audience_age,
                audience_gender=account.audience_gender,
                audience_countries=account.audience_countries,
            )
        )
    return {"items": items, "next_cursor": result.next_cursor}


# ------------------------------------------------------------------ Instagram settings
@router.put(
    "/integrations/{integration_id}/instagram",
    response_model=schemas.InstagramSettingsOut,
    tags=["integrations"],
    summary="Configure Instagram Graph webhooks for an engagement integration",
    description="Stores the Meta app secret (verifies `X-Hub-Signature-256`; never returned), "
    "the verify token of the subscription handshake and the Instagram user id -> handle map. "
    "Point the Meta app's callback at `callback_url`.",
    responses=problem_responses(400, 404, 409, 413),
)
async def configure_instagram(
    integration_id: uuid.UUID,
    body: schemas.InstagramSettings,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> schemas.InstagramSettingsOut:
    integration = await instagram.configure(
        session,
        principal.brand_id,
        integration_id,
        app_secret=body.app_secret,
        verify_token=body.verify_token,
        accounts=body.accounts,
    )
    ig = (integration.settings or {}).get("instagram") or {}
    return schemas.InstagramSettingsOut(
        integration_id=integration.id,
        callback_url=f"{state.settings.base_url}/webhooks/instagram/{integration.id}",
        verify_token=ig.get("verify_token"),
        app_secret_set=bool(ig.get("app_secret")),
        accounts=ig.get("accounts") or {},
    )
