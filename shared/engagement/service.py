"""Engagement rules: ingest deliveries (posts, snapshots, comments, follower readings), match
posts to the roster, deliverables and campaigns, flag missing ad disclosures, link by hand.

Ingestion takes a whole claimed inbox batch at once (`ingest`): its deliveries are merged
per brand and post and written with a fixed number of set-based statements, so a batch of
100 deliveries costs about as many round trips as one.

Every write here runs in the caller's unit of work (the inbox processor's SAVEPOINT, or the
API request) and is idempotent: posts upsert by (brand, platform, external id), snapshots
and comments are skipped when already stored, follower readings are keyed by time. Accounts
whose inputs changed get a staleness mark and a recompute job deferred (enqueued after
commit). Nothing here writes an account-level row (social_accounts, influencers,
account_signals): the inbox processes events in batches, concurrently, and account rows are
what deliveries share, so the per-account recompute job applies follower readings to the
account instead (one job at a time per account, under its signals row lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.repository import CampaignRepository
from shared.campaigns.service import find_campaign_by_hashtags
from shared.db.base import uuid7
from shared.engagement import sentiment
from shared.engagement.matching import hashtags, is_disclosed, normalise_post_url
from shared.engagement.payloads import CommentIn, EngagementBatch, Metrics, PostIn
from shared.engagement.repository import (
    AccountRef,
    CampaignRefNotFound,
    DeliverableRef,
    PostRepository,
    fold_posts,
)
from shared.errors import InvalidInput
from shared.events import record_event
from shared.jobs import JobName, defer_job
from shared.models import Post

_DEFERRED_KEY = "vouch_engagement_signals"
_CAMPAIGN_CACHE_KEY = "vouch_engagement_campaigns"
_ACCOUNT_CACHE_KEY = "vouch_engagement_accounts"


@dataclass(slots=True)
class IngestResult:
    posts: int = 0
    new_posts: int = 0
    snapshots: int = 0
    comments: int = 0
    unmatched_posts: int = 0
    accounts: set[uuid.UUID] = field(default_factory=set)


# A recompute waits this long after the first delivery that needs it, so a burst of
# deliveries for one account (a backlog, a poller's page of posts) costs one recompute.
RECOMPUTE_DELAY = timedelta(seconds=2)


def signals_job_id(account_id: uuid.UUID) -> str:
    """The arq job id of an account's recompute: one queued or running job per account."""
    return f"signals:{account_id}"


def defer_signals(session: AsyncSession, account_ids: Iterable[uuid.UUID]) -> None:
    """One recompute job per account, enqueued after commit. The job id is the account's:
    while one is queued, more deliveries add marks, not jobs (services/worker/jobs/
    engagement.py re-runs while marks keep arriving; the sweeper catches the rest)."""
    seen: set[uuid.UUID] = session.info.setdefault(_DEFERRED_KEY, set())
    for account_id in sorted(set(account_ids) - seen):
        seen.add(account_id)
        defer_job(
            session,
            JobName.RECOMPUTE_ACCOUNT_SIGNALS,
            str(account_id),
            job_id=signals_job_id(account_id),
            _defer_by=RECOMPUTE_DELAY,
        )


async def mark_stale(
    session: AsyncSession,
    brand_id: uuid.UUID,
    marks: Iterable[tuple[uuid.UUID, uuid.UUID | None]],
) -> None:
    """Mark (account, post or None) stale and defer the accounts' recomputes."""
    marks = list(marks)
    await PostRepository(session, brand_id).mark_stale(marks)
    defer_signals(session, {a for a, _ in marks})


# Post fields a delivery may fill in or correct (None: the delivery does not say).
_MERGED = (
    "handle",
    "account_external_id",
    "post_url",
    "post_url_key",
    "posted_at",
    "content_type",
    "caption",
    "language",
    "paid_partnership",
)


@dataclass(slots=True)
class Delivery:
    """One parsed delivery (an inbox event) of a brand."""

    brand_id: uuid.UUID
    integration_id: uuid.UUID | None
    batch: EngagementBatch


@dataclass(slots=True)
class _PostWork:
    """One post of a unit of work: the fields its deliveries said, merged in delivery order
    (a later non-null value wins, as if they had been applied one after the other), and every
    metrics reading and comment they carried."""

    platform: str
    external_post_id: str
    integration_id: uuid.UUID | None
    incoming: dict[str, Any]
    ref: AccountRef | None
    metrics: list[Metrics] = field(default_factory=list)
    comments: list[tuple[CommentIn, str | None]] = field(default_factory=list)
    row: Any = None  # the stored post (its _POST_VIEW columns)
    account_id: uuid.UUID | None = None
    changed: bool = False  # anything the signals read


def _incoming(post: PostIn) -> dict[str, Any]:
    return {
        "handle": post.handle,
        "account_external_id": post.account_external_id,
        "post_url": post.post_url,
        "post_url_key": normalise_post_url(post.post_url),
        "posted_at": post.posted_at,
        "content_type": post.content_type,
        "caption": post.caption,
        "language": post.language,
        "paid_partnership": post.paid_partnership,
    }


async def ingest(session: AsyncSession, deliveries: Sequence[Delivery]) -> IngestResult:
    """Ingest a unit of work's deliveries (one inbox event, or a claimed batch of them) with
    a fixed number of statements per brand, whatever the number of deliveries.

    Lock order. Concurrent inbox batches may carry the same posts and accounts, so every
    kind of row is written in one global order: follower readings by (account, time), new
    posts by (platform, external id), metrics snapshots and comments by post, then the few
    existing posts a delivery changes (or folds) locked by id, then deliverables. Two
    batches therefore never wait on each other in a cycle."""
    result = IngestResult()
    by_brand: dict[uuid.UUID, list[Delivery]] = {}
    for delivery in deliveries:
        by_brand.setdefault(delivery.brand_id, []).append(delivery)
    for brand_id in sorted(by_brand):
        await _ingest_brand(session, brand_id, by_brand[brand_id], result)
    return result


async def _ingest_brand(
    session: AsyncSession, brand_id: uuid.UUID, deliveries: list[Delivery], result: IngestResult
) -> None:
    repo = PostRepository(session, brand_id)
    keys = {(p.platform, p.handle) for d in deliveries for p in d.batch.posts if p.handle}
    keys |= {(a.platform, a.handle) for d in deliveries for a in d.batch.accounts}
    accounts = await _accounts(session, repo, brand_id, keys)
    marks: set[tuple[uuid.UUID, uuid.UUID | None]] = set()

    # 1. Follower readings. A reading from the future (a skewed clock) would outrank every
    # later one: clamp.
    now = datetime.now(UTC)
    readings: set[tuple[uuid.UUID, datetime, int]] = set()
    for delivery in deliveries:
        for reading in delivery.batch.accounts:
            ref = accounts.get((reading.platform, reading.handle))
            if ref is None:
                continue  # not on the roster: nothing to attach the count to
            readings.add((ref.id, min(reading.captured_at, now), reading.followers))
            marks.add((ref.id, None))
    await repo.record_followers(sorted(readings))

    # 2. Posts, merged per (platform, external id).
    work: dict[tuple[str, str], _PostWork] = {}
    for delivery in deliveries:
        for post in delivery.batch.posts:
            key = (post.platform, post.external_post_id)
            ref = accounts.get((post.platform, post.handle)) if post.handle else None
            incoming = _incoming(post)
            item = work.get(key)
            if item is None:
                item = work[key] = _PostWork(
                    post.platform, post.external_post_id, delivery.integration_id, incoming, ref
                )
            else:
                item.incoming.update({k: v for k, v in incoming.items() if v is not None})
                item.ref = ref or item.ref
            if post.metrics is not None and post.metrics.values:
                item.metrics.append(post.metrics)
            item.comments.extend((c, post.language) for c in post.comments)
    if not work:
        await mark_stale(session, brand_id, marks)
        result.accounts |= {a for a, _ in marks}
        return
    ordered = sorted(work)
    stored = await repo.find_posts(ordered)
    candidates = await repo.deliverable_candidates(
        [
            (key, key[0], key[1], work[key].incoming["post_url_key"])
            for key in ordered
            if key not in stored or stored[key].deliverable_id is None
        ]
    )

    # 3. New posts: one INSERT in key order; a post a concurrent batch created meanwhile is
    # read back and treated as existing.
    new_rows: list[dict[str, Any]] = []
    new_links: dict[tuple[str, str], dict[str, Any]] = {}
    for key in ordered:
        if key in stored:
            continue
        item = work[key]
        links = await _links(
            session,
            repo,
            brand_id,
            platform=item.platform,
            external_post_id=item.external_post_id,
            url_key=item.incoming["post_url_key"],
            caption=item.incoming["caption"],
            paid_partnership=bool(item.incoming["paid_partnership"]),
            account_id=item.ref.id if item.ref else None,
            candidates=candidates.get(key, []),
        )
        new_links[key] = links
        new_rows.append(
            {
                "id": uuid7(),
                "brand_id": brand_id,
                "integration_id": item.integration_id,
                "platform": item.platform,
                "external_post_id": item.external_post_id,
                **{k: v for k, v in item.incoming.items() if v is not None},
                **links,
            }
        )
    inserted = await repo.insert_posts(new_rows)
    for key, row in inserted.items():
        item = work[key]
        item.row, item.account_id, item.changed = row, row.account_id, True
        result.new_posts += 1
        await _flag_disclosure(session, repo, brand_id, row.id, new_links[key], None)
    raced = [key for key in new_links if key not in inserted]
    if raced:
        stored.update(await repo.find_posts(raced))
    for key, row in stored.items():
        work[key].row = row

    # 4. Metrics readings and comments of every post, one INSERT each (known ones skipped).
    snapshots = sorted(
        {
            (item.row.id, m.captured_at): m.values for item in work.values() for m in item.metrics
        }.items(),
        key=lambda kv: kv[0],
    )
    snapped = await repo.add_snapshots(
        [(post_id, at, values) for (post_id, at), values in snapshots]
    )
    result.snapshots += len(snapped)
    comment_rows = []
    for item in work.values():
        for comment, language in item.comments:
            scored = sentiment.score(comment.text, comment.language or language)
            comment_rows.append(
                {
                    "post_id": item.row.id,
                    "external_id": comment.external_id,
                    "text": comment.text,
                    "posted_at": comment.posted_at,
                    "sentiment": scored.label,
                    "sentiment_score": scored.score,
                }
            )
    commented = await repo.add_comments(comment_rows)
    result.comments += len(commented)
    touched = set(snapped) | set(commented)

    # 5. Existing posts this unit of work changes (a caption edit, a first match): locked by
    # id and compared again under the lock. Steady-state deliveries of known posts change
    # none, so they lock no shared row.
    pending: dict[uuid.UUID, tuple[_PostWork, dict[str, Any]]] = {}
    for key, row in stored.items():
        item = work[key]
        account_id = row.account_id or (item.ref.id if item.ref else None)
        item.account_id = account_id
        changes, _links_now, _old = await _changes(
            session, repo, brand_id, item, row, candidates.get(key, [])
        )
        if changes or (account_id is None and row.id in touched):
            pending[row.id] = (item, changes)
    if pending:
        locked = await repo.lock_posts(sorted(pending))
        for post_id in sorted(pending):
            item, _ = pending[post_id]
            row = locked.get(post_id)
            if row is None:
                continue  # deleted meanwhile
            changes, links, old = await _changes(
                session,
                repo,
                brand_id,
                item,
                row,
                candidates.get((row.platform, row.external_post_id), []),
            )
            item.account_id = links["account_id"]
            if changes:
                await repo.update_post(post_id, changes)
                await _flag_disclosure(session, repo, brand_id, post_id, links, old)
                item.changed = True

    # 6. Marks for the recomputes; posts of no roster account have no recompute to fold
    # them, so they are folded now.
    unmatched: list[uuid.UUID] = []
    for item in work.values():
        changed = item.changed or item.row.id in touched
        if item.account_id is None:
            result.unmatched_posts += 1
            if changed:
                unmatched.append(item.row.id)
        elif changed:
            marks.add((item.account_id, item.row.id))
    result.posts += len(work)
    await fold_posts(session, unmatched)
    with_posts = {a for a, p in marks if p is not None}
    await mark_stale(session, brand_id, {(a, p) for a, p in marks if p or a not in with_posts})
    result.accounts |= {a for a, _ in marks}


async def _accounts(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    keys: set[tuple[str, str]],
) -> dict[tuple[str, str], AccountRef]:
    """Roster accounts by (platform, handle), memoised per unit of work."""
    cache: dict[tuple[uuid.UUID, str, str], AccountRef | None] = session.info.setdefault(
        _ACCOUNT_CACHE_KEY, {}
    )
    missing = {k for k in keys if (brand_id, *k) not in cache}
    if missing:
        found = await repo.accounts_by_handle(missing)
        for k in missing:
            cache[(brand_id, *k)] = found.get(k)
    return {k: ref for k in keys if (ref := cache[(brand_id, *k)]) is not None}


async def _changes(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    item: _PostWork,
    row: Any,
    candidates: list[DeliverableRef],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What this unit of work changes on a stored post: (column changes, the post's links
    after them, its links before)."""
    state = {k: getattr(row, k) for k in _MERGED}
    changes = {k: v for k, v in item.incoming.items() if v is not None and v != state[k]}
    state.update(changes)
    account_id = row.account_id
    if account_id is None and item.ref is not None:
        account_id = item.ref.id
    links = await _links(
        session,
        repo,
        brand_id,
        platform=row.platform,
        external_post_id=row.external_post_id,
        url_key=state["post_url_key"],
        caption=state["caption"],
        paid_partnership=bool(state["paid_partnership"]),
        account_id=account_id,
        candidates=candidates,
        current=row,
    )
    old = {k: getattr(row, k) for k in links}
    if links != old:
        changes.update(links)
    return changes, links, old


def _find_deliverable(
    candidates: Sequence[DeliverableRef], external_post_id: str, url_key: str | None
) -> tuple[DeliverableRef, str] | None:
    """The deliverable a post is, among the candidates fetched for it (same platform and
    external post id, or a stored URL containing the post's path): by external id first,
    then by the normalised URL."""
    for candidate in candidates:
        if candidate.external_post_id == external_post_id:
            return candidate, "external_post_id"
    for candidate in candidates:
        if url_key and normalise_post_url(candidate.post_url) == url_key:
            return candidate, "post_url"
    return None


async def _campaign_for(
    session: AsyncSession, brand_id: uuid.UUID, caption: str | None
) -> uuid.UUID | None:
    """The campaign the caption's hashtags track; memoised per unit of work (an inbox batch
    sees the same few captions' tags again and again)."""
    tags = hashtags(caption)
    if not tags:
        return None
    cache: dict[tuple[uuid.UUID, tuple[str, ...]], uuid.UUID | None] = session.info.setdefault(
        _CAMPAIGN_CACHE_KEY, {}
    )
    key = (brand_id, tuple(tags))
    if key not in cache:
        campaign = await find_campaign_by_hashtags(session, brand_id, tags)
        cache[key] = campaign.id if campaign is not None else None
    return cache[key]


async def _links(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    *,
    platform: str,
    external_post_id: str,
    url_key: str | None,
    caption: str | None,
    paid_partnership: bool,
    account_id: uuid.UUID | None,
    candidates: Sequence[DeliverableRef],
    current: Any = None,
) -> dict[str, Any]:
    """A post's links and flags: the ones it has (`current`), plus what matching finds for
    the missing ones (deliverable by external post id or URL among `candidates`, which also
    brings the campaign and, when unambiguous, the account; campaign by tracking hashtag)."""
    deliverable_id: uuid.UUID | None = current.deliverable_id if current is not None else None
    campaign_id: uuid.UUID | None = current.campaign_id if current is not None else None
    matched_by: dict[str, str] = dict(current.matched_by or {}) if current is not None else {}
    if account_id is not None:
        matched_by.setdefault("account", "handle")
    if deliverable_id is None:
        found = _find_deliverable(candidates, external_post_id, url_key)
        if found is not None:
            deliverable, how = found
            deliverable_id = deliverable.id
            matched_by["deliverable"] = how
            if campaign_id is None:
                campaign_id = deliverable.campaign_id
                matched_by["campaign"] = "deliverable"
            if account_id is None:
                owned = await repo.accounts_of_influencer(deliverable.influencer_id, platform)
                if len(owned) == 1:
                    account_id = owned[0]
                    matched_by["account"] = "deliverable"
    if campaign_id is None:
        campaign_id = await _campaign_for(session, brand_id, caption)
        if campaign_id is not None:
            matched_by["campaign"] = "hashtag"
    disclosed = is_disclosed(caption, paid_partnership)
    return {
        "account_id": account_id,
        "deliverable_id": deliverable_id,
        "campaign_id": campaign_id,
        "matched_by": matched_by,
        "disclosed": disclosed,
        "sponsored": disclosed or deliverable_id is not None or campaign_id is not None,
    }


async def _flag_disclosure(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    post_id: uuid.UUID,
    links: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    force: bool = False,
) -> None:
    """Set the linked deliverable's disclosure_missing from this post (when the link or the
    disclosure changed), recording `deliverable.disclosure_missing` when it turns true."""
    deliverable_id = links["deliverable_id"]
    if deliverable_id is None:
        return
    if (
        not force
        and old is not None
        and (old["deliverable_id"] == deliverable_id and old["disclosed"] == links["disclosed"])
    ):
        return
    disclosed = links["disclosed"]
    flipped = await repo.set_disclosure(deliverable_id, not disclosed)
    if flipped and not disclosed:
        await record_event(
            session,
            brand_id,
            "deliverable.disclosure_missing",
            {
                "deliverable_id": str(deliverable_id),
                "post_id": str(post_id),
                "message": "The published post carries no ad disclosure (#ad, #sponsored, "
                "#partner or the platform's paid-partnership label).",
            },
            dedupe_key=f"deliverable.disclosure_missing:{deliverable_id}:{post_id}",
        )


# ----------------------------------------------------------------------- manual linking
async def link_post(
    session: AsyncSession, brand_id: uuid.UUID, post_id: uuid.UUID, changes: dict[str, Any]
) -> Post:
    """Link (or, with null, unlink) a post to a deliverable, a roster account and/or a
    campaign. Ids of another brand are 404s. A deliverable brings its campaign and, when the
    influencer has exactly one account on the post's platform, that account."""
    if not changes:
        raise InvalidInput(["body"], "Give deliverable_id, account_id and/or campaign_id.")
    repo = PostRepository(session, brand_id)
    post = await repo.get_or_404(post_id, for_update=True)
    before = post.account_id
    account_id, deliverable_id, campaign_id = post.account_id, post.deliverable_id, post.campaign_id
    matched_by = dict(post.matched_by or {})

    deliverable: DeliverableRef | None = None
    if "deliverable_id" in changes:
        if changes["deliverable_id"] is None:
            deliverable_id = None
            matched_by.pop("deliverable", None)
        else:
            deliverable = await repo.deliverable(changes["deliverable_id"])
            if deliverable.platform != post.platform:
                raise InvalidInput(
                    ["body", "deliverable_id"],
                    f"The deliverable is for {deliverable.platform}; this post is on "
                    f"{post.platform}.",
                )
            deliverable_id = deliverable.id
            matched_by["deliverable"] = "manual"
            if "campaign_id" not in changes:
                campaign_id = deliverable.campaign_id
                matched_by["campaign"] = "deliverable"
    if "account_id" in changes:
        if changes["account_id"] is None:
            account_id = None
            matched_by.pop("account", None)
        else:
            account = await repo.account(changes["account_id"])
            if account.platform != post.platform:
                raise InvalidInput(
                    ["body", "account_id"],
                    f"The account is on {account.platform}; this post is on {post.platform}.",
                )
            if deliverable is not None and account.influencer_id != deliverable.influencer_id:
                raise InvalidInput(
                    ["body", "account_id"],
                    "The account belongs to another influencer than the deliverable's.",
                )
            account_id = account.id
            matched_by["account"] = "manual"
    elif deliverable is not None and account_id is None:
        owned = await repo.accounts_of_influencer(deliverable.influencer_id, post.platform)
        if len(owned) == 1:
            account_id = owned[0]
            matched_by["account"] = "deliverable"
    if "campaign_id" in changes:
        if changes["campaign_id"] is None:
            campaign_id = None
            matched_by.pop("campaign", None)
        else:
            campaign = await CampaignRepository(session, brand_id).get(changes["campaign_id"])
            if campaign is None:
                raise CampaignRefNotFound(detail=f"No campaign with id {changes['campaign_id']}.")
            campaign_id = campaign.id
            matched_by["campaign"] = "manual"

    if post.deliverable_id is not None and post.deliverable_id != deliverable_id:
        await repo.set_disclosure(post.deliverable_id, None)  # no post known any more
    disclosed = is_disclosed(post.caption, post.paid_partnership)
    links = {
        "account_id": account_id,
        "deliverable_id": deliverable_id,
        "campaign_id": campaign_id,
        "matched_by": matched_by,
        "disclosed": disclosed,
        "sponsored": disclosed or deliverable_id is not None or campaign_id is not None,
    }
    await repo.update_post(post.id, links)
    await _flag_disclosure(session, repo, brand_id, post.id, links, None, force=True)
    await mark_stale(
        session, brand_id, {(a, post.id) for a in (before, account_id) if a is not None}
    )
    await session.refresh(post)
    return post
