"""The roster: influencers, their social accounts, follower history, CSV import and export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.engagement.filters import SignalFiltersDep
from services.api.errors import problem_responses
from services.api.influencers import schemas
from services.api.schemas import PageOut, page_out
from shared.db.pagination import paginate
from shared.errors import DomainError, InvalidInput
from shared.influencers import csv_io, service
from shared.influencers.repository import (
    InfluencerFilters,
    InfluencerRepository,
    InfluencerSort,
    SocialAccountRepository,
    follower_history,
)
from shared.influencers.rules import CountryCode, LanguageCode
from shared.models import FollowerSnapshot, SocialAccount
from shared.models.enums import InfluencerStatus, Platform, Tier

router = APIRouter(prefix="/v1", tags=["influencers"], responses=problem_responses(401, 403, 422))

CSV_MEDIA_TYPES = ("text/csv", "application/csv", "text/plain")


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


def influencer_filters(
    signals: SignalFiltersDep,  # engagement (issue 6): signal and audience filters
    platform: Annotated[Platform | None, Query(description="Has an account on it.")] = None,
    tier: Annotated[Tier | None, Query(description="Has an account in this tier.")] = None,
    niche: Annotated[str | None, Query(max_length=50, examples=["running"])] = None,
    country: Annotated[CountryCode | None, Query(description="ISO 3166-1 alpha-2.")] = None,
    language: Annotated[LanguageCode | None, Query(description="ISO 639-1.")] = None,
    min_followers: Annotated[int | None, Query(ge=0, description="On one account.")] = None,
    max_followers: Annotated[int | None, Query(ge=0, description="On one account.")] = None,
    status: Annotated[InfluencerStatus | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Case-insensitive substring of the name or of any handle.",
        ),
    ] = None,
) -> InfluencerFilters:
    """`platform`, `tier`, `min_followers` and `max_followers` apply together to one account:
    `platform=instagram&tier=micro` finds influencers with a micro Instagram account. So do
    the engagement filters (`min_engagement_rate`, `min_authenticity`, audience shares such
    as `audience_age=18-24&min_age_share=40`)."""
    return InfluencerFilters(
        platform=platform.value if platform else None,
        tier=tier.value if tier else None,
        niche=niche.strip().lower() if niche else None,
        country=country,
        language=language,
        min_followers=min_followers,
        max_followers=max_followers,
        status=status.value if status else None,
        q=q,
        signals=signals if signals.active else None,
    ).validate()


FiltersDep = Annotated[InfluencerFilters, Depends(influencer_filters)]


# ------------------------------------------------------------------ influencers
@router.get(
    "/influencers",
    response_model=PageOut[schemas.Influencer],
    summary="List influencers",
    description="Filters combine with AND. `platform`, `tier`, `min_followers` and "
    "`max_followers` apply together to one account. `sort=followers` orders by the "
    "influencer's largest account (`max_followers`).",
)
async def list_influencers(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    filters: FiltersDep,
    sort: Annotated[InfluencerSort, Query(description="`-` for descending.")] = (
        InfluencerSort.CREATED_DESC
    ),
) -> dict[str, Any]:
    repo = InfluencerRepository(session, principal.brand_id)
    result = await paginate(
        session,
        repo.filtered(filters),
        keys=sort.keys,
        limit=page.limit,
        cursor=page.cursor,
        descending=sort.descending,
    )
    views = await service.build_views(session, principal.brand_id, list(result.items))
    return {"items": [schemas.Influencer.of(v) for v in views], "next_cursor": result.next_cursor}


@router.post(
    "/influencers",
    response_model=schemas.Influencer,
    status_code=status.HTTP_201_CREATED,
    summary="Add an influencer (optionally with accounts)",
    responses=problem_responses(400, 409, 413),
)
async def create_influencer(
    body: schemas.InfluencerCreate, principal: Writer, session: SessionDep
) -> schemas.Influencer:
    fields = body.model_dump(exclude={"accounts"})
    accounts = [a.model_dump() for a in body.accounts]
    view = await service.create_influencer(session, principal.brand_id, fields, accounts)
    return schemas.Influencer.of(view)


_EXPORT_DESCRIPTION = (
    "The roster as CSV, one row per account (an influencer without accounts gets one row), "
    "with exactly the columns `POST /v1/influencers/import` takes, so an export imports back "
    "unchanged. Takes the list filters. Streams from one consistent snapshot."
)


@router.get(
    "/influencers/export",
    summary="Export the roster as CSV",
    description=_EXPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_influencers(
    principal: Reader, state: StateDep, filters: FiltersDep
) -> StreamingResponse:
    brand_id = principal.brand_id

    async def body() -> AsyncIterator[bytes]:
        # Its own session: the request's unit of work has committed before the body streams.
        async with state.sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            async for chunk in csv_io.export_chunks(session, brand_id, filters):
                yield chunk.encode()
            await session.rollback()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="influencers.csv"'},
    )


_IMPORT_EXAMPLE = (
    "name,email,country,languages,niches,platform,handle,followers,audience_age\n"
    "Jane Runner,jane@example.com,DE,de;en,running,instagram,@Jane.Runs,48200,"
    "18-24:41;25-34:37\n"
    "Jane Runner,jane@example.com,DE,de;en,running,tiktok,janeruns,120500,\n"
)


@router.post(
    "/influencers/import",
    response_model=schemas.ImportReport,
    summary="Import influencers and accounts from CSV",
    description="Send `Content-Type: text/csv`, one row per account, at most 1 MiB (larger "
    "files: `vouch influencers import FILE.csv`). Influencers are upserted (matched by "
    "`influencer_id` of this brand, else `email`, else the existing owner of the handle) "
    "and accounts by (platform, handle). A bad row is rejected with its reasons and never "
    "blocks the good ones; the report has one entry per row (the header is row 1). An "
    "empty cell never changes a stored value.\n\n" + csv_io.COLUMN_HELP,
    responses=problem_responses(400, 413, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _IMPORT_EXAMPLE}},
        }
    },
)
async def import_influencers(
    request: Request, principal: Writer, session: SessionDep
) -> csv_io.ImportReport:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaType(f"Send the file as text/csv, not {media_type or 'nothing'}.")
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(["body"], f"The file is not UTF-8 (byte {exc.start}).") from exc
    return await csv_io.import_text(session, principal.brand_id, text)


@router.get(
    "/influencers/{influencer_id}",
    response_model=schemas.Influencer,
    summary="Get an influencer",
    responses=problem_responses(404),
)
async def get_influencer(
    influencer_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.Influencer:
    return schemas.Influencer.of(await service.get_view(session, principal.brand_id, influencer_id))


@router.patch(
    "/influencers/{influencer_id}",
    response_model=schemas.Influencer,
    summary="Update an influencer (status=archived to archive)",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_influencer(
    influencer_id: uuid.UUID,
    body: schemas.InfluencerUpdate,
    principal: Writer,
    session: SessionDep,
) -> schemas.Influencer:
    view = await service.update_influencer(
        session, principal.brand_id, influencer_id, body.model_dump(exclude_unset=True)
    )
    return schemas.Influencer.of(view)


@router.delete(
    "/influencers/{influencer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an influencer without collaborations",
    description="Deletes the influencer with its accounts and follower history. An influencer "
    "with collaborations is refused with 409 `influencer_has_collaborations`: archive it "
    "instead (`PATCH status=archived`), which keeps campaign history whole.",
    responses=problem_responses(404, 409),
)
async def delete_influencer(
    influencer_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await service.delete_influencer(session, principal.brand_id, influencer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------- accounts
@router.get(
    "/influencers/{influencer_id}/accounts",
    response_model=PageOut[schemas.Account],
    summary="List an influencer's social accounts",
    responses=problem_responses(404),
)
async def list_accounts(
    influencer_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    await InfluencerRepository(session, principal.brand_id).get_or_404(influencer_id)
    stmt = SocialAccountRepository(session, principal.brand_id).of_influencer(influencer_id)
    result = await paginate(
        session, stmt, keys=[SocialAccount.id], limit=page.limit, cursor=page.cursor
    )
    return page_out(result)


@router.post(
    "/influencers/{influencer_id}/accounts",
    response_model=schemas.Account,
    status_code=status.HTTP_201_CREATED,
    summary="Add a social account",
    description="The handle is normalised (trimmed, leading '@' dropped, lower case) and "
    "unique per brand and platform: a duplicate answers 409 `handle_taken`. The first "
    "follower-history point is recorded.",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_account(
    influencer_id: uuid.UUID, body: schemas.AccountCreate, principal: Writer, session: SessionDep
) -> SocialAccount:
    return await service.create_account(
        session, principal.brand_id, influencer_id, body.model_dump()
    )


@router.get(
    "/influencers/{influencer_id}/accounts/{account_id}",
    response_model=schemas.Account,
    summary="Get a social account",
    responses=problem_responses(404),
)
async def get_account(
    influencer_id: uuid.UUID, account_id: uuid.UUID, principal: Reader, session: SessionDep
) -> SocialAccount:
    return await service.get_account(session, principal.brand_id, influencer_id, account_id)


@router.patch(
    "/influencers/{influencer_id}/accounts/{account_id}",
    response_model=schemas.Account,
    summary="Update a social account",
    description="A change of `followers` adds a follower-history point (and may change the "
    "tier). A changed handle must still be unique (409 `handle_taken`).",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_account(
    influencer_id: uuid.UUID,
    account_id: uuid.UUID,
    body: schemas.AccountUpdate,
    principal: Writer,
    session: SessionDep,
) -> SocialAccount:
    return await service.update_account(
        session,
        principal.brand_id,
        influencer_id,
        account_id,
        body.model_dump(exclude_unset=True),
    )


@router.delete(
    "/influencers/{influencer_id}/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a social account (and its follower history)",
    responses=problem_responses(404),
)
async def delete_account(
    influencer_id: uuid.UUID, account_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await service.delete_account(session, principal.brand_id, influencer_id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/influencers/{influencer_id}/accounts/{account_id}/follower-history",
    response_model=PageOut[schemas.FollowerPoint],
    summary="An account's follower history, oldest first",
    description="One point at creation and one each time `followers` changed.",
    responses=problem_responses(404),
)
async def get_follower_history(
    influencer_id: uuid.UUID,
    account_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
) -> dict[str, Any]:
    await service.get_account(session, principal.brand_id, influencer_id, account_id)
    result = await paginate(
        session,
        follower_history(principal.brand_id, account_id),
        keys=[FollowerSnapshot.captured_at, FollowerSnapshot.id],
        limit=page.limit,
        cursor=page.cursor,
    )
    return page_out(result)
