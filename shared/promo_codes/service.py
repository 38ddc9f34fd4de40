"""Promo codes: unique per brand case-insensitively (in the schema), owned by one
collaboration. The orders issue resolves a code from an order with `find_promo_code`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.collaborations.repository import CollaborationRepository
from shared.db.integrity import constraint_name
from shared.errors import Conflict
from shared.models import PromoCode
from shared.promo_codes.repository import (
    PromoCodeRepository,
    find_promo_code,
)

__all__ = [
    "PromoCodeTaken",
    "create_promo_code",
    "delete_promo_code",
    "find_promo_code",
    "update_promo_code",
]

CODE_INDEX: Final = "uq_promo_codes_brand_code"


class PromoCodeTaken(Conflict):
    code = "promo_code_taken"
    title = "Promo code taken"


class _Unset:
    pass


UNSET: Final = _Unset()


async def _require_collaboration(
    session: AsyncSession, brand_id: uuid.UUID, collaboration_id: uuid.UUID
) -> None:
    repo = CollaborationRepository(session, brand_id)
    await repo.get_ref_or_404(collaboration_id, ["body", "collaboration_id"])


async def _write(
    session: AsyncSession, brand_id: uuid.UUID, code: str, mutate: Callable[[], None]
) -> None:
    """Apply `mutate` and flush inside a SAVEPOINT (begin_nested flushes what is pending
    before it, so the change must happen inside). The unique index answering the code taken
    becomes a 409 naming the collaboration that owns it: always one of the caller's, since
    uniqueness is per brand."""
    try:
        async with session.begin_nested():
            mutate()
            await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) != CODE_INDEX:
            raise
        owner = await find_promo_code(session, brand_id, code)
        extra: dict[str, str] = {}
        detail = f"The promo code {code!r} is already in use (codes ignore case)."
        if owner is not None:
            extra = {
                "collaboration_id": str(owner.collaboration_id),
                "promo_code_id": str(owner.id),
            }
            detail = (
                f"The promo code {code!r} is already owned by collaboration "
                f"{owner.collaboration_id} as {owner.code!r} (codes ignore case)."
            )
        raise PromoCodeTaken(
            detail, errors=[{"loc": ["body", "code"], "msg": "Promo code taken."}], **extra
        ) from exc


async def create_promo_code(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    code: str,
    collaboration_id: uuid.UUID,
    description: str | None = None,
    active: bool = True,
    generic: bool = False,
) -> PromoCode:
    await _require_collaboration(session, brand_id, collaboration_id)
    promo = PromoCode(
        brand_id=brand_id,
        collaboration_id=collaboration_id,
        code=code,
        description=description,
        active=active,
        generic=generic,
    )
    await _write(session, brand_id, code, lambda: session.add(promo))
    await session.refresh(promo)
    return promo


async def update_promo_code(
    session: AsyncSession,
    brand_id: uuid.UUID,
    promo_code_id: uuid.UUID,
    *,
    code: str | _Unset = UNSET,
    collaboration_id: uuid.UUID | _Unset = UNSET,
    description: str | _Unset | None = UNSET,
    active: bool | _Unset = UNSET,
    generic: bool | _Unset = UNSET,
) -> PromoCode:
    """Partial update; only the arguments passed change."""
    promo = await PromoCodeRepository(session, brand_id).get_or_404(promo_code_id, for_update=True)
    changes: dict[str, Any] = {}
    if not isinstance(collaboration_id, _Unset):
        await _require_collaboration(session, brand_id, collaboration_id)
        changes["collaboration_id"] = collaboration_id
    if not isinstance(code, _Unset):
        changes["code"] = code
    if not isinstance(description, _Unset):
        changes["description"] = description
    if not isinstance(active, _Unset):
        changes["active"] = active
    if not isinstance(generic, _Unset):
        changes["generic"] = generic

    def mutate() -> None:
        for name, value in changes.items():
            setattr(promo, name, value)

    await _write(session, brand_id, changes.get("code", promo.code), mutate)
    await session.refresh(promo)
    return promo


async def delete_promo_code(
    session: AsyncSession, brand_id: uuid.UUID, promo_code_id: uuid.UUID
) -> None:
    promo = await PromoCodeRepository(session, brand_id).get_or_404(promo_code_id, for_update=True)
    await session.delete(promo)
    await session.flush()
