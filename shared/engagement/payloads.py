"""Engagement payloads -> one normalised shape (`EngagementBatch`). Pure functions, no I/O.

## Vouch engagement format (`POST /webhooks/engagement/{integration_id}`, Standard Webhooks)

```json
{
  "type": "engagement.snapshot",
  "captured_at": "2026-11-20T10:00:00Z",
  "account": {"platform": "instagram", "handle": "@Jane.Runs", "followers": 48210},
  "posts": [{
    "external_post_id": "3245789012345678901",
    "post_url": "https://www.instagram.com/p/C0ffee123/?igsh=abc",
    "posted_at": "2026-11-18T17:30:00Z",
    "content_type": "reel",
    "caption": "Long run in the new shoes #ad #vouchsummer",
    "paid_partnership": false,
    "language": "en",
    "metrics": {"likes": 1520, "comments": 48, "shares": 31, "saves": 77, "views": 20400,
                "reach": 15800},
    "comments": [{"id": "17900000000000001", "text": "Love this!",
                  "posted_at": "2026-11-18T18:02:00Z"}]
  }]
}
```
- `platform` and `handle` may be given per post; they default to the `account` object's.
- `captured_at` (top level, or per `metrics` / `account`) is when the numbers were read; it
  defaults to the delivery's `webhook-timestamp`. Every metric is optional and may be null.
- `account.followers` (optional) updates the roster account and its follower history.
- `content_type`: post, story, reel, short, video, live (default post).
- Limits: 500 posts and 1,000 comments per post per delivery; texts are cut at 5,000 chars.

## Instagram Graph webhooks (`POST /webhooks/instagram/{integration_id}`)
`{"object": "instagram", "entry": [{"id": <IG user id>, "time": <unix>, "changes": [...]}]}`
with fields `comments` / `live_comments` (a comment on one of the subscribed account's media),
`mentions` (a media or comment mentioning the account: a post by someone else, kept
unmatched until linked) and `story_insights` (a metrics snapshot of a story). The IG user id is
mapped to a handle through the integration's `settings.instagram.accounts`
(`{"<ig user id>": "handle"}`); unmapped accounts give unmatched posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.models.engagement import CONTENT_TYPES, METRICS
from shared.models.enums import Platform

MAX_POSTS = 500
MAX_COMMENTS = 1_000
MAX_TEXT = 5_000
_PLATFORMS = frozenset(p.value for p in Platform)


class PayloadError(ValueError):
    """The payload cannot be read; the message names the field (e.g. `posts[2].posted_at`)."""


@dataclass(slots=True)
class Metrics:
    captured_at: datetime
    values: dict[str, int | None]  # only the metrics the payload carried (None = reported null)


@dataclass(slots=True)
class CommentIn:
    external_id: str
    text: str
    posted_at: datetime | None
    language: str | None = None


@dataclass(slots=True)
class PostIn:
    platform: str
    handle: str | None
    external_post_id: str
    account_external_id: str | None = None
    post_url: str | None = None
    posted_at: datetime | None = None
    content_type: str | None = None  # None: the delivery does not say (stored default: post)
    caption: str | None = None
    language: str | None = None
    paid_partnership: bool | None = None
    metrics: Metrics | None = None
    comments: list[CommentIn] = field(default_factory=list)


@dataclass(slots=True)
class AccountIn:
    platform: str
    handle: str
    followers: int
    captured_at: datetime


@dataclass(slots=True)
class EngagementBatch:
    accounts: list[AccountIn] = field(default_factory=list)
    posts: list[PostIn] = field(default_factory=list)


# ------------------------------------------------------------------------------- helpers
def normalise_handle(value: str) -> str:
    """`@Jane.Runs ` -> `jane.runs` (the roster's form)."""
    return value.strip().lstrip("@").strip().lower()


def _text(value: Any, where: str, *, required: bool = False, limit: int = 500) -> str | None:
    if value is None or value == "":
        if required:
            raise PayloadError(f"{where} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # numeric ids
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string")
    return value[:limit]


def parse_time(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # unix s or ms
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be an ISO 8601 time or a unix timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(f"{where} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise PayloadError(f"{where} needs a UTC offset (e.g. 'Z'): {value!r}")
    return parsed


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PayloadError(f"{where} must be a non-negative integer or null")
    return int(value)


def _platform(value: Any, where: str) -> str:
    name = _text(value, where, required=True)
    assert name is not None
    platform = name.strip().lower()
    if platform not in _PLATFORMS:
        raise PayloadError(f"{where}: unknown platform {name!r}")
    return platform


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object")
    return value


# ---------------------------------------------------------------------- Vouch format
def parse_vouch(document: Any, default_captured_at: datetime) -> EngagementBatch:
    doc = _obj(document, "body")
    captured = parse_time(doc.get("captured_at"), "captured_at") or default_captured_at
    batch = EngagementBatch()
    account_platform: str | None = None
    account_handle: str | None = None
    if doc.get("account") is not None:
        acc = _obj(doc["account"], "account")
        account_platform = _platform(acc.get("platform"), "account.platform")
        raw_handle = _text(acc.get("handle"), "account.handle", required=True, limit=100)
        assert raw_handle is not None
        account_handle = normalise_handle(raw_handle)
        followers = _count(acc.get("followers"), "account.followers")
        if followers is not None:
            at = parse_time(acc.get("captured_at"), "account.captured_at") or captured
            batch.accounts.append(AccountIn(account_platform, account_handle, followers, at))
    posts = doc.get("posts") or []
    if not isinstance(posts, list):
        raise PayloadError("posts must be a list")
    if len(posts) > MAX_POSTS:
        raise PayloadError(f"posts: at most {MAX_POSTS} per delivery")
    for i, raw in enumerate(posts):
        batch.posts.append(
            _vouch_post(raw, f"posts[{i}]", captured, account_platform, account_handle)
        )
    if not batch.posts and not batch.accounts:
        raise PayloadError("body carries neither posts nor account followers")
    return batch


def _vouch_post(
    raw: Any,
    where: str,
    captured: datetime,
    account_platform: str | None,
    account_handle: str | None,
) -> PostIn:
    p = _obj(raw, where)
    platform = (
        _platform(p["platform"], f"{where}.platform") if p.get("platform") else account_platform
    )
    if platform is None:
        raise PayloadError(f"{where}.platform is required (or give account.platform)")
    handle_raw = _text(p.get("handle"), f"{where}.handle", limit=100)
    handle = normalise_handle(handle_raw) if handle_raw else account_handle
    external_id = _text(p.get("external_post_id"), f"{where}.external_post_id", required=True)
    assert external_id is not None
    content_type = (_text(p.get("content_type"), f"{where}.content_type") or "").lower() or None
    if content_type is not None and content_type not in CONTENT_TYPES:
        raise PayloadError(
            f"{where}.content_type must be one of {', '.join(CONTENT_TYPES)}: {content_type!r}"
        )
    paid = p.get("paid_partnership")
    if paid is not None and not isinstance(paid, bool):
        raise PayloadError(f"{where}.paid_partnership must be a boolean")
    post = PostIn(
        platform=platform,
        handle=handle or None,
        external_post_id=external_id,
        post_url=_text(p.get("post_url"), f"{where}.post_url", limit=2_000),
        posted_at=parse_time(p.get("posted_at"), f"{where}.posted_at"),
        content_type=content_type,
        caption=_text(p.get("caption"), f"{where}.caption", limit=MAX_TEXT),
        language=(_text(p.get("language"), f"{where}.language", limit=10) or "").lower() or None,
        paid_partnership=paid,
    )
    if p.get("metrics") is not None:
        m = _obj(p["metrics"], f"{where}.metrics")
        at = parse_time(m.get("captured_at"), f"{where}.metrics.captured_at") or captured
        values = {k: _count(m[k], f"{where}.metrics.{k}") for k in METRICS if k in m}
        post.metrics = Metrics(at, values)
    comments = p.get("comments") or []
    if not isinstance(comments, list):
        raise PayloadError(f"{where}.comments must be a list")
    for j, c in enumerate(comments[:MAX_COMMENTS]):
        cw = f"{where}.comments[{j}]"
        c = _obj(c, cw)
        cid = _text(c.get("id"), f"{cw}.id", required=True)
        text = _text(c.get("text"), f"{cw}.text", limit=MAX_TEXT) or ""
        assert cid is not None
        post.comments.append(
            CommentIn(
                cid,
                text,
                parse_time(c.get("posted_at"), f"{cw}.posted_at"),
                (_text(c.get("language"), f"{cw}.language", limit=10) or "").lower() or None,
            )
        )
    return post


# ------------------------------------------------------------------ Instagram Graph
_IG_PRODUCT = {"FEED": "post", "REELS": "reel", "STORY": "story", "AD": "post", "IGTV": "video"}
_IG_STORY_METRICS = {"impressions": "impressions", "reach": "reach", "replies": "comments"}


def parse_instagram(
    document: Any, accounts: dict[str, str], default_captured_at: datetime
) -> EngagementBatch:
    """`accounts` maps IG user ids to roster handles (integration settings)."""
    doc = _obj(document, "body")
    if doc.get("object") != "instagram":
        raise PayloadError("object must be 'instagram'")
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry must be a list")
    batch = EngagementBatch()
    posts: dict[str, PostIn] = {}
    for i, raw in enumerate(entries):
        entry = _obj(raw, f"entry[{i}]")
        user_id = _text(entry.get("id"), f"entry[{i}].id")
        when = parse_time(entry.get("time"), f"entry[{i}].time") or default_captured_at
        handle = accounts.get(user_id or "")
        for j, rawc in enumerate(entry.get("changes") or []):
            where = f"entry[{i}].changes[{j}]"
            change = _obj(rawc, where)
            fld = change.get("field")
            value = _obj(change.get("value") or {}, f"{where}.value")
            if fld in ("comments", "live_comments"):
                media = _obj(value.get("media") or {}, f"{where}.value.media")
                media_id = _text(media.get("id"), f"{where}.value.media.id", required=True)
                assert media_id is not None
                kind = (
                    "live"
                    if fld == "live_comments"
                    else _IG_PRODUCT.get(str(media.get("media_product_type") or "FEED"), "post")
                )
                post = _ig_post(posts, batch, media_id, handle, user_id, kind)
                cid = _text(value.get("id"), f"{where}.value.id", required=True)
                assert cid is not None
                text = _text(value.get("text"), f"{where}.value.text", limit=MAX_TEXT) or ""
                post.comments.append(CommentIn(cid, text, when))
            elif fld == "mentions":
                # Someone else's media or comment mentions the account: their post, author
                # unknown to the webhook; kept unmatched until the brand links it.
                media_id = _text(value.get("media_id"), f"{where}.value.media_id", required=True)
                assert media_id is not None
                _ig_post(posts, batch, media_id, None, None, "post")
            elif fld == "story_insights":
                media_id = _text(value.get("media_id"), f"{where}.value.media_id", required=True)
                assert media_id is not None
                post = _ig_post(posts, batch, media_id, handle, user_id, "story")
                values = {
                    ours: _count(value[theirs], f"{where}.value.{theirs}")
                    for theirs, ours in _IG_STORY_METRICS.items()
                    if theirs in value
                }
                post.metrics = Metrics(when, values)
            # Other fields (messages, ...) carry nothing engagement needs: ignored.
    return batch


def _ig_post(
    posts: dict[str, PostIn],
    batch: EngagementBatch,
    media_id: str,
    handle: str | None,
    user_id: str | None,
    kind: str,
) -> PostIn:
    post = posts.get(media_id)
    if post is None:
        post = PostIn(
            platform=Platform.INSTAGRAM.value,
            handle=handle,
            external_post_id=media_id,
            account_external_id=user_id,
            content_type=kind,
        )
        posts[media_id] = post
        batch.posts.append(post)
    return post
