"""Queries over promo codes. Lookups by code go through the functional unique index
`uq_promo_codes_brand_code (brand_id, lower(code))`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import PromoCode


class PromoCodeNotFound(NotFound):
    resource = "promo code"


class PromoCodeRepository(BrandScopedRepository[PromoCode]):
    model = PromoCode
    not_found = PromoCodeNotFound

    def filtered(
        self,
        *,
        collaboration_id: uuid.UUID | None = None,
        active: bool | None = None,
        generic: bool | None = None,
        code: str | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if collaboration_id is not None:
            stmt = stmt.where(PromoCode.collaboration_id == collaboration_id)
        if active is not None:
            stmt = stmt.where(PromoCode.active.is_(active))
        if generic is not None:
            stmt = stmt.where(PromoCode.generic.is_(generic))
        if code is not None:
            stmt = stmt.where(func.lower(PromoCode.code) == func.lower(code))
        return stmt


async def find_promo_code(
    session: AsyncSession, brand_id: uuid.UUID, code: str
) -> PromoCode | None:
    """The brand's promo code matching `code` case-insensitively, surrounding blanks ignored
    (active or not: the caller decides what an inactive code means). One probe of the unique
    index on (brand_id, lower(code)), so at most one row."""
    stmt = select(PromoCode).where(
        PromoCode.brand_id == brand_id, func.lower(PromoCode.code) == func.lower(code.strip())
    )
    return (await session.execute(stmt)).scalar_one_or_none()
