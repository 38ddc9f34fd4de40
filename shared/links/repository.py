"""Queries over tracking links and the collaboration facts a link's UTM defaults come from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import Campaign, Click, Collaboration, SocialAccount, TrackingLink


class LinkNotFound(NotFound):
    resource = "tracking link"


class LinkCollaborationNotFound(NotFound):
    """A collaboration id in a request body that is unknown or another brand's."""

    resource = "collaboration"


class LinkRepository(BrandScopedRepository[TrackingLink]):
    model = TrackingLink
    not_found = LinkNotFound

    def filtered(
        self,
        *,
        collaboration_id: uuid.UUID | None = None,
        campaign_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Select[Any]:
        stmt = self.scoped()
        if collaboration_id is not None:
            stmt = stmt.where(TrackingLink.collaboration_id == collaboration_id)
        if campaign_id is not None:
            stmt = stmt.join(
                Collaboration, Collaboration.id == TrackingLink.collaboration_id
            ).where(
                Collaboration.campaign_id == campaign_id, Collaboration.brand_id == self.brand_id
            )
        if status is not None:
            stmt = stmt.where(TrackingLink.status == status)
        return stmt

    async def has_clicks(self, link_id: uuid.UUID) -> bool:
        # An index probe on ix_clicks_link_time in each partition; stops at the first row.
        stmt = select(exists().where(Click.link_id == link_id, Click.brand_id == self.brand_id))
        return bool((await self.session.execute(stmt)).scalar_one())


@dataclass(frozen=True, slots=True)
class LinkContext:
    """What a new link's UTM defaults are derived from."""

    collaboration_id: uuid.UUID
    campaign_slug: str
    platform: str | None  # of the influencer's most-followed account; None: no account
    handle: str | None


async def link_context(
    session: AsyncSession, brand_id: uuid.UUID, collaboration_id: uuid.UUID
) -> LinkContext | None:
    """The collaboration (of `brand_id` only), its campaign slug and the influencer's primary
    social account (most followers; ties broken by the oldest id) in one round trip."""
    account = (
        select(SocialAccount.platform, SocialAccount.handle)
        .where(
            SocialAccount.influencer_id == Collaboration.influencer_id,
            SocialAccount.brand_id == Collaboration.brand_id,
        )
        .order_by(SocialAccount.followers.desc(), SocialAccount.id)
        .limit(1)
        .lateral("primary_account")
    )
    stmt = (
        select(Collaboration.id, Campaign.slug, account.c.platform, account.c.handle)
        .join(Campaign, Campaign.id == Collaboration.campaign_id)
        .outerjoin(account, true())
        .where(Collaboration.id == collaboration_id, Collaboration.brand_id == brand_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    return LinkContext(
        collaboration_id=row[0], campaign_slug=row[1], platform=row[2], handle=row[3]
    )


@dataclass(frozen=True, slots=True)
class ClickGroup:
    """One row of the stats query: `dimension` names which grouping it belongs to ('total',
    'day', 'referrer', 'country', 'device'); `key` is that grouping's value."""

    dimension: str
    key: Any
    clicks: int
    unique_clicks: int
    bot_clicks: int


# One scan of the link's clicks in the window (index ix_clicks_link_time, pruned to the
# partitions the window touches), aggregated five ways at once with GROUPING SETS. Bots are
# counted on their own and never in `clicks` or `unique_clicks`.
_STATS_SQL = text(
    """
    SELECT
      CASE
        WHEN grouping(day, referrer_domain, country, device) = 15 THEN 'total'
        WHEN grouping(day) = 0 THEN 'day'
        WHEN grouping(referrer_domain) = 0 THEN 'referrer'
        WHEN grouping(country) = 0 THEN 'country'
        ELSE 'device'
      END AS dimension,
      day, referrer_domain, country, device,
      count(*) FILTER (WHERE NOT is_bot) AS clicks,
      count(*) FILTER (WHERE NOT is_bot AND is_unique) AS unique_clicks,
      count(*) FILTER (WHERE is_bot) AS bot_clicks
    FROM (
      SELECT (clicked_at AT TIME ZONE :tz)::date AS day,
             referrer_domain, country, device, is_bot, is_unique
      FROM clicks
      WHERE link_id = :link_id AND brand_id = :brand_id
        AND clicked_at >= :start AND clicked_at < :end
    ) AS c
    GROUP BY GROUPING SETS ((), (day), (referrer_domain), (country), (device))
    """
)

_DIMENSION_KEY = {"total": None, "day": 1, "referrer": 2, "country": 3, "device": 4}


async def click_groups(
    session: AsyncSession,
    brand_id: uuid.UUID,
    link_id: uuid.UUID,
    start: datetime,
    end: datetime,
    timezone: str,
) -> list[ClickGroup]:
    """Aggregates of the link's clicks in [start, end); days are local to `timezone`."""
    result = await session.execute(
        _STATS_SQL,
        {"tz": timezone, "link_id": link_id, "brand_id": brand_id, "start": start, "end": end},
    )
    groups: list[ClickGroup] = []
    for row in result.all():
        dimension = row[0]
        index = _DIMENSION_KEY[dimension]
        groups.append(
            ClickGroup(
                dimension=dimension,
                key=None if index is None else row[index],
                clicks=int(row[5]),
                unique_clicks=int(row[6]),
                bot_clicks=int(row[7]),
            )
        )
    return groups
