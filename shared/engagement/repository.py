"""Engagement queries: posts, snapshots, comments, follower readings, signal versions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Table,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.repository import BrandScopedRepository
from shared.errors import NotFound
from shared.models import (
    AccountSignalMark,
    AccountSignals,
    Collaboration,
    Deliverable,
    Influencer,
    Post,
    PostComment,
    PostMetricSnapshot,
    SocialAccount,
)
from shared.models.engagement import METRICS


class PostNotFound(NotFound):
    resource = "post"


class DeliverableRefNotFound(NotFound):
    resource = "deliverable"


class AccountRefNotFound(NotFound):
    resource = "social account"


class CampaignRefNotFound(NotFound):
    resource = "campaign"


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: uuid.UUID
    influencer_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class DeliverableRef:
    id: uuid.UUID
    collaboration_id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    platform: str
    post_url: str | None
    external_post_id: str | None


@dataclass(frozen=True, slots=True)
class PostFilters:
    matched: bool | None = None  # matched to a roster account
    has_deliverable: bool | None = None
    account_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    deliverable_id: uuid.UUID | None = None
    platform: str | None = None


def _table(model: Any) -> Table:
    """The Core table of a model: Core inserts skip the ORM's per-row bookkeeping (hot path)."""
    return cast(Table, model.__table__)


# What ingestion needs to know of a stored post.
_POST_VIEW = (
    Post.id,
    Post.account_id,
    Post.deliverable_id,
    Post.campaign_id,
    Post.handle,
    Post.account_external_id,
    Post.post_url,
    Post.post_url_key,
    Post.posted_at,
    Post.content_type,
    Post.caption,
    Post.language,
    Post.paid_partnership,
    Post.disclosed,
    Post.sponsored,
    Post.external_post_id,
    Post.platform,
    Post.matched_by,
)


# Statements of the ingestion hot path, built once: every execution hits the compiled cache.
_POST_DEFAULTS: dict[str, Any] = {
    "integration_id": None,
    "account_id": None,
    "handle": None,
    "account_external_id": None,
    "post_url": None,
    "post_url_key": None,
    "posted_at": None,
    "content_type": "post",
    "caption": None,
    "language": None,
    "paid_partnership": False,
    "disclosed": False,
    "sponsored": False,
    "deliverable_id": None,
    "campaign_id": None,
    "matched_by": {},
}
_INSERT_POST = (
    insert(_table(Post))
    .on_conflict_do_nothing(constraint="uq_posts_external")
    .returning(*_POST_VIEW)
)
_INSERT_SNAPSHOT = (
    insert(_table(PostMetricSnapshot))
    .on_conflict_do_nothing(constraint="uq_post_metric_snapshots_time")
    .returning(PostMetricSnapshot.post_id)
)
_INSERT_COMMENTS = (
    insert(_table(PostComment))
    .on_conflict_do_nothing(constraint="uq_post_comments_external")
    .returning(PostComment.post_id)
)


_FIND_POSTS = text(
    f"SELECT {', '.join('p.' + c.key for c in _POST_VIEW)} FROM posts p "  # noqa: S608
    "JOIN unnest(CAST(:platforms AS text[]), CAST(:ids AS text[])) AS k(platform, external_id) "
    "ON p.platform = k.platform AND p.external_post_id = k.external_id "
    "WHERE p.brand_id = :brand"
)
_DELIVERABLE_CANDIDATES = text(
    "SELECT k.n, d.id, d.collaboration_id, c.campaign_id, c.influencer_id, d.platform, "
    "d.post_url, d.external_post_id "
    "FROM unnest(CAST(:platforms AS text[]), CAST(:ids AS text[]), "
    "CAST(:fragments AS text[])) WITH ORDINALITY AS k(platform, external_id, fragment, n) "
    "JOIN deliverables d ON d.brand_id = :brand AND d.platform = k.platform "
    "AND (d.external_post_id = k.external_id "
    "OR (k.fragment IS NOT NULL AND strpos(d.post_url, k.fragment) > 0)) "
    "JOIN collaborations c ON c.id = d.collaboration_id"
)
_RECORD_FOLLOWERS = text(
    "INSERT INTO follower_snapshots (brand_id, account_id, followers, captured_at) "
    "SELECT :brand, :account, :followers, :at WHERE (SELECT followers FROM "
    "follower_snapshots WHERE account_id = :account AND captured_at <= :at "
    "ORDER BY captured_at DESC LIMIT 1) IS DISTINCT FROM :followers "
    "ON CONFLICT ON CONSTRAINT uq_follower_snapshots_account_time DO NOTHING"
)


async def fold_posts(session: AsyncSession, post_ids: Sequence[uuid.UUID]) -> None:
    """Bring the posts' latest-metrics and comment-sentiment columns up to date from their
    snapshots and comments. Per metric, the value of the newest snapshot that reported it:
    order-independent, so the same snapshots give the same row whatever order they
    arrived in, and a late older snapshot never overwrites a newer value."""
    ids = sorted(set(post_ids))  # a stable lock order
    if not ids:
        return
    latest = ", ".join(
        f"(array_agg({m} ORDER BY captured_at DESC) FILTER (WHERE {m} IS NOT NULL))[1] AS {m}"
        for m in METRICS
    )
    assign = ", ".join(f"{m} = s.{m}" for m in METRICS)
    await session.execute(
        text(
            f"UPDATE posts SET metrics_captured_at = s.at, {assign} "  # noqa: S608
            f"FROM (SELECT post_id, max(captured_at) AS at, {latest} "
            "FROM post_metric_snapshots WHERE post_id = ANY(:ids) GROUP BY post_id) AS s "
            "WHERE posts.id = s.post_id"
        ),
        {"ids": ids},
    )
    await session.execute(
        text(
            "UPDATE posts SET comments_positive = c.pos, comments_neutral = c.neu, "
            "comments_negative = c.neg, comments_unscored = c.uns "
            "FROM (SELECT post_id, count(*) FILTER (WHERE sentiment = 'positive') AS pos, "
            "count(*) FILTER (WHERE sentiment = 'neutral') AS neu, "
            "count(*) FILTER (WHERE sentiment = 'negative') AS neg, "
            "count(*) FILTER (WHERE sentiment = 'unscored') AS uns "
            "FROM post_comments WHERE post_id = ANY(:ids) GROUP BY post_id) AS c "
            "WHERE posts.id = c.post_id"
        ),
        {"ids": ids},
    )


class PostRepository(BrandScopedRepository[Post]):
    model = Post
    not_found = PostNotFound

    def filtered(self, f: PostFilters) -> Select[Any]:
        stmt = self.scoped()
        if f.matched is not None:
            stmt = stmt.where(
                Post.account_id.is_not(None) if f.matched else Post.account_id.is_(None)
            )
        if f.has_deliverable is not None:
            stmt = stmt.where(
                Post.deliverable_id.is_not(None)
                if f.has_deliverable
                else Post.deliverable_id.is_(None)
            )
        if f.account_id is not None:
            stmt = stmt.where(Post.account_id == f.account_id)
        if f.campaign_id is not None:
            stmt = stmt.where(Post.campaign_id == f.campaign_id)
        if f.deliverable_id is not None:
            stmt = stmt.where(Post.deliverable_id == f.deliverable_id)
        if f.platform is not None:
            stmt = stmt.where(Post.platform == f.platform)
        return stmt

    # -- ingestion ----------------------------------------------------------------------
    async def accounts_by_handle(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], AccountRef]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        platforms = [k[0] for k in wanted]
        handles = [k[1] for k in wanted]
        stmt = text(
            "SELECT a.id, a.influencer_id, a.platform, a.handle FROM social_accounts a "
            "JOIN unnest(CAST(:platforms AS text[]), CAST(:handles AS text[])) AS k(p, h) "
            "ON a.platform = k.p AND a.handle = k.h WHERE a.brand_id = :brand"
        )
        rows = await self.session.execute(
            stmt, {"platforms": platforms, "handles": handles, "brand": self.brand_id}
        )
        return {(r.platform, r.handle): AccountRef(r.id, r.influencer_id) for r in rows}

    async def find_posts(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """Stored posts by (platform, external post id); one query."""
        if not keys:
            return {}
        rows = await self.session.execute(
            _FIND_POSTS,
            {
                "brand": self.brand_id,
                "platforms": [k[0] for k in keys],
                "ids": [k[1] for k in keys],
            },
        )
        return {(r.platform, r.external_post_id): r for r in rows}

    async def lock_posts(self, post_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """Lock posts FOR UPDATE in id order and return their current state."""
        if not post_ids:
            return {}
        stmt = (
            select(*_POST_VIEW)
            .where(Post.brand_id == self.brand_id, Post.id.in_(sorted(post_ids)))
            .order_by(Post.id)
            .with_for_update()
        )
        return {r.id: r for r in await self.session.execute(stmt)}

    async def insert_posts(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        """INSERT the posts in the order given (callers sort by key: a stable lock order);
        returns the ones inserted by key. A post that exists already is skipped, never locked
        (ON CONFLICT DO NOTHING). Rows may omit optional columns."""
        if not rows:
            return {}
        params = [{**_POST_DEFAULTS, **row} for row in rows]
        # executemany: one cached statement, sent as multi-row INSERTs (insertmanyvalues).
        result = await self.session.execute(_INSERT_POST, params)
        return {(r.platform, r.external_post_id): r for r in result}

    async def update_post(self, post_id: uuid.UUID, values: dict[str, Any]) -> None:
        if values:
            await self.session.execute(
                update(Post)
                .where(Post.id == post_id)
                .values(**values, updated_at=func.now())
                .execution_options(synchronize_session=False)
            )

    async def add_snapshots(
        self, rows: Sequence[tuple[uuid.UUID, datetime, dict[str, int | None]]]
    ) -> list[uuid.UUID]:
        """Store metrics readings (post id, captured_at, values); a (post, captured_at) already
        stored is skipped. Returns the post id of each reading stored."""
        if not rows:
            return []
        params = [
            {m: values.get(m) for m in METRICS}
            | {"brand_id": self.brand_id, "post_id": post_id, "captured_at": captured_at}
            for post_id, captured_at, values in rows
        ]
        return list((await self.session.execute(_INSERT_SNAPSHOT, params)).scalars())

    async def add_comments(self, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
        """Insert new comments (rows with post_id, external_id, text, posted_at, sentiment,
        sentiment_score; a known (post, external id) is skipped). Returns the post id of each
        comment stored."""
        if not rows:
            return []
        params = [{"brand_id": self.brand_id, **r} for r in rows]
        return list((await self.session.execute(_INSERT_COMMENTS, params)).scalars())

    # -- matching ---------------------------------------------------------------------------
    def _deliverables(self) -> Any:  # Select of DeliverableRef's columns
        stmt = (
            select(
                Deliverable.id,
                Deliverable.collaboration_id,
                Collaboration.campaign_id,
                Collaboration.influencer_id,
                Deliverable.platform,
                Deliverable.post_url,
                Deliverable.external_post_id,
            )
            .join(Collaboration, Collaboration.id == Deliverable.collaboration_id)
            .where(Deliverable.brand_id == self.brand_id)
        )
        return stmt

    async def deliverable_candidates(
        self, posts: Sequence[tuple[Any, str, str, str | None]]
    ) -> dict[Any, list[DeliverableRef]]:
        """Deliverables each post may be, for (key, platform, external post id, normalised
        URL) tuples: same platform and external post id, or a stored post URL containing the
        URL's path (the caller compares the normalised URLs exactly). One query."""
        if not posts:
            return {}
        fragments = []
        for _, _, _, url_key in posts:
            fragment = None
            if url_key:
                _host, slash, rest = url_key.partition("/")
                if slash and rest:
                    fragment = "/" + rest.split("?", 1)[0]
            fragments.append(fragment)
        rows = await self.session.execute(
            _DELIVERABLE_CANDIDATES,
            {
                "brand": self.brand_id,
                "platforms": [p[1] for p in posts],
                "ids": [p[2] for p in posts],
                "fragments": fragments,
            },
        )
        out: dict[Any, list[DeliverableRef]] = {}
        for r in rows:
            out.setdefault(posts[r.n - 1][0], []).append(DeliverableRef(*r[1:]))
        return out

    async def deliverable(self, deliverable_id: uuid.UUID) -> DeliverableRef:
        row = (
            await self.session.execute(self._deliverables().where(Deliverable.id == deliverable_id))
        ).first()
        if row is None:
            raise DeliverableRefNotFound(detail=f"No deliverable with id {deliverable_id}.")
        return DeliverableRef(*row)

    async def accounts_of_influencer(
        self, influencer_id: uuid.UUID, platform: str
    ) -> list[uuid.UUID]:
        stmt = select(SocialAccount.id).where(
            SocialAccount.brand_id == self.brand_id,
            SocialAccount.influencer_id == influencer_id,
            SocialAccount.platform == platform,
        )
        return list((await self.session.execute(stmt)).scalars())

    async def account(self, account_id: uuid.UUID) -> SocialAccount:
        row = (
            await self.session.execute(
                select(SocialAccount).where(
                    SocialAccount.brand_id == self.brand_id, SocialAccount.id == account_id
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise AccountRefNotFound(detail=f"No social account with id {account_id}.")
        account: SocialAccount = row
        return account

    async def set_disclosure(self, deliverable_id: uuid.UUID, missing: bool | None) -> bool:
        """Set deliverables.disclosure_missing (None: unknown, no post linked); True when the
        value changed."""
        stmt = (
            update(Deliverable)
            .where(
                Deliverable.id == deliverable_id,
                Deliverable.brand_id == self.brand_id,
                Deliverable.disclosure_missing.is_distinct_from(missing),
            )
            .values(disclosure_missing=missing)
            .returning(Deliverable.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).first() is not None

    # -- followers ----------------------------------------------------------------------------
    async def record_followers(self, readings: Sequence[tuple[uuid.UUID, datetime, int]]) -> None:
        """Follower readings (account, captured_at, followers): a history row when the count
        differs from the reading just before it. Insert-only (the account row itself is
        brought up to date by the signals recompute, see shared/engagement/signals.py
        `apply_latest_followers`). One statement per reading, sent together (executemany),
        so each reading sees the ones before it."""
        if not readings:
            return
        await self.session.execute(
            _RECORD_FOLLOWERS,
            [
                {"brand": self.brand_id, "account": a, "followers": f, "at": at}
                for a, at, f in readings
            ],
        )

    # -- signals bookkeeping ------------------------------------------------------------------
    async def mark_stale(self, marks: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
        """Append staleness marks, (account, post whose data changed or None). Insert-only:
        no row of the account or post is locked."""
        rows = sorted(set(marks), key=lambda m: (m[0], m[1] or uuid.UUID(int=0)))
        if rows:
            await self.session.execute(
                insert(_table(AccountSignalMark)),
                [{"brand_id": self.brand_id, "account_id": a, "post_id": p} for a, p in rows],
            )


# -- discovery ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DiscoveryFilters:
    """Accounts with computed signals. Audience filters read the account's distributions
    (percent): `audience_age="18-24", min_age_share=40` = at least 40% aged 18-24."""

    min_engagement_rate: float | None = None
    max_engagement_rate: float | None = None
    min_authenticity: int | None = None
    max_sponsored_share: float | None = None
    platform: str | None = None
    tier: str | None = None
    niche: str | None = None
    audience_country: str | None = None
    min_country_share: float | None = None
    audience_age: str | None = None
    min_age_share: float | None = None
    audience_gender: str | None = None
    min_gender_share: float | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)


def account_signal_conditions(
    f: DiscoveryFilters, *, signals_joined: bool = False
) -> list[ColumnElement[bool]]:
    """Conditions on one SocialAccount row for the signal and audience filters: engagement
    rate, authenticity, sponsored share (from its account_signals row: an EXISTS, or plain
    conditions when the caller's query joins account_signals already) and audience shares
    (percent, from its distributions)."""
    out: list[ColumnElement[bool]] = []
    signal: list[ColumnElement[bool]] = []
    if f.min_engagement_rate is not None:
        signal.append(AccountSignals.engagement_rate >= f.min_engagement_rate)
    if f.max_engagement_rate is not None:
        signal.append(AccountSignals.engagement_rate <= f.max_engagement_rate)
    if f.min_authenticity is not None:
        signal.append(AccountSignals.authenticity_score >= f.min_authenticity)
    if f.max_sponsored_share is not None:
        signal.append(AccountSignals.sponsored_share <= f.max_sponsored_share)
    if signal and signals_joined:
        out.extend(signal)
    elif signal:
        out.append(exists().where(AccountSignals.account_id == SocialAccount.id, *signal))
    for column, key, minimum in (
        (SocialAccount.audience_countries, f.audience_country, f.min_country_share),
        (SocialAccount.audience_age, f.audience_age, f.min_age_share),
        (SocialAccount.audience_gender, f.audience_gender, f.min_gender_share),
    ):
        if key is not None:
            share = func.coalesce(column[key].astext.cast(Float), 0.0)
            out.append(share >= (minimum if minimum is not None else 0.000001))
    return out


def discovery_statement(brand_id: uuid.UUID, f: DiscoveryFilters) -> Select[Any]:
    stmt = (
        select(AccountSignals)
        .join(SocialAccount, SocialAccount.id == AccountSignals.account_id)
        .where(AccountSignals.brand_id == brand_id, SocialAccount.brand_id == brand_id)
        .where(*account_signal_conditions(f, signals_joined=True))
    )
    if f.platform is not None:
        stmt = stmt.where(SocialAccount.platform == f.platform)
    if f.tier is not None:
        stmt = stmt.where(SocialAccount.tier == f.tier)
    if f.niche is not None:
        stmt = stmt.where(
            exists().where(
                Influencer.id == SocialAccount.influencer_id, Influencer.niches.contains([f.niche])
            )
        )
    return stmt
