"""Request dependencies: the unit-of-work session, the calling principal, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from arq.connections import ArqRedis
from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.brands.service import Principal, Scope, authenticate
from shared.config import Settings
from shared.db.pagination import DEFAULT_LIMIT, MAX_LIMIT
from shared.jobs import discard_jobs, flush_jobs


@dataclass(slots=True)
class AppState:
    """Everything the lifespan opens; one instance per app on `app.state.vouch`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: ArqRedis | None


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.vouch
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on error, then enqueue the
    jobs the unit deferred. Function-scoped so the commit happens before the response is sent:
    a 2xx means the data is durable."""
    state = get_state(request)
    async with state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_jobs(session)
            raise
        await flush_jobs(session, state.queue)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
StateDep = Annotated[AppState, Depends(get_state)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def get_principal(request: Request, session: SessionDep) -> Principal:
    settings = get_state(request).settings
    principal = await authenticate(session, _bearer(request), settings.api_key_touch_seconds)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def requires(scope: Scope) -> Any:
    """Dependency: the caller's principal, after checking it holds `scope`."""

    async def dependency(principal: PrincipalDep) -> Principal:
        principal.require(scope)
        return principal

    return Depends(dependency)


Reader = Annotated[Principal, requires(Scope.READ)]
Writer = Annotated[Principal, requires(Scope.WRITE)]


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]
