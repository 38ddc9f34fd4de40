from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import ApiKey, Brand


class BrandNotFound(NotFound):
    resource = "brand"


class ApiKeyNotFound(NotFound):
    resource = "API key"


class BrandRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, brand_id: uuid.UUID) -> Brand | None:
        return await self.session.get(Brand, brand_id)

    async def get_by_name(self, name: str) -> Brand | None:
        stmt = select(Brand).where(Brand.name == name).order_by(Brand.id).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class ApiKeyRepository(BrandScopedRepository[ApiKey]):
    model = ApiKey
    not_found = ApiKeyNotFound


async def find_active_key(session: AsyncSession, key_hash: bytes) -> tuple[ApiKey, Brand] | None:
    stmt = (
        select(ApiKey, Brand)
        .join(Brand, Brand.id == ApiKey.brand_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])


async def touch_key(
    session: AsyncSession, key_id: uuid.UUID, now: datetime, stale: datetime
) -> None:
    """Refresh last_used_at at most once per window, so a busy key is not a write per request."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < stale))
        .values(last_used_at=now)
    )
