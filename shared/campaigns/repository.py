"""Campaign queries: campaigns, their hashtags, KPI targets and cost lines, brand-scoped."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, case, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from shared.db.base import uuid7
from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import Campaign, CampaignHashtag, Collaboration, CostLine, KpiTarget
from shared.models.enums import CampaignStatus


class CampaignNotFound(NotFound):
    resource = "campaign"


class KpiTargetNotFound(NotFound):
    resource = "KPI target"


class CostLineNotFound(NotFound):
    resource = "cost line"


class CollaborationNotFound(NotFound):
    resource = "collaboration"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CampaignRepository(BrandScopedRepository[Campaign]):
    model = Campaign
    not_found = CampaignNotFound

    def filtered(
        self, *, status: str | None = None, goal: str | None = None, q: str | None = None
    ) -> Select[Any]:
        stmt = self.scoped()
        if status is not None:
            stmt = stmt.where(Campaign.status == status)
        if goal is not None:
            stmt = stmt.where(Campaign.goal == goal)
        if q:
            stmt = stmt.where(Campaign.name.ilike(f"%{_escape_like(q)}%", escape="\\"))
        return stmt

    async def insert(self, values: dict[str, Any]) -> Campaign | None:
        """INSERT the campaign; None when the brand already has a campaign with this slug.

        Uniqueness is the DDL's (uq_campaigns_brand_slug): ON CONFLICT DO NOTHING waits for a
        concurrent insert of the same slug to commit or roll back, so exactly one wins.
        """
        stmt = (
            insert(Campaign)
            .values(id=uuid7(), brand_id=self.brand_id, **values)
            .on_conflict_do_nothing(constraint="uq_campaigns_brand_slug")
            .returning(Campaign)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def transition(
        self, campaign_id: uuid.UUID, to: str, allowed_from: Sequence[str]
    ) -> tuple[str, Campaign] | None:
        """Move the campaign to `to` if its status is one of `allowed_from`, in one statement.

        Returns (previous status, campaign) or None when no row matched (unknown id, another
        brand's, or a status the transition may not start from). The row is locked by the
        inner SELECT ... FOR UPDATE, so a racing transition waits, then sees this one's result
        and is re-checked against it: two transitions cannot both start from the same status.
        """
        prev = (
            select(Campaign.id, Campaign.status)
            .where(Campaign.id == campaign_id, Campaign.brand_id == self.brand_id)
            .with_for_update()
            .subquery("prev")
        )
        stmt = (
            update(Campaign)
            .where(Campaign.id == prev.c.id, Campaign.status.in_(list(allowed_from)))
            .values(status=to, status_changed_at=func.now(), updated_at=func.now())
            .returning(prev.c.status, Campaign)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def delete_draft(self, campaign_id: uuid.UUID) -> bool:
        stmt = (
            delete(Campaign)
            .where(
                Campaign.id == campaign_id,
                Campaign.brand_id == self.brand_id,
                Campaign.status == CampaignStatus.DRAFT.value,
            )
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def has_money_rows(self, campaign_id: uuid.UUID) -> bool:
        """Whether cost lines or collaborations exist: both are in the campaign currency."""
        stmt = select(
            exists().where(CostLine.campaign_id == campaign_id)
            | exists().where(Collaboration.campaign_id == campaign_id)
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    # -- hashtags ---------------------------------------------------------------------------

    async def hashtags_for(self, campaign_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        out: dict[uuid.UUID, list[str]] = defaultdict(list)
        if not campaign_ids:
            return out
        stmt = (
            select(CampaignHashtag.campaign_id, CampaignHashtag.tag)
            .where(
                CampaignHashtag.brand_id == self.brand_id,
                CampaignHashtag.campaign_id.in_(list(campaign_ids)),
            )
            .order_by(CampaignHashtag.campaign_id, CampaignHashtag.tag)
        )
        for campaign_id, tag in (await self.session.execute(stmt)).all():
            out[campaign_id].append(tag)
        return out

    async def replace_hashtags(self, campaign_id: uuid.UUID, tags: Sequence[str]) -> list[str]:
        """Make `tags` the campaign's whole set. Returns the tags it could not take because
        another campaign of the brand owns them (uq_campaign_hashtags_brand_tag decides)."""
        await self.session.execute(
            delete(CampaignHashtag)
            .where(
                CampaignHashtag.brand_id == self.brand_id,
                CampaignHashtag.campaign_id == campaign_id,
            )
            .execution_options(synchronize_session=False)
        )
        if not tags:
            return []
        stmt = (
            insert(CampaignHashtag)
            .values(
                [
                    {"id": uuid7(), "brand_id": self.brand_id, "campaign_id": campaign_id, "tag": t}
                    for t in tags
                ]
            )
            .on_conflict_do_nothing(constraint="uq_campaign_hashtags_brand_tag")
            .returning(CampaignHashtag.tag)
        )
        inserted = set((await self.session.execute(stmt)).scalars().all())
        return [t for t in tags if t not in inserted]

    async def owner_of_hashtag(self, tag: str) -> Campaign | None:
        stmt = (
            self.scoped()
            .join(CampaignHashtag, CampaignHashtag.campaign_id == Campaign.id)
            .where(CampaignHashtag.brand_id == self.brand_id, CampaignHashtag.tag == tag)
        )
        owner: Campaign | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return owner

    async def find_by_hashtags(self, tags: Sequence[str]) -> Campaign | None:
        """The campaign owning any of `tags`. Tags are unique per brand, so several matches
        mean a caption names several campaigns: prefer an active one, then paused, then the
        most recently created."""
        if not tags:
            return None
        rank = case(
            (Campaign.status == CampaignStatus.ACTIVE.value, 0),
            (Campaign.status == CampaignStatus.PAUSED.value, 1),
            else_=2,
        )
        stmt = (
            self.scoped()
            .join(CampaignHashtag, CampaignHashtag.campaign_id == Campaign.id)
            .where(CampaignHashtag.brand_id == self.brand_id, CampaignHashtag.tag.in_(list(tags)))
            .order_by(rank, Campaign.created_at.desc(), Campaign.id.desc())
            .limit(1)
        )
        found: Campaign | None = (await self.session.execute(stmt)).scalars().first()
        return found

    # -- KPI targets (read side used by the campaign response) ------------------------------

    async def kpis_for(self, campaign_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[KpiTarget]]:
        out: dict[uuid.UUID, list[KpiTarget]] = defaultdict(list)
        if not campaign_ids:
            return out
        stmt = (
            select(KpiTarget)
            .where(
                KpiTarget.brand_id == self.brand_id,
                KpiTarget.campaign_id.in_(list(campaign_ids)),
            )
            .order_by(KpiTarget.campaign_id, KpiTarget.deadline, KpiTarget.metric)
        )
        for kpi in (await self.session.execute(stmt)).scalars().all():
            out[kpi.campaign_id].append(kpi)
        return out

    async def kpi_deadlines_outside(
        self, campaign_id: uuid.UUID, starts_on: date | None, ends_on: date | None
    ) -> list[KpiTarget]:
        """KPI targets whose deadline would fall outside [starts_on, ends_on] (either open)."""
        conds = []
        if starts_on is not None:
            conds.append(KpiTarget.deadline < starts_on)
        if ends_on is not None:
            conds.append(KpiTarget.deadline > ends_on)
        if not conds:
            return []
        stmt = (
            select(KpiTarget)
            .where(KpiTarget.campaign_id == campaign_id, or_(*conds))
            .order_by(KpiTarget.deadline)
        )
        return list((await self.session.execute(stmt)).scalars().all())


class KpiTargetRepository(BrandScopedRepository[KpiTarget]):
    model = KpiTarget
    not_found = KpiTargetNotFound

    def for_campaign(self, campaign_id: uuid.UUID) -> Select[Any]:
        return self.scoped().where(KpiTarget.campaign_id == campaign_id)

    async def get_in_campaign_or_404(
        self, campaign_id: uuid.UUID, kpi_id: uuid.UUID, *, for_update: bool = False
    ) -> KpiTarget:
        stmt = self.for_campaign(campaign_id).where(KpiTarget.id == kpi_id)
        if for_update:
            stmt = stmt.with_for_update()
        row: KpiTarget | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise KpiTargetNotFound(detail=f"No KPI target with id {kpi_id} in this campaign.")
        return row

    async def insert(self, values: dict[str, Any]) -> KpiTarget | None:
        """None when the campaign already has this (metric, deadline): uq_kpi_targets_metric."""
        stmt = (
            insert(KpiTarget)
            .values(id=uuid7(), brand_id=self.brand_id, **values)
            .on_conflict_do_nothing(constraint="uq_kpi_targets_metric")
            .returning(KpiTarget)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class CostLineRepository(BrandScopedRepository[CostLine]):
    model = CostLine
    not_found = CostLineNotFound

    def for_campaign(
        self,
        campaign_id: uuid.UUID,
        *,
        category: str | None = None,
        paid: bool | None = None,
        collaboration_id: uuid.UUID | None = None,
    ) -> Select[Any]:
        stmt = self.scoped().where(CostLine.campaign_id == campaign_id)
        if category is not None:
            stmt = stmt.where(CostLine.category == category)
        if paid is not None:
            stmt = stmt.where(CostLine.paid_at.is_not(None) if paid else CostLine.paid_at.is_(None))
        if collaboration_id is not None:
            stmt = stmt.where(CostLine.collaboration_id == collaboration_id)
        return stmt

    async def get_in_campaign_or_404(
        self, campaign_id: uuid.UUID, cost_id: uuid.UUID, *, for_update: bool = False
    ) -> CostLine:
        stmt = self.for_campaign(campaign_id).where(CostLine.id == cost_id)
        if for_update:
            stmt = stmt.with_for_update()
        row: CostLine | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise CostLineNotFound(detail=f"No cost line with id {cost_id} in this campaign.")
        return row

    async def collaboration_in_campaign(
        self, campaign_id: uuid.UUID, collaboration_id: uuid.UUID
    ) -> bool:
        """Whether the collaboration belongs to this brand AND this campaign."""
        stmt = select(
            exists().where(
                Collaboration.id == collaboration_id,
                Collaboration.brand_id == self.brand_id,
                Collaboration.campaign_id == campaign_id,
            )
        )
        return bool((await self.session.execute(stmt)).scalar_one())
