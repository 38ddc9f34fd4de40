"""Queries over collaborations, their timeline, contract terms, deliverables and reviews.

Every read starts from a brand-scoped statement; another brand's id is a 404 like an unknown
one. The "current contract" of a collaboration is its highest frozen terms version: drafts
(not yet frozen) are proposals, not contracts in force.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased

from shared.campaigns.repository import CampaignRepository
from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.influencers.repository import InfluencerRepository
from shared.models import (
    Campaign,
    Collaboration,
    CollaborationEvent,
    ContractTerms,
    Deliverable,
    DeliverableReview,
    Influencer,
)
from shared.models.enums import CollaborationStatus


class CollaborationNotFound(NotFound):
    resource = "collaboration"


class TermsNotFound(NotFound):
    resource = "contract terms"


class DeliverableNotFound(NotFound):
    resource = "deliverable"


# Statuses in which a contract is in force: deliverables can be worked on, usage rights run.
CONTRACT_IN_FORCE = (
    CollaborationStatus.CONTRACTED.value,
    CollaborationStatus.ACTIVE.value,
    CollaborationStatus.COMPLETED.value,
)
# Statuses in which deliverables move (submitted, reviewed, published, marked missed).
WORKING = (CollaborationStatus.CONTRACTED.value, CollaborationStatus.ACTIVE.value)


class CollaborationRepository(BrandScopedRepository[Collaboration]):
    model = Collaboration
    not_found = CollaborationNotFound

    async def get_fresh(self, id_: uuid.UUID, *, lock: str | None = None) -> Collaboration:
        """The row as committed now (refreshing the identity map), optionally locked
        (`lock="update"` or `"share"`)."""
        stmt = self.scoped().where(Collaboration.id == id_)
        if lock == "update":
            stmt = stmt.with_for_update()
        elif lock == "share":
            stmt = stmt.with_for_update(read=True)
        stmt = stmt.execution_options(populate_existing=True)
        row: Collaboration | None = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise self.not_found(detail=f"No collaboration with id {id_}.")
        return row

    async def current_status(self, id_: uuid.UUID) -> str | None:
        stmt = select(Collaboration.status).where(
            Collaboration.id == id_, Collaboration.brand_id == self.brand_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def filtered(
        self,
        *,
        campaign_id: uuid.UUID | None = None,
        influencer_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if campaign_id is not None:
            stmt = stmt.where(Collaboration.campaign_id == campaign_id)
        if influencer_id is not None:
            stmt = stmt.where(Collaboration.influencer_id == influencer_id)
        if status is not None:
            stmt = stmt.where(Collaboration.status == status)
        return stmt

    def timeline(self, collaboration_id: uuid.UUID) -> Select[Any]:
        return select(CollaborationEvent).where(
            CollaborationEvent.brand_id == self.brand_id,
            CollaborationEvent.collaboration_id == collaboration_id,
        )

    async def campaign(self, campaign_id: uuid.UUID) -> Campaign:
        repo = CampaignRepository(self.session, self.brand_id)
        return await repo.get_ref_or_404(campaign_id, ["body", "campaign_id"])

    async def influencer(self, influencer_id: uuid.UUID) -> Influencer:
        repo = InfluencerRepository(self.session, self.brand_id)
        return await repo.get_ref_or_404(influencer_id, ["body", "influencer_id"])


class ContractTermsRepository(BrandScopedRepository[ContractTerms]):
    model = ContractTerms
    not_found = TermsNotFound

    def versions(self, collaboration_id: uuid.UUID) -> Select[Any]:
        return self.scoped().where(ContractTerms.collaboration_id == collaboration_id)

    async def latest(
        self, collaboration_id: uuid.UUID, *, for_update: bool = False
    ) -> ContractTerms | None:
        """The highest version, draft or frozen (what GET .../terms shows)."""
        stmt = (
            self.versions(collaboration_id)
            .order_by(ContractTerms.version.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        row: ContractTerms | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return row


def in_force_terms() -> Select[Any]:
    """Every collaboration's contract in force (its highest frozen version), across brands,
    for collaborations whose contract still runs (contracted, active, completed)."""
    later = aliased(ContractTerms)
    return (
        select(ContractTerms)
        .join(Collaboration, Collaboration.id == ContractTerms.collaboration_id)
        .where(
            ContractTerms.frozen_at.is_not(None),
            Collaboration.status.in_(CONTRACT_IN_FORCE),
            ~exists().where(
                and_(
                    later.collaboration_id == ContractTerms.collaboration_id,
                    later.frozen_at.is_not(None),
                    later.version > ContractTerms.version,
                )
            ),
        )
    )


class DeliverableRepository(BrandScopedRepository[Deliverable]):
    model = Deliverable
    not_found = DeliverableNotFound

    def filtered(
        self,
        *,
        collaboration_id: uuid.UUID | None = None,
        campaign_id: uuid.UUID | None = None,
        status: str | None = None,
        overdue: bool = False,
    ) -> Select[Any]:
        stmt = self.scoped()
        if collaboration_id is not None:
            stmt = stmt.where(Deliverable.collaboration_id == collaboration_id)
        if campaign_id is not None:
            stmt = stmt.where(
                Deliverable.collaboration_id.in_(
                    select(Collaboration.id).where(
                        Collaboration.brand_id == self.brand_id,
                        Collaboration.campaign_id == campaign_id,
                    )
                )
            )
        if status is not None:
            stmt = stmt.where(Deliverable.status == status)
        if overdue:
            stmt = stmt.where(*overdue_clauses())
        return stmt

    def reviews(self, deliverable_id: uuid.UUID) -> Select[Any]:
        return select(DeliverableReview).where(
            DeliverableReview.brand_id == self.brand_id,
            DeliverableReview.deliverable_id == deliverable_id,
        )


def overdue_clauses() -> list[Any]:
    """Due in the past, neither published nor missed, and the collaboration still working
    (a cancelled collaboration's leftovers are not overdue)."""
    return [
        Deliverable.due_at < func.now(),
        Deliverable.status.not_in(("published", "missed")),
        exists().where(
            Collaboration.id == Deliverable.collaboration_id,
            Collaboration.status.in_(WORKING),
        ),
    ]
