"""The caller's brand and its API keys."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from services.api.brands import schemas
from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.schemas import PageOut, page_out
from shared.brands import service
from shared.brands.repository import ApiKeyRepository, BrandRepository
from shared.db.pagination import paginate
from shared.models import ApiKey, Brand

router = APIRouter(prefix="/v1", tags=["brand"], responses=problem_responses(401, 403, 422))


async def _brand(session: SessionDep, brand_id: uuid.UUID) -> Brand:
    brand = await BrandRepository(session).get(brand_id)
    assert brand is not None  # the key's FK guarantees it
    return brand


@router.get("/brand", response_model=schemas.Brand, summary="The caller's brand")
async def get_brand(principal: Reader, session: SessionDep) -> Brand:
    return await _brand(session, principal.brand_id)


@router.patch(
    "/brand",
    response_model=schemas.Brand,
    summary="Update the caller's brand",
    responses=problem_responses(400, 413),
)
async def update_brand(body: schemas.BrandUpdate, principal: Writer, session: SessionDep) -> Brand:
    brand = await _brand(session, principal.brand_id)
    service.update_brand(brand, **body.model_dump(exclude_unset=True))
    await session.flush()
    await session.refresh(brand)
    return brand


@router.get("/api-keys", response_model=PageOut[schemas.ApiKey], summary="List API keys")
async def list_keys(principal: Reader, session: SessionDep, page: PageDep) -> dict[str, Any]:
    repo = ApiKeyRepository(session, principal.brand_id)
    result = await paginate(
        session, repo.scoped(), keys=[ApiKey.id], limit=page.limit, cursor=page.cursor
    )
    return page_out(result)


@router.post(
    "/api-keys",
    response_model=schemas.ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the secret is returned once)",
    responses=problem_responses(400, 413),
)
async def create_key(
    body: schemas.ApiKeyCreate, principal: Writer, session: SessionDep
) -> schemas.ApiKeyCreated:
    issued = await service.issue_key(
        session,
        principal.brand_id,
        name=body.name,
        scopes=[s.value for s in body.scopes],
        created_by=principal,
    )
    out = schemas.ApiKey.model_validate(issued.key)
    return schemas.ApiKeyCreated(**out.model_dump(), secret=issued.secret)


@router.delete(
    "/api-keys/{key_id}",
    response_model=schemas.ApiKey,
    summary="Revoke an API key",
    responses=problem_responses(404),
)
async def revoke_key(key_id: uuid.UUID, principal: Writer, session: SessionDep) -> ApiKey:
    return await service.revoke_key(session, principal.brand_id, key_id)
