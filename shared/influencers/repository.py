"""Roster queries: influencers, their accounts, follower history and relationship facts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.db.repository import BrandScopedRepository
from shared.engagement.repository import DiscoveryFilters, account_signal_conditions
from shared.errors import InvalidInput, NotFound
from shared.models import Collaboration, FollowerSnapshot, Influencer, SocialAccount


class InfluencerNotFound(NotFound):
    resource = "influencer"


class SocialAccountNotFound(NotFound):
    resource = "social account"


class InfluencerSort(StrEnum):
    CREATED = "created"
    CREATED_DESC = "-created"
    FOLLOWERS = "followers"
    FOLLOWERS_DESC = "-followers"

    @property
    def keys(self) -> list[InstrumentedAttribute[Any]]:
        # Both keys are NOT NULL; the unique id breaks ties (keyset pagination needs that).
        if self in (InfluencerSort.FOLLOWERS, InfluencerSort.FOLLOWERS_DESC):
            return [Influencer.max_followers, Influencer.id]
        return [Influencer.created_at, Influencer.id]

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True, slots=True)
class InfluencerFilters:
    """List (and export) filters. `platform`, `tier`, `min_followers` and `max_followers`
    apply together to ONE account: `platform=instagram&tier=micro` finds influencers with a
    micro Instagram account, not a micro TikTok and any Instagram."""

    platform: str | None = None
    tier: str | None = None
    niche: str | None = None
    country: str | None = None
    language: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    status: str | None = None
    q: str | None = None
    # --- engagement (issue 6): signal and audience filters, on the same one account ---
    signals: DiscoveryFilters | None = None

    def validate(self) -> InfluencerFilters:
        if (
            self.min_followers is not None
            and self.max_followers is not None
            and self.min_followers > self.max_followers
        ):
            raise InvalidInput(
                ["query", "max_followers"], "max_followers must be >= min_followers."
            )
        return self


@dataclass(frozen=True, slots=True)
class CollaborationFacts:
    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class InfluencerRepository(BrandScopedRepository[Influencer]):
    model = Influencer
    not_found = InfluencerNotFound

    def filtered(self, f: InfluencerFilters) -> Select[Any]:
        stmt = self.scoped()
        if f.status:
            stmt = stmt.where(Influencer.status == f.status)
        if f.country:
            stmt = stmt.where(Influencer.country == f.country)
        if f.niche:
            stmt = stmt.where(Influencer.niches.contains([f.niche]))
        if f.language:
            stmt = stmt.where(Influencer.languages.contains([f.language]))
        account: list[ColumnElement[bool]] = []
        if f.platform:
            account.append(SocialAccount.platform == f.platform)
        if f.tier:
            account.append(SocialAccount.tier == f.tier)
        if f.min_followers is not None:
            account.append(SocialAccount.followers >= f.min_followers)
        if f.max_followers is not None:
            account.append(SocialAccount.followers <= f.max_followers)
        if f.signals is not None:  # engagement (issue 6)
            account.extend(account_signal_conditions(f.signals))
        if account:
            stmt = stmt.where(
                exists().where(SocialAccount.influencer_id == Influencer.id, *account)
            )
        if f.q and f.q.strip():
            text = f.q.strip()
            handle = text.lstrip("@").strip().lower()
            matches: list[ColumnElement[bool]] = [
                Influencer.name.ilike(_like_pattern(text), escape="\\")
            ]
            if handle:
                matches.append(
                    exists().where(
                        SocialAccount.influencer_id == Influencer.id,
                        func.lower(SocialAccount.handle).like(_like_pattern(handle), escape="\\"),
                    )
                )
            stmt = stmt.where(or_(*matches))
        return stmt

    async def get_many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Influencer]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(self.scoped().where(Influencer.id.in_(wanted)))
        ).scalars()
        return {r.id: r for r in rows}

    async def accounts_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[SocialAccount]]:
        """Every account of the given influencers in one query, ordered for display."""
        out: dict[uuid.UUID, list[SocialAccount]] = {i: [] for i in ids}
        if not ids:
            return out
        stmt = (
            select(SocialAccount)
            .where(SocialAccount.brand_id == self.brand_id, SocialAccount.influencer_id.in_(ids))
            .order_by(SocialAccount.influencer_id, SocialAccount.followers.desc(), SocialAccount.id)
        )
        for acc in (await self.session.execute(stmt)).scalars():
            out[acc.influencer_id].append(acc)
        return out

    async def collaboration_facts(
        self, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, CollaborationFacts]:
        """Relationship facts from the collaborations table: one aggregate for all `ids`.
        Every collaboration counts, whatever its status (a prospect is part of the history)."""
        if not ids:
            return {}
        stmt = (
            select(
                Collaboration.influencer_id,
                func.count(),
                func.min(Collaboration.created_at),
                func.max(Collaboration.created_at),
            )
            .where(Collaboration.brand_id == self.brand_id, Collaboration.influencer_id.in_(ids))
            .group_by(Collaboration.influencer_id)
        )
        return {
            row[0]: CollaborationFacts(count=row[1], first_at=row[2], last_at=row[3])
            for row in await self.session.execute(stmt)
        }

    async def has_collaborations(self, influencer_id: uuid.UUID) -> bool:
        stmt = select(
            exists().where(
                Collaboration.brand_id == self.brand_id,
                Collaboration.influencer_id == influencer_id,
            )
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def lock(self, ids: Iterable[uuid.UUID]) -> None:
        """Row-lock influencers, in id order, before writing their accounts.

        Every account write takes its influencer's lock first (the API through get_or_404
        with for_update, the import through this), so lock order is the same everywhere and
        a `max_followers` refresh never computes from a snapshot older than a concurrent
        account change it waited for."""
        wanted = sorted(set(ids))
        if wanted:
            await self.session.execute(
                select(Influencer.id)
                .where(Influencer.brand_id == self.brand_id, Influencer.id.in_(wanted))
                .order_by(Influencer.id)
                .with_for_update()
            )

    async def refresh_max_followers(self, ids: Iterable[uuid.UUID]) -> None:
        """Recompute `max_followers` for `ids` in one statement (after any account write)."""
        wanted = list(set(ids))
        if not wanted:
            return
        top = (
            select(func.coalesce(func.max(SocialAccount.followers), 0))
            .where(SocialAccount.influencer_id == Influencer.id)
            .scalar_subquery()
        )
        await self.session.execute(
            update(Influencer)
            .where(Influencer.brand_id == self.brand_id, Influencer.id.in_(wanted))
            .where(Influencer.max_followers.is_distinct_from(top))
            .values(max_followers=top)
            .execution_options(synchronize_session=False)
        )


class SocialAccountRepository(BrandScopedRepository[SocialAccount]):
    model = SocialAccount
    not_found = SocialAccountNotFound

    def of_influencer(self, influencer_id: uuid.UUID) -> Select[Any]:
        return self.scoped().where(SocialAccount.influencer_id == influencer_id)

    async def get_of_influencer_or_404(
        self, influencer_id: uuid.UUID, account_id: uuid.UUID, *, for_update: bool = False
    ) -> SocialAccount:
        """An account id that belongs to another influencer (or brand) is a 404."""
        stmt = self.of_influencer(influencer_id).where(SocialAccount.id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise SocialAccountNotFound(
                detail=f"No social account with id {account_id} on influencer {influencer_id}."
            )
        account: SocialAccount = row
        return account


def follower_history(brand_id: uuid.UUID, account_id: uuid.UUID) -> Select[Any]:
    return select(FollowerSnapshot).where(
        FollowerSnapshot.brand_id == brand_id, FollowerSnapshot.account_id == account_id
    )


async def record_snapshots(
    session: AsyncSession, brand_id: uuid.UUID, points: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """One follower snapshot per (account, followers), stamped with the transaction time.
    A second change of the same account within one transaction overwrites the first, so the
    snapshot says what the transaction committed."""
    latest = dict(points)  # one row per account: a statement may not upsert a row twice
    if not latest:
        return
    stmt = insert(FollowerSnapshot)
    stmt = stmt.on_conflict_do_update(
        constraint="uq_follower_snapshots_account_time",
        set_={"followers": stmt.excluded.followers},
    )
    # executemany: one cached statement, whatever the number of points.
    await session.execute(
        stmt, [{"brand_id": brand_id, "account_id": a, "followers": f} for a, f in latest.items()]
    )
