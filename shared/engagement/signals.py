"""Quality signals per social account: engagement rate, tier benchmarks, authenticity with
reasons, comment sentiment. `derive` is the pure part (tested on hand-computed examples);
`recompute` loads an account's inputs, derives and stores.

Engagement rate (by followers): the mean, over the sample posts, of
    (likes + comments + shares + saves) / followers at the time the post went up,
where "followers at the time" is the account's follower reading at or before the post (the
earliest reading after it when none is older; the current count when there is no history).
Missing metrics count as 0; a post reporting none of the four is left out. The sample is the
account's posts with metrics (stories excluded: they have no public likes) from the last 90
days, or its 12 most recent such posts when the 90 days hold fewer than 12.

Engagement rate by views (video-first): the same mean of engagements / views over the sample
posts that are video-first (TikTok and YouTube, and reels, shorts and videos anywhere) and
report views. Stored with its own sample size.

Rates are fractions: 0.039 = 3.9%.
"""

from __future__ import annotations

import itertools
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engagement.repository import fold_posts
from shared.influencers.repository import InfluencerRepository
from shared.models import AccountSignalMark, EngagementBenchmark, SocialAccount
from shared.models.enums import Platform, Tier, tier_for

SAMPLE_POSTS = 12
SAMPLE_DAYS = 90
VIDEO_FIRST_PLATFORMS = frozenset({Platform.TIKTOK.value, Platform.YOUTUBE.value})
VIDEO_CONTENT = frozenset({"reel", "short", "video"})

# -- benchmarks -------------------------------------------------------------------------------
# Default median engagement rate (by followers) per platform x tier, used until the brand's
# own roster holds at least ROSTER_MIN_ACCOUNTS accounts in the cell. Rounded from the
# widely cited public benchmark ranges: Influencer Marketing Hub, "Influencer Marketing
# Benchmark Report" (2024); HypeAuditor, "State of Influencer Marketing" (2024); Later x Fohr,
# "Influencer Marketing Report" (2021). Instagram: micro ~3.9%, mega ~1.2%, falling with
# size; TikTok runs roughly double Instagram at every tier. YouTube, Facebook, X, Twitch,
# Snapchat and blogs are coarser estimates from the same reports (fewer data points; treat as
# order of magnitude). Approximate by nature: the roster median replaces them once known.
ROSTER_MIN_ACCOUNTS = 20
DEFAULT_BENCHMARKS: dict[str, dict[str, float]] = {
    "instagram": {"nano": 0.045, "micro": 0.039, "macro": 0.018, "mega": 0.012, "celebrity": 0.008},
    "tiktok": {"nano": 0.090, "micro": 0.075, "macro": 0.050, "mega": 0.035, "celebrity": 0.025},
    "youtube": {"nano": 0.040, "micro": 0.030, "macro": 0.020, "mega": 0.015, "celebrity": 0.010},
    "facebook": {"nano": 0.012, "micro": 0.009, "macro": 0.006, "mega": 0.004, "celebrity": 0.003},
    "x": {"nano": 0.010, "micro": 0.008, "macro": 0.006, "mega": 0.004, "celebrity": 0.003},
    "twitch": {"nano": 0.030, "micro": 0.025, "macro": 0.020, "mega": 0.015, "celebrity": 0.010},
    "snapchat": {"nano": 0.040, "micro": 0.030, "macro": 0.020, "mega": 0.015, "celebrity": 0.010},
    "blog": {"nano": 0.020, "micro": 0.015, "macro": 0.010, "mega": 0.008, "celebrity": 0.006},
}


@dataclass(frozen=True, slots=True)
class Benchmark:
    platform: str
    tier: str
    rate: float
    source: str  # roster | default
    accounts: int = 0  # roster accounts behind a roster median


def default_benchmark(platform: str, tier: str) -> Benchmark:
    return Benchmark(platform, tier, DEFAULT_BENCHMARKS[platform][tier], "default")


async def benchmark_for(
    session: AsyncSession, brand_id: uuid.UUID, platform: str, tier: str
) -> Benchmark:
    """One cell of `benchmarks_of`."""
    return (await benchmarks_of(session, brand_id))[(platform, tier)]


async def benchmarks_of(
    session: AsyncSession, brand_id: uuid.UUID
) -> dict[tuple[str, str], Benchmark]:
    """Every platform x tier cell: the roster median where it counts, else the default."""
    out = {
        (p, t): default_benchmark(p, t) for p, tiers in DEFAULT_BENCHMARKS.items() for t in tiers
    }
    rows = await session.execute(
        select(
            EngagementBenchmark.platform,
            EngagementBenchmark.tier,
            EngagementBenchmark.median_rate,
            EngagementBenchmark.accounts,
        ).where(
            EngagementBenchmark.brand_id == brand_id,
            EngagementBenchmark.accounts >= ROSTER_MIN_ACCOUNTS,
        )
    )
    for p, t, rate, n in rows:
        out[(p, t)] = Benchmark(p, t, float(rate), "roster", int(n))
    return out


async def refresh_benchmarks(session: AsyncSession, brand_id: uuid.UUID | None = None) -> int:
    """Recompute the roster medians (all brands, or one). Cells are stored whatever their
    size; `benchmarks_of` uses a cell only from ROSTER_MIN_ACCOUNTS accounts on. Returns the
    number of cells written."""
    where = "AND s.brand_id = :brand" if brand_id is not None else ""
    rows = (
        await session.execute(
            text(
                "SELECT s.brand_id, a.platform, a.tier, count(*) AS n, "  # noqa: S608
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.engagement_rate) AS median "
                "FROM account_signals s JOIN social_accounts a ON a.id = s.account_id "
                f"WHERE s.engagement_rate IS NOT NULL {where} "
                "GROUP BY s.brand_id, a.platform, a.tier"
            ),
            {"brand": brand_id} if brand_id is not None else {},
        )
    ).all()
    clear = delete(EngagementBenchmark)
    if brand_id is not None:
        clear = clear.where(EngagementBenchmark.brand_id == brand_id)
    await session.execute(clear)
    if rows:
        await session.execute(
            insert(EngagementBenchmark),
            [
                {
                    "brand_id": r.brand_id,
                    "platform": r.platform,
                    "tier": r.tier,
                    "accounts": r.n,
                    "median_rate": float(r.median),
                }
                for r in rows
            ],
        )
    return len(rows)


# -- inputs and the pure derivation -------------------------------------------------------------
@dataclass(slots=True)
class PostSample:
    posted_at: datetime
    content_type: str
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    views: int | None = None
    followers_at_time: int | None = None
    sponsored: bool = False
    comments_positive: int = 0
    comments_neutral: int = 0
    comments_negative: int = 0
    comments_unscored: int = 0

    @property
    def engagements(self) -> int | None:
        parts = [self.likes, self.comments, self.shares, self.saves]
        if all(p is None for p in parts):
            return None
        return sum(p or 0 for p in parts)


@dataclass(slots=True)
class SignalInputs:
    platform: str
    followers: int  # current count
    posts: list[PostSample]  # newest first; stories already excluded
    follower_history: list[tuple[datetime, int]]  # oldest first
    post_times: list[datetime]  # every post of the account (stories too), for jump checks
    comment_texts: list[str]  # the sample posts' comments
    benchmark: Benchmark
    now: datetime


@dataclass(slots=True)
class Signals:
    engagement_rate: float | None
    engagement_rate_views: float | None
    sample_size: int
    views_sample_size: int
    benchmark: Benchmark
    authenticity_score: int | None
    authenticity_reasons: list[dict[str, Any]]
    sponsored_share: float | None
    comments_positive: int
    comments_neutral: int
    comments_negative: int
    comments_unscored: int
    details: dict[str, Any] = field(default_factory=dict)


def select_sample(posts: Sequence[PostSample], now: datetime) -> list[PostSample]:
    """Posts of the last SAMPLE_DAYS, or the SAMPLE_POSTS most recent if that is more.
    `posts` newest first."""
    cutoff = now - timedelta(days=SAMPLE_DAYS)
    recent = sum(1 for p in posts if p.posted_at >= cutoff)
    return list(posts[: max(SAMPLE_POSTS, recent)])


def is_video_first(platform: str, content_type: str) -> bool:
    return platform in VIDEO_FIRST_PLATFORMS or content_type in VIDEO_CONTENT


def engagement_rate(posts: Sequence[PostSample], followers_now: int) -> tuple[float | None, int]:
    rates = []
    for p in posts:
        eng = p.engagements
        followers = p.followers_at_time if p.followers_at_time is not None else followers_now
        if eng is None or followers <= 0:
            continue
        rates.append(eng / followers)
    return (statistics.fmean(rates) if rates else None), len(rates)


def engagement_rate_by_views(
    posts: Sequence[PostSample], platform: str
) -> tuple[float | None, int]:
    rates = []
    for p in posts:
        eng = p.engagements
        if not is_video_first(platform, p.content_type) or eng is None or not p.views:
            continue
        rates.append(eng / p.views)
    return (statistics.fmean(rates) if rates else None), len(rates)


# -- authenticity -------------------------------------------------------------------------------
# Each check names the number that triggered it; the score is 100 minus the penalties.
LOW_ENGAGEMENT_RATIO = 0.35  # engagement below 35% of the tier benchmark is "far below"
LOW_ENGAGEMENT_MIN_POSTS = 3
LOW_ENGAGEMENT_PENALTY = 30
JUMP_MIN_GROWTH = 0.20  # +20% between two readings ...
JUMP_MIN_FOLLOWERS = 1_000  # ... and at least +1,000 followers ...
JUMP_QUIET_BEFORE = timedelta(days=3)  # ... with no post from 3 days before the first reading
JUMP_PENALTY = 25
# Comments per like: organic accounts sit roughly between 0.2% and 10%. Far fewer comments
# than likes suggests bought likes (like farms); far more suggests comment pods or bots.
COMMENT_LIKE_LOW = 0.002
COMMENT_LIKE_HIGH = 0.10
COMMENT_LIKE_MIN_LIKES = 200
COMMENT_LIKE_PENALTY = 15
REPEATED_MIN_COMMENTS = 20
REPEATED_MIN_TIMES = 3  # the same short comment 3+ times ...
REPEATED_MAX_WORDS = 5
REPEATED_SHARE = 0.25  # ... making up 25%+ of the comments
REPEATED_PENALTY = 20
SPONSORED_SHARE = 0.30  # more than 30% sponsored posts: audience fatigue
SPONSORED_MIN_POSTS = 5
SPONSORED_PENALTY = 10

_NON_WORD = re.compile(r"[\s.,!?;:'\"()\-_*~]+")


def normalise_comment(value: str) -> str:
    """Case, punctuation, whitespace and letter/emoji runs folded: `Nice!!`, `nice`,
    `NICE 🔥🔥` and `niceee 🔥` compare equal as far as spam goes."""
    folded = _NON_WORD.sub(" ", value.lower()).strip()
    folded = re.sub(r"(\w)\1{2,}", r"\1", folded)  # niceee -> nice (but good stays good)
    return re.sub(r"([^\w\s])\1+", r"\1", folded)  # 🔥🔥🔥 -> 🔥


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def authenticity(
    inputs: SignalInputs, rate: float | None, sample: Sequence[PostSample], sponsored: float | None
) -> tuple[int | None, list[dict[str, Any]], dict[str, Any]]:
    reasons: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    bench = inputs.benchmark

    if rate is not None and len(sample) >= LOW_ENGAGEMENT_MIN_POSTS and bench.rate > 0:
        ratio = rate / bench.rate
        details["engagement_vs_benchmark"] = round(ratio, 4)
        if ratio < LOW_ENGAGEMENT_RATIO:
            reasons.append(
                {
                    "code": "low_engagement",
                    "message": f"Engagement rate {_pct(rate)} is {ratio:.2f}x the {bench.tier} "
                    f"{bench.platform} benchmark of {_pct(bench.rate)} ({bench.source}); "
                    f"below {LOW_ENGAGEMENT_RATIO:.2f}x is far below.",
                    "value": round(rate, 6),
                    "threshold": round(bench.rate * LOW_ENGAGEMENT_RATIO, 6),
                    "penalty": LOW_ENGAGEMENT_PENALTY,
                }
            )

    worst: tuple[float, datetime, datetime, int, int] | None = None
    history = inputs.follower_history
    for (t0, f0), (t1, f1) in itertools.pairwise(history):
        gain = f1 - f0
        if f0 <= 0 or gain < JUMP_MIN_FOLLOWERS or gain / f0 < JUMP_MIN_GROWTH:
            continue
        quiet_from = t0 - JUMP_QUIET_BEFORE
        if any(quiet_from <= p <= t1 for p in inputs.post_times):
            continue  # a post can explain the growth (a viral post)
        if worst is None or gain / f0 > worst[0]:
            worst = (gain / f0, t0, t1, f0, f1)
    if worst is not None:
        growth, t0, t1, f0, f1 = worst
        reasons.append(
            {
                "code": "follower_jump_without_posts",
                "message": f"Followers jumped +{_pct(growth)} ({f0:,} -> {f1:,}) between "
                f"{t0.date().isoformat()} and {t1.date().isoformat()} with no post in that "
                "period.",
                "value": round(growth, 4),
                "threshold": JUMP_MIN_GROWTH,
                "penalty": JUMP_PENALTY,
            }
        )

    likes = sum(p.likes or 0 for p in sample)
    comments = sum(p.comments or 0 for p in sample)
    if likes >= COMMENT_LIKE_MIN_LIKES:
        ratio = comments / likes
        details["comments_per_like"] = round(ratio, 6)
        if ratio < COMMENT_LIKE_LOW or ratio > COMMENT_LIKE_HIGH:
            low = ratio < COMMENT_LIKE_LOW
            reasons.append(
                {
                    "code": "comment_like_ratio",
                    "message": f"{comments:,} comments for {likes:,} likes ({_pct(ratio)}) is "
                    + (
                        f"below the normal {_pct(COMMENT_LIKE_LOW)} (a like-farm pattern)."
                        if low
                        else f"above the normal {_pct(COMMENT_LIKE_HIGH)} (a comment-pod pattern)."
                    ),
                    "value": round(ratio, 6),
                    "threshold": COMMENT_LIKE_LOW if low else COMMENT_LIKE_HIGH,
                    "penalty": COMMENT_LIKE_PENALTY,
                }
            )

    texts = [normalise_comment(t) for t in inputs.comment_texts]
    texts = [t for t in texts if t]
    if len(texts) >= REPEATED_MIN_COMMENTS:
        counts = Counter(t for t in texts if len(t.split()) <= REPEATED_MAX_WORDS)
        repeated = {t: n for t, n in counts.items() if n >= REPEATED_MIN_TIMES}
        share = sum(repeated.values()) / len(texts)
        details["repeated_comment_share"] = round(share, 4)
        if share >= REPEATED_SHARE:
            top = sorted(repeated.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            examples = ", ".join(f"'{t}' x{n}" for t, n in top)
            reasons.append(
                {
                    "code": "repeated_generic_comments",
                    "message": f"{_pct(share)} of {len(texts)} comments are the same short "
                    f"phrases repeated ({examples}); {_pct(REPEATED_SHARE)} or more is "
                    "suspicious.",
                    "value": round(share, 4),
                    "threshold": REPEATED_SHARE,
                    "penalty": REPEATED_PENALTY,
                }
            )

    if sponsored is not None and len(sample) >= SPONSORED_MIN_POSTS and sponsored > SPONSORED_SHARE:
        n = round(sponsored * len(sample))
        reasons.append(
            {
                "code": "sponsored_saturation",
                "message": f"{n} of the last {len(sample)} posts ({_pct(sponsored)}) are "
                f"sponsored, above {_pct(SPONSORED_SHARE)} (audience fatigue).",
                "value": round(sponsored, 4),
                "threshold": SPONSORED_SHARE,
                "penalty": SPONSORED_PENALTY,
            }
        )

    if not sample and not reasons:
        return None, [], details  # nothing to judge yet
    score = max(0, 100 - sum(int(r["penalty"]) for r in reasons))
    return score, reasons, details


def derive(inputs: SignalInputs) -> Signals:
    sample = select_sample(inputs.posts, inputs.now)
    rate, n = engagement_rate(sample, inputs.followers)
    views_rate, n_views = engagement_rate_by_views(sample, inputs.platform)
    sponsored = (sum(1 for p in sample if p.sponsored) / len(sample)) if sample else None
    score, reasons, details = authenticity(inputs, rate, sample, sponsored)
    details["sample_posts"] = len(sample)
    return Signals(
        engagement_rate=rate,
        engagement_rate_views=views_rate,
        sample_size=n,
        views_sample_size=n_views,
        benchmark=inputs.benchmark,
        authenticity_score=score,
        authenticity_reasons=reasons,
        sponsored_share=sponsored,
        comments_positive=sum(p.comments_positive for p in sample),
        comments_neutral=sum(p.comments_neutral for p in sample),
        comments_negative=sum(p.comments_negative for p in sample),
        comments_unscored=sum(p.comments_unscored for p in sample),
        details=details,
    )


# -- loading and storing ------------------------------------------------------------------------
# Each account's newest posts with metrics (stories excluded), up to MAX_POSTS per account,
# with the follower count at the time of each post.
_POSTS = text(
    """
SELECT p.account_id, p.id, p.posted_at, p.content_type, p.likes, p.comments, p.shares,
       p.saves, p.views, p.sponsored, p.comments_positive, p.comments_neutral,
       p.comments_negative, p.comments_unscored,
       coalesce(
         (SELECT f.followers FROM follower_snapshots f
           WHERE f.account_id = p.account_id AND f.captured_at <= p.posted_at
           ORDER BY f.captured_at DESC LIMIT 1),
         (SELECT f.followers FROM follower_snapshots f
           WHERE f.account_id = p.account_id AND f.captured_at > p.posted_at
           ORDER BY f.captured_at ASC LIMIT 1)) AS followers_at_time
FROM (
  SELECT p.*, row_number() OVER (PARTITION BY p.account_id
                                 ORDER BY p.posted_at DESC, p.id DESC) AS n
  FROM posts p
  WHERE p.account_id = ANY(:accounts) AND p.posted_at IS NOT NULL
    AND p.content_type <> 'story' AND p.metrics_captured_at IS NOT NULL
) p
WHERE p.n <= :max_posts
ORDER BY p.account_id, p.posted_at DESC, p.id DESC
"""
)
_HISTORY = text(
    "SELECT account_id, captured_at, followers FROM follower_snapshots "
    "WHERE account_id = ANY(:accounts) AND captured_at >= :since "
    "ORDER BY account_id, captured_at"
)
_POST_TIMES = text(
    "SELECT account_id, posted_at FROM posts WHERE account_id = ANY(:accounts) "
    "AND posted_at >= :since"
)
# The newest MAX_COMMENTS comments of each account's sample posts.
_COMMENTS = text(
    """
SELECT account_id, text FROM (
  SELECT k.account_id, c.text,
         row_number() OVER (PARTITION BY k.account_id ORDER BY c.id DESC) AS n
  FROM unnest(CAST(:posts AS uuid[]), CAST(:owners AS uuid[])) AS k(post_id, account_id)
  JOIN post_comments c ON c.post_id = k.post_id
) c WHERE c.n <= :max_comments
"""
)
_LATEST_FOLLOWERS = text(
    "SELECT DISTINCT ON (account_id) account_id, followers FROM follower_snapshots "
    "WHERE account_id = ANY(:accounts) ORDER BY account_id, captured_at DESC"
)
_SET_FOLLOWERS = text(
    "UPDATE social_accounts a SET followers = v.followers, updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:followers AS bigint[])) AS v(id, followers) "
    "WHERE a.id = v.id"
)
_ENSURE_SIGNALS = text(
    "INSERT INTO account_signals (account_id, brand_id) "
    "SELECT a.id, a.brand_id FROM social_accounts a WHERE a.id = ANY(:accounts) "
    "ORDER BY a.id ON CONFLICT (account_id) DO NOTHING"
)
# Claim: lock the accounts' signals rows in id order; with SKIP LOCKED, accounts another
# recompute holds are left to it.
_CLAIM = (
    "SELECT s.account_id, s.computed_at FROM account_signals s "
    "WHERE s.account_id = ANY(:accounts) ORDER BY s.account_id FOR UPDATE"
)
# Other stale accounts (oldest marks first) nobody else is computing: their signals rows are
# created if missing, then locked with SKIP LOCKED, so concurrent recompute jobs split the
# backlog instead of all reading the same oldest accounts and skipping each other's.
_STALE = (
    "SELECT m.account_id FROM account_signal_marks m GROUP BY m.account_id "
    "ORDER BY min(m.id) LIMIT :scan"
)
_ENSURE_STALE = text(
    "INSERT INTO account_signals (account_id, brand_id) "  # noqa: S608
    f"SELECT a.id, a.brand_id FROM social_accounts a WHERE a.id IN ({_STALE}) "
    "ORDER BY a.id ON CONFLICT (account_id) DO NOTHING"
)
_CLAIM_STALE = text(
    "SELECT s.account_id, s.computed_at FROM account_signals s "  # noqa: S608
    f"WHERE s.account_id IN ({_STALE}) AND s.account_id <> ALL(:taken) "
    "ORDER BY s.account_id LIMIT :n FOR UPDATE SKIP LOCKED"
)
STALE_SCAN = 4  # stale accounts read per one wanted: room for the ones others hold
# Every recomputed account's signals in one statement (rows as one JSON array).
_STORE = text(
    """
UPDATE account_signals s SET
  computed_at = now(), engagement_rate = v.engagement_rate,
  engagement_rate_views = v.engagement_rate_views, sample_size = v.sample_size,
  views_sample_size = v.views_sample_size, benchmark_rate = v.benchmark_rate,
  benchmark_source = v.benchmark_source, authenticity_score = v.authenticity_score,
  authenticity_reasons = v.authenticity_reasons, sponsored_share = v.sponsored_share,
  comments_positive = v.comments_positive, comments_neutral = v.comments_neutral,
  comments_negative = v.comments_negative, comments_unscored = v.comments_unscored,
  details = v.details
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
  account_id uuid, engagement_rate float8, engagement_rate_views float8, sample_size int,
  views_sample_size int, benchmark_rate float8, benchmark_source text,
  authenticity_score smallint, authenticity_reasons jsonb, sponsored_share float8,
  comments_positive int, comments_neutral int, comments_negative int, comments_unscored int,
  details jsonb)
WHERE s.account_id = v.account_id
"""
)
MAX_POSTS = 500
HISTORY_DAYS = 365
MAX_COMMENTS = 2_000


@dataclass(frozen=True, slots=True)
class _Account:
    id: uuid.UUID
    brand_id: uuid.UUID
    influencer_id: uuid.UUID
    platform: str
    followers: int


async def load_inputs(
    session: AsyncSession, accounts: Sequence[_Account], now: datetime
) -> dict[uuid.UUID, SignalInputs]:
    """Every input of the accounts' signals, in five queries whatever their number."""
    ids = [a.id for a in accounts]
    since = now - timedelta(days=HISTORY_DAYS)
    posts: dict[uuid.UUID, list[PostSample]] = {i: [] for i in ids}
    post_ids: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    for r in await session.execute(_POSTS, {"accounts": ids, "max_posts": MAX_POSTS}):
        posts[r.account_id].append(
            PostSample(
                posted_at=r.posted_at,
                content_type=r.content_type,
                likes=r.likes,
                comments=r.comments,
                shares=r.shares,
                saves=r.saves,
                views=r.views,
                followers_at_time=r.followers_at_time,
                sponsored=r.sponsored,
                comments_positive=r.comments_positive,
                comments_neutral=r.comments_neutral,
                comments_negative=r.comments_negative,
                comments_unscored=r.comments_unscored,
            )
        )
        post_ids[r.account_id].append(r.id)
    history: dict[uuid.UUID, list[tuple[datetime, int]]] = {i: [] for i in ids}
    for r in await session.execute(_HISTORY, {"accounts": ids, "since": since}):
        history[r.account_id].append((r.captured_at, int(r.followers)))
    post_times: dict[uuid.UUID, list[datetime]] = {i: [] for i in ids}
    for r in await session.execute(
        _POST_TIMES, {"accounts": ids, "since": since - JUMP_QUIET_BEFORE}
    ):
        post_times[r.account_id].append(r.posted_at)
    sample_posts: list[uuid.UUID] = []
    owners: list[uuid.UUID] = []
    for account_id in ids:
        n = len(select_sample(posts[account_id], now))
        sample_posts += post_ids[account_id][:n]
        owners += [account_id] * n
    comments: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if sample_posts:
        for r in await session.execute(
            _COMMENTS, {"posts": sample_posts, "owners": owners, "max_comments": MAX_COMMENTS}
        ):
            comments[r.account_id].append(r.text)
    benches: dict[uuid.UUID, dict[tuple[str, str], Benchmark]] = {}
    for brand_id in sorted({a.brand_id for a in accounts}):
        benches[brand_id] = await benchmarks_of(session, brand_id)
    return {
        a.id: SignalInputs(
            platform=a.platform,
            followers=a.followers,
            posts=posts[a.id],
            follower_history=history[a.id],
            post_times=post_times[a.id],
            comment_texts=comments[a.id],
            benchmark=benches[a.brand_id][(a.platform, tier_for(a.followers).value)],
            now=now,
        )
        for a in accounts
    }


async def apply_latest_followers(
    session: AsyncSession, accounts: Sequence[_Account]
) -> list[_Account]:
    """Bring social_accounts.followers (and the influencers' max_followers) to each account's
    newest follower reading. Engagement readings only append history; this applies them, in
    the roster's lock order (influencers first, by id). Returns the accounts as they are now."""
    ids = [a.id for a in accounts]
    latest = {
        r.account_id: int(r.followers)
        for r in await session.execute(_LATEST_FOLLOWERS, {"accounts": ids})
    }
    changed = [a for a in accounts if a.id in latest and latest[a.id] != a.followers]
    if not changed:
        return list(accounts)
    by_brand: dict[uuid.UUID, list[_Account]] = {}
    for a in changed:
        by_brand.setdefault(a.brand_id, []).append(a)
    for brand_id in sorted(by_brand):
        group = by_brand[brand_id]
        roster = InfluencerRepository(session, brand_id)
        await roster.lock(a.influencer_id for a in group)
        group.sort(key=lambda a: a.id)
        await session.execute(
            _SET_FOLLOWERS,
            {"ids": [a.id for a in group], "followers": [latest[a.id] for a in group]},
        )
        await roster.refresh_max_followers(a.influencer_id for a in group)
    return [
        _Account(a.id, a.brand_id, a.influencer_id, a.platform, latest.get(a.id, a.followers))
        for a in accounts
    ]


async def recompute_many(
    session: AsyncSession,
    account_ids: Sequence[uuid.UUID],
    *,
    force: bool = False,
    skip_locked: bool = False,
    others: int = 0,
    now: datetime | None = None,
) -> dict[uuid.UUID, Signals]:
    """Recompute the signals of those of `account_ids` that have staleness marks (or were
    never computed, or all with `force`), and of up to `others` further stale accounts no
    other recompute holds (oldest marks first), with a fixed number of statements for the
    whole set. Returns the signals written, by account.

    Concurrent recomputes of one account serialise on its signals row (locked in id order);
    with `skip_locked`, an account another recompute holds is left to it. The marks read here
    are deleted by id once the result is written: a mark committed meanwhile (new data this
    run may not have seen) survives and triggers the next run."""
    now = now or datetime.now(UTC)
    wanted = sorted(set(account_ids))
    computed: dict[uuid.UUID, datetime | None] = {}
    if wanted:
        await session.execute(_ENSURE_SIGNALS, {"accounts": wanted})
        claim = _CLAIM + (" SKIP LOCKED" if skip_locked else "")
        for r in await session.execute(text(claim), {"accounts": wanted}):
            computed[r.account_id] = r.computed_at
    if others > 0:
        scan = others * STALE_SCAN
        await session.execute(_ENSURE_STALE, {"scan": scan})
        for r in await session.execute(_CLAIM_STALE, {"scan": scan, "n": others, "taken": wanted}):
            computed[r.account_id] = r.computed_at
    if not computed:
        return {}
    found = (
        await session.execute(
            select(
                AccountSignalMark.id, AccountSignalMark.account_id, AccountSignalMark.post_id
            ).where(AccountSignalMark.account_id.in_(list(computed)))
        )
    ).all()
    marked = {m.account_id for m in found}
    todo = [a for a in computed if force or computed[a] is None or a in marked]
    if not todo:
        return {}
    accounts = [
        _Account(r.id, r.brand_id, r.influencer_id, r.platform, int(r.followers))
        for r in await session.execute(
            select(
                SocialAccount.id,
                SocialAccount.brand_id,
                SocialAccount.influencer_id,
                SocialAccount.platform,
                SocialAccount.followers,
            )
            .where(SocialAccount.id.in_(todo))
            .order_by(SocialAccount.id)
        )
    ]
    # Fold the deliveries since the last run into the rows they change: the marked posts'
    # latest metrics and sentiment counts, and the accounts' follower counts.
    await fold_posts(session, [m.post_id for m in found if m.post_id is not None])
    accounts = await apply_latest_followers(session, accounts)
    inputs = await load_inputs(session, accounts, now)
    out = {a.id: derive(inputs[a.id]) for a in accounts}
    rows = [
        {
            "account_id": str(account_id),
            "engagement_rate": sig.engagement_rate,
            "engagement_rate_views": sig.engagement_rate_views,
            "sample_size": sig.sample_size,
            "views_sample_size": sig.views_sample_size,
            "benchmark_rate": sig.benchmark.rate,
            "benchmark_source": sig.benchmark.source,
            "authenticity_score": sig.authenticity_score,
            "authenticity_reasons": sig.authenticity_reasons,
            "sponsored_share": sig.sponsored_share,
            "comments_positive": sig.comments_positive,
            "comments_neutral": sig.comments_neutral,
            "comments_negative": sig.comments_negative,
            "comments_unscored": sig.comments_unscored,
            "details": sig.details,
        }
        for account_id, sig in sorted(out.items())
    ]
    await session.execute(_STORE, {"rows": orjson.dumps(rows).decode()})
    mark_ids = [m.id for m in found if m.account_id in out]
    if mark_ids:
        await session.execute(delete(AccountSignalMark).where(AccountSignalMark.id.in_(mark_ids)))
    return out


async def recompute(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> Signals | None:
    """Recompute one account's signals if it has staleness marks (or never was computed, or
    `force`), waiting for a concurrent recompute of it. Returns the signals written, or None
    when there was nothing to do (or no such account)."""
    done = await recompute_many(session, [account_id], force=force, now=now)
    return done.get(account_id)


async def is_stale(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not account_ids:
        return set()
    stmt = (
        select(AccountSignalMark.account_id)
        .where(AccountSignalMark.account_id.in_(list(account_ids)))
        .distinct()
    )
    return set((await session.execute(stmt)).scalars())


TIERS = tuple(t.value for t in Tier)
