"""Store and engagement integrations: webhook URLs, signing secrets (shown once), rotation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.errors import problem_responses
from services.api.integrations import schemas
from services.api.schemas import PageOut
from shared.db.pagination import paginate
from shared.integrations import service
from shared.integrations.kinds import IntegrationKind, IntegrationStatus, webhook_urls
from shared.integrations.repository import IntegrationRepository
from shared.jobs import after_commit
from shared.models import Integration

router = APIRouter(prefix="/v1", tags=["integrations"], responses=problem_responses(401, 403, 422))


def _out(integration: Integration, base_url: str) -> schemas.Integration:
    return schemas.Integration(
        id=integration.id,
        kind=IntegrationKind(integration.kind),
        name=integration.name,
        shop_domain=integration.shop_domain,
        currency=integration.currency,
        status=IntegrationStatus(integration.status),
        signature_scheme=service.scheme_for(integration.kind),
        webhook_urls=webhook_urls(base_url, integration.kind, integration.id),
        previous_secret_expires_at=integration.previous_secret_expires_at,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


def _with_secret(issued: service.IssuedSecret, base_url: str) -> schemas.IntegrationWithSecret:
    out = _out(issued.integration, base_url)
    return schemas.IntegrationWithSecret(**out.model_dump(), signing_secret=issued.secret)


def _forget_after_commit(
    request: Request, session: AsyncSession, integration_id: uuid.UUID
) -> None:
    """This process's receivers drop their copy once the change is committed (other API
    processes within `webhook_integration_cache_seconds`)."""
    receiver = getattr(request.app.state, "webhooks", None)

    async def forget(_: Any) -> None:
        if receiver is not None and receiver.cache is not None:
            receiver.cache.invalidate(integration_id)

    after_commit(session, forget)


@router.get(
    "/integrations", response_model=PageOut[schemas.Integration], summary="List integrations"
)
async def list_integrations(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    page: PageDep,
    kind: IntegrationKind | None = None,
    status: IntegrationStatus | None = None,
) -> dict[str, Any]:
    """Newest first. Signing secrets are never listed."""
    repo = IntegrationRepository(session, principal.brand_id)
    stmt = repo.filtered(kind=kind.value if kind else None, status=status.value if status else None)
    result = await paginate(
        session,
        stmt,
        keys=[Integration.created_at, Integration.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    base = state.settings.base_url
    return {"items": [_out(x, base) for x in result.items], "next_cursor": result.next_cursor}


@router.post(
    "/integrations",
    response_model=schemas.IntegrationWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Connect a store (the signing secret is returned once)",
    responses=problem_responses(400, 413),
)
async def create_integration(
    body: schemas.IntegrationCreate, principal: Writer, session: SessionDep, state: StateDep
) -> schemas.IntegrationWithSecret:
    """Configure the store to post to `webhook_urls` signed with `signing_secret`. Store the
    secret now: it is never shown again (rotate it if lost)."""
    issued = await service.create_integration(
        session,
        principal.brand_id,
        kind=body.kind.value,
        name=body.name,
        shop_domain=body.shop_domain,
        currency=body.currency,
        signing_secret=body.signing_secret,
    )
    return _with_secret(issued, state.settings.base_url)


@router.get(
    "/integrations/{integration_id}",
    response_model=schemas.Integration,
    summary="Get an integration",
    responses=problem_responses(404),
)
async def get_integration(
    integration_id: uuid.UUID, principal: Reader, session: SessionDep, state: StateDep
) -> schemas.Integration:
    repo = IntegrationRepository(session, principal.brand_id)
    return _out(await repo.get_or_404(integration_id), state.settings.base_url)


@router.patch(
    "/integrations/{integration_id}",
    response_model=schemas.Integration,
    summary="Rename an integration or change its shop domain or currency",
    responses=problem_responses(400, 404, 413),
)
async def update_integration(
    integration_id: uuid.UUID,
    body: schemas.IntegrationUpdate,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> schemas.Integration:
    changes = body.model_dump(exclude_unset=True)
    integration = await service.update_integration(
        session,
        principal.brand_id,
        integration_id,
        name=changes.get("name"),
        shop_domain=changes.get("shop_domain"),
        currency=changes.get("currency"),
        clear_shop_domain="shop_domain" in changes and changes["shop_domain"] is None,
    )
    return _out(integration, state.settings.base_url)


@router.post(
    "/integrations/{integration_id}/rotate-secret",
    response_model=schemas.IntegrationWithSecret,
    summary="Rotate the signing secret (the new one is returned once)",
    responses=problem_responses(400, 404, 413),
)
async def rotate_secret(
    integration_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
    body: schemas.RotateSecret | None = None,
) -> schemas.IntegrationWithSecret:
    """The previous secret keeps verifying until `previous_secret_expires_at`
    (`VOUCH_WEBHOOK_SECRET_GRACE_HOURS`, default 24), so the store can switch without losing
    a webhook. A secret still in an earlier rotation's grace period stops verifying now."""
    issued = await service.rotate_secret(
        session,
        principal.brand_id,
        integration_id,
        grace=timedelta(hours=state.settings.webhook_secret_grace_hours),
        signing_secret=body.signing_secret if body else None,
    )
    _forget_after_commit(request, session, integration_id)
    return _with_secret(issued, state.settings.base_url)


async def _transition(
    request: Request,
    session: AsyncSession,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID,
    to: IntegrationStatus,
    base_url: str,
) -> schemas.Integration:
    integration = await service.set_status(session, brand_id, integration_id, to.value)
    _forget_after_commit(request, session, integration_id)
    return _out(integration, base_url)


@router.post(
    "/integrations/{integration_id}/disable",
    response_model=schemas.Integration,
    summary="Disable an integration (its webhooks then answer 404)",
    responses=problem_responses(404, 409),
)
async def disable_integration(
    integration_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> schemas.Integration:
    """409 `illegal_transition` if it is already disabled."""
    return await _transition(
        request,
        session,
        principal.brand_id,
        integration_id,
        IntegrationStatus.DISABLED,
        state.settings.base_url,
    )


@router.post(
    "/integrations/{integration_id}/enable",
    response_model=schemas.Integration,
    summary="Enable a disabled integration",
    responses=problem_responses(404, 409),
)
async def enable_integration(
    integration_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    state: StateDep,
) -> schemas.Integration:
    """409 `illegal_transition` if it is already active."""
    return await _transition(
        request,
        session,
        principal.brand_id,
        integration_id,
        IntegrationStatus.ACTIVE,
        state.settings.base_url,
    )


@router.delete(
    "/integrations/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an integration that never received a webhook",
    responses=problem_responses(404, 409),
)
async def delete_integration(
    integration_id: uuid.UUID, request: Request, principal: Writer, session: SessionDep
) -> Response:
    """An integration with webhooks is kept for the audit trail: 409
    `integration_has_events` (disable it instead)."""
    await service.delete_integration(session, principal.brand_id, integration_id)
    _forget_after_commit(request, session, integration_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
