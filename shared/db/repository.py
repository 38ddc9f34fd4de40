"""Brand scoping in one place: every read of a brand-owned table starts here."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.base import Base
from shared.errors import NotFound

M = TypeVar("M", bound=Base)


class BrandScopedRepository(Generic[M]):
    """Queries over one brand-owned model. Another brand's id is indistinguishable from an
    unknown one: both raise the model's NotFound (404), never 403."""

    model: ClassVar[type[Any]]
    not_found: ClassVar[type[NotFound]] = NotFound

    def __init__(self, session: AsyncSession, brand_id: uuid.UUID) -> None:
        self.session = session
        self.brand_id = brand_id

    def scoped(self) -> Select[Any]:
        return select(self.model).where(self.model.brand_id == self.brand_id)

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> M | None:
        stmt = self.scoped().where(self.model.id == id_)
        if for_update:
            stmt = stmt.with_for_update()
        return cast(M | None, (await self.session.execute(stmt)).scalar_one_or_none())

    async def get_or_404(self, id_: uuid.UUID, *, for_update: bool = False) -> M:
        row = await self.get(id_, for_update=for_update)
        if row is None:
            raise self.not_found(detail=f"No {self.not_found.resource} with id {id_}.")
        return row

    async def get_ref_or_404(self, id_: uuid.UUID, loc: list[str | int]) -> M:
        """A row referenced from a request (e.g. `collaboration_id` in a body): unknown or
        another brand's answers the same 404, naming where the reference came from."""
        row = await self.get(id_)
        if row is None:
            resource = self.not_found.resource
            raise self.not_found(
                detail=f"No {resource} with id {id_}.",
                errors=[{"loc": loc, "msg": f"Unknown {resource}."}],
            )
        return row

    def add(self, row: M) -> M:
        self.session.add(row)
        return row
