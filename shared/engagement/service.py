"""Engagement rules: ingest a delivery (posts, snapshots, comments, follower readings), match
posts to the roster, deliverables and campaigns, flag missing ad disclosures, link by hand.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.campaigns.repository import CampaignRepository
from shared.campaigns.service import find_campaign_by_hashtags
from shared.db.base import uuid7
from shared.engagement import sentiment
from shared.engagement.matching import hashtags, is_disclosed, normalise_post_url
from shared.engagement.payloads import EngagementBatch, PostIn
from shared.engagement.repository import (
    AccountRef,
    CampaignRefNotFound,
    DeliverableRef,
    PostRepository,
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
            job_id=f"signals:{account_id}",
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


async def ingest(
    session: AsyncSession,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID | None,
    batch: EngagementBatch,
) -> IngestResult:
    repo = PostRepository(session, brand_id)
    result = IngestResult()
    keys = {(p.platform, p.handle) for p in batch.posts if p.handle}
    keys |= {(a.platform, a.handle) for a in batch.accounts}
    accounts = await _accounts(session, repo, brand_id, keys)
    marks: set[tuple[uuid.UUID, uuid.UUID | None]] = set()

    now = datetime.now(UTC)
    for reading in batch.accounts:
        ref = accounts.get((reading.platform, reading.handle))
        if ref is None:
            continue  # not on the roster: nothing to attach the count to
        # A reading from the future (a skewed clock) would outrank every later one: clamp.
        await repo.record_followers(ref.id, reading.followers, min(reading.captured_at, now))
        marks.add((ref.id, None))

    unmatched: list[uuid.UUID] = []
    for post in batch.posts:
        ref = accounts.get((post.platform, post.handle)) if post.handle else None
        post_id, account_id, changed = await _ingest_post(
            session, repo, brand_id, integration_id, post, ref, result
        )
        if account_id is None:
            result.unmatched_posts += 1
            if changed:
                unmatched.append(post_id)
        elif changed:
            marks.add((account_id, post_id))
    # Posts of no roster account have no recompute to fold them: fold them now (no roster
    # account's deliveries share them, so this rarely waits on anyone).
    await repo.fold_posts(unmatched)
    with_posts = {a for a, p in marks if p is not None}
    await mark_stale(session, brand_id, {(a, p) for a, p in marks if p or a not in with_posts})
    result.accounts = {a for a, _ in marks}
    return result


async def _accounts(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    keys: set[tuple[str, str]],
) -> dict[tuple[str, str], AccountRef]:
    """Roster accounts by (platform, handle), memoised per unit of work: an inbox batch
    carries the same accounts' deliveries again and again."""
    cache: dict[tuple[uuid.UUID, str, str], AccountRef | None] = session.info.setdefault(
        _ACCOUNT_CACHE_KEY, {}
    )
    missing = {k for k in keys if (brand_id, *k) not in cache}
    if missing:
        found = await repo.accounts_by_handle(missing)
        for k in missing:
            cache[(brand_id, *k)] = found.get(k)
    return {k: ref for k in keys if (ref := cache[(brand_id, *k)]) is not None}


async def _ingest_post(
    session: AsyncSession,
    repo: PostRepository,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID | None,
    post: PostIn,
    ref: AccountRef | None,
    result: IngestResult,
) -> tuple[uuid.UUID, uuid.UUID | None, bool]:
    """Store one post of a delivery. Returns (post id, account id, whether anything the
    signals read changed). An existing post is only read, and written only when this
    delivery changes it (a caption edit, a first match): steady-state deliveries of known
    posts insert snapshots and comments and touch no shared row."""
    incoming: dict[str, Any] = {
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
    row = await repo.find_post(post.platform, post.external_post_id)
    inserted = False
    if row is None:
        known = {k: v for k, v in incoming.items() if v is not None}
        links = await _links(
            session,
            repo,
            brand_id,
            platform=post.platform,
            external_post_id=post.external_post_id,
            url_key=incoming["post_url_key"],
            caption=post.caption,
            paid_partnership=bool(post.paid_partnership),
            account_id=ref.id if ref else None,
        )
        row = await repo.insert_post(
            {
                "id": uuid7(),
                "brand_id": brand_id,
                "integration_id": integration_id,
                "platform": post.platform,
                "external_post_id": post.external_post_id,
                **known,
                **links,
            }
        )
        if row is not None:
            inserted = True
            await _flag_disclosure(session, repo, brand_id, row.id, links, None)
        else:  # created by a concurrent delivery meanwhile
            row = await repo.find_post(post.platform, post.external_post_id)
            assert row is not None
    changed = inserted
    account_id: uuid.UUID | None = row.account_id
    if not inserted:
        state = {k: getattr(row, k) for k in _MERGED}
        changes = {k: v for k, v in incoming.items() if v is not None and v != state[k]}
        state.update(changes)
        if account_id is None and ref is not None:
            account_id = ref.id
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
            current=row,
        )
        old = {k: getattr(row, k) for k in links}
        if links != old:
            changes.update(links)
        if changes:
            await repo.update_post(row.id, changes)
            await _flag_disclosure(session, repo, brand_id, row.id, links, old)
            changed = True
        account_id = links["account_id"]
    else:
        account_id = row.account_id

    if (
        post.metrics is not None
        and post.metrics.values
        and await repo.add_snapshot(row.id, post.metrics.captured_at, post.metrics.values)
    ):
        result.snapshots += 1
        changed = True
    if post.comments:
        rows = []
        for c in post.comments:
            scored = sentiment.score(c.text, c.language or post.language)
            rows.append(
                {
                    "external_id": c.external_id,
                    "text": c.text,
                    "posted_at": c.posted_at,
                    "sentiment": scored.label,
                    "sentiment_score": scored.score,
                }
            )
        new_comments = await repo.add_comments(row.id, rows)
        result.comments += new_comments
        changed = changed or new_comments > 0
    result.posts += 1
    result.new_posts += int(inserted)
    return row.id, account_id, changed


async def _find_deliverable(
    repo: PostRepository, platform: str, external_post_id: str, url_key: str | None
) -> tuple[DeliverableRef, str] | None:
    fragment = None
    if url_key:
        _host, slash, rest = url_key.partition("/")
        if slash and rest:
            fragment = "/" + rest.split("?", 1)[0]
    candidates = await repo.deliverable_candidates(platform, external_post_id, fragment)
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
    current: Any = None,
) -> dict[str, Any]:
    """A post's links and flags: the ones it has (`current`), plus what matching finds for
    the missing ones (deliverable by external post id or URL, which also brings the campaign
    and, when unambiguous, the account; campaign by tracking hashtag)."""
    deliverable_id: uuid.UUID | None = current.deliverable_id if current is not None else None
    campaign_id: uuid.UUID | None = current.campaign_id if current is not None else None
    matched_by: dict[str, str] = dict(current.matched_by or {}) if current is not None else {}
    if account_id is not None:
        matched_by.setdefault("account", "handle")
    if deliverable_id is None:
        found = await _find_deliverable(repo, platform, external_post_id, url_key)
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
