"""Tracking links: CRUD, QR codes and per-link click stats."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.errors import problem_responses
from services.api.links import schemas
from services.api.schemas import PageOut
from shared.db.pagination import paginate
from shared.links import qr, service
from shared.links.repository import LinkRepository
from shared.models import TrackingLink
from shared.models.enums import DeviceClass, LinkStatus

router = APIRouter(prefix="/v1", tags=["links"], responses=problem_responses(401, 403, 422))


def _out(link: TrackingLink, base_url: str) -> schemas.Link:
    return schemas.Link(
        id=link.id,
        collaboration_id=link.collaboration_id,
        code=link.code,
        short_url=service.short_url(base_url, link.code),
        destination_url=link.destination_url,
        resolved_destination=service.resolved_destination(link),
        utm=link.utm,
        destination_utm_wins=link.destination_utm_wins,
        status=LinkStatus(link.status),
        expires_at=link.expires_at,
        click_cap=link.click_cap,
        fallback_url=link.fallback_url,
        created_at=link.created_at,
        updated_at=link.updated_at,
    )


@router.get("/links", response_model=PageOut[schemas.Link], summary="List tracking links")
async def list_links(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    page: PageDep,
    collaboration_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    status: LinkStatus | None = None,
) -> dict[str, Any]:
    """Newest first."""
    repo = LinkRepository(session, principal.brand_id)
    stmt = repo.filtered(
        collaboration_id=collaboration_id,
        campaign_id=campaign_id,
        status=status.value if status else None,
    )
    result = await paginate(
        session,
        stmt,
        keys=[TrackingLink.created_at, TrackingLink.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    base = state.settings.base_url
    return {"items": [_out(x, base) for x in result.items], "next_cursor": result.next_cursor}


@router.post(
    "/links",
    response_model=schemas.Link,
    status_code=status.HTTP_201_CREATED,
    summary="Create a tracking link",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_link(
    body: schemas.LinkCreate, principal: Writer, session: SessionDep, state: StateDep
) -> schemas.Link:
    """A vanity `code` already used by any brand is 409 `code_taken`; a destination outside
    the brand's allowed domains is 422 naming the field."""
    link = await service.create_link(
        session,
        principal.brand_id,
        collaboration_id=body.collaboration_id,
        destination_url=body.destination_url,
        code=body.code,
        utm=body.utm.model_dump(exclude_unset=True) if body.utm else None,
        destination_utm_wins=body.destination_utm_wins,
        status=body.status.value,
        expires_at=body.expires_at,
        click_cap=body.click_cap,
        fallback_url=body.fallback_url,
    )
    return _out(link, state.settings.base_url)


@router.get(
    "/links/{link_id}",
    response_model=schemas.Link,
    summary="Get a tracking link",
    responses=problem_responses(404),
)
async def get_link(
    link_id: uuid.UUID, principal: Reader, session: SessionDep, state: StateDep
) -> schemas.Link:
    link = await LinkRepository(session, principal.brand_id).get_or_404(link_id)
    return _out(link, state.settings.base_url)


@router.patch(
    "/links/{link_id}",
    response_model=schemas.Link,
    summary="Update or disable a tracking link",
    responses=problem_responses(400, 404, 413),
)
async def update_link(
    link_id: uuid.UUID,
    body: schemas.LinkUpdate,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> schemas.Link:
    """The redirect serves the change within a second of the response."""
    changes = body.model_dump(exclude_unset=True)
    if body.status is not None:
        changes["status"] = body.status.value
    link = await service.update_link(session, principal.brand_id, link_id, **changes)
    return _out(link, state.settings.base_url)


@router.delete(
    "/links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a tracking link that was never clicked",
    responses=problem_responses(404, 409),
)
async def delete_link(link_id: uuid.UUID, principal: Writer, session: SessionDep) -> Response:
    """A link with clicks is kept for attribution and reports: 409 `link_has_clicks`
    (disable it instead)."""
    await service.delete_link(session, principal.brand_id, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/links/{link_id}/qr",
    summary="QR code of the link's short URL",
    response_class=Response,
    responses={
        200: {
            "description": "The QR code image.",
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            },
        },
        **problem_responses(404),
    },
)
async def link_qr(
    link_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    format: Annotated[qr.QrFormat, Query(description="png or svg.")] = qr.QrFormat.PNG,
    size: Annotated[
        int,
        Query(ge=qr.MIN_SIZE, le=qr.MAX_SIZE, description="Maximum width in pixels."),
    ] = qr.DEFAULT_SIZE,
) -> Response:
    link = await LinkRepository(session, principal.brand_id).get_or_404(link_id)
    image = qr.render_qr(service.short_url(state.settings.base_url, link.code), format, size)
    return Response(
        image,
        media_type=qr.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'inline; filename="{link.code}.{format.value}"'},
    )


@router.get(
    "/links/{link_id}/stats",
    response_model=schemas.LinkStats,
    summary="Click statistics of a link",
    responses=problem_responses(404),
)
async def link_stats(
    link_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    from_: Annotated[
        date | None,
        Query(
            alias="from", description="First day (brand's time zone); default: 29 days before `to`."
        ),
    ] = None,
    to: Annotated[date | None, Query(description="Last day, inclusive; default: today.")] = None,
) -> schemas.LinkStats:
    """Human clicks, unique clicks and bot clicks, by day (in the brand's time zone),
    referrer domain, country and device class. At most 366 days."""
    stats = await service.link_stats(session, principal.brand_id, link_id, from_=from_, to=to)
    return schemas.LinkStats(
        link_id=stats.link_id,
        from_=stats.from_,
        to=stats.to,
        timezone=stats.timezone,
        clicks=stats.clicks,
        unique_clicks=stats.unique_clicks,
        bot_clicks=stats.bot_clicks,
        by_day=[schemas.DayStats.model_validate(d) for d in stats.by_day],
        by_referrer=[
            schemas.ReferrerStats(
                referrer_domain=r.key, clicks=r.clicks, unique_clicks=r.unique_clicks
            )
            for r in stats.by_referrer
        ],
        by_country=[
            schemas.CountryStats(country=r.key, clicks=r.clicks, unique_clicks=r.unique_clicks)
            for r in stats.by_country
        ],
        by_device=[
            schemas.DeviceStats(
                device=DeviceClass(r.key or DeviceClass.BOT),
                clicks=r.clicks,
                unique_clicks=r.unique_clicks,
            )
            for r in stats.by_device
        ],
    )
