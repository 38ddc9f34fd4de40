"""Promo codes: unique per brand ignoring case, each owned by one collaboration."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.api.deps import PageDep, Reader, SessionDep, Writer
from services.api.errors import problem_responses
from services.api.promo_codes import schemas
from services.api.schemas import PageOut, page_out
from shared.db.pagination import paginate
from shared.models import PromoCode
from shared.promo_codes import service
from shared.promo_codes.repository import PromoCodeRepository

router = APIRouter(prefix="/v1", tags=["promo codes"], responses=problem_responses(401, 403, 422))


@router.get("/promo-codes", response_model=PageOut[schemas.PromoCode], summary="List promo codes")
async def list_promo_codes(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    collaboration_id: uuid.UUID | None = None,
    active: bool | None = None,
    generic: bool | None = None,
    code: Annotated[
        str | None, Query(max_length=64, description="Exact code, ignoring case.")
    ] = None,
) -> dict[str, Any]:
    """Newest first."""
    stmt = PromoCodeRepository(session, principal.brand_id).filtered(
        collaboration_id=collaboration_id, active=active, generic=generic, code=code
    )
    result = await paginate(
        session, stmt, keys=[PromoCode.id], limit=page.limit, cursor=page.cursor, descending=True
    )
    return page_out(result)


@router.post(
    "/promo-codes",
    response_model=schemas.PromoCode,
    status_code=status.HTTP_201_CREATED,
    summary="Create a promo code",
    responses=problem_responses(400, 404, 409, 413),
)
async def create_promo_code(
    body: schemas.PromoCodeCreate, principal: Writer, session: SessionDep
) -> PromoCode:
    """A code the brand already uses in any letter case is 409 `promo_code_taken`, naming
    the owning `collaboration_id`."""
    return await service.create_promo_code(session, principal.brand_id, **body.model_dump())


@router.get(
    "/promo-codes/{promo_code_id}",
    response_model=schemas.PromoCode,
    summary="Get a promo code",
    responses=problem_responses(404),
)
async def get_promo_code(
    promo_code_id: uuid.UUID, principal: Reader, session: SessionDep
) -> PromoCode:
    return await PromoCodeRepository(session, principal.brand_id).get_or_404(promo_code_id)


@router.patch(
    "/promo-codes/{promo_code_id}",
    response_model=schemas.PromoCode,
    summary="Update a promo code",
    responses=problem_responses(400, 404, 409, 413),
)
async def update_promo_code(
    promo_code_id: uuid.UUID, body: schemas.PromoCodeUpdate, principal: Writer, session: SessionDep
) -> PromoCode:
    return await service.update_promo_code(
        session, principal.brand_id, promo_code_id, **body.model_dump(exclude_unset=True)
    )


@router.delete(
    "/promo-codes/{promo_code_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a promo code",
    responses=problem_responses(404),
)
async def delete_promo_code(
    promo_code_id: uuid.UUID, principal: Writer, session: SessionDep
) -> Response:
    await service.delete_promo_code(session, principal.brand_id, promo_code_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
