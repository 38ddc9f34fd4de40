"""Small async factories. Each commits, as a real caller's transaction would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.brands import service as brands


@dataclass(frozen=True)
class Tenant:
    brand_id: uuid.UUID
    key_id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_tenant(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str = "Brand",
    *,
    scopes: list[str] | None = None,
    allowed_domains: list[str] | None = None,
) -> Tenant:
    async with sessionmaker() as session, session.begin():
        brand = await brands.create_brand(
            session, name, allowed_domains=allowed_domains or ["shop.example.com"]
        )
        issued = await brands.issue_key(session, brand.id, name="test", scopes=scopes)
    return Tenant(brand_id=brand.id, key_id=issued.key.id, key=issued.secret)


async def make_key(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, scopes: list[str]
) -> str:
    async with sessionmaker() as session, session.begin():
        issued = await brands.issue_key(session, brand_id, name="extra", scopes=scopes)
    return issued.secret
