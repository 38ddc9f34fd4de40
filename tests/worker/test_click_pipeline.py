"""The click pipeline: stream -> enrichment -> COPY into `clicks`, acknowledged after commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.worker.jobs.clicks import GROUP, ClickDrain, create_click_partitions
from shared.config import Settings
from shared.links.clickid import ClickIds
from shared.links.clicks import (
    UNIQUE_WINDOW_MS,
    StreamClick,
    UserAgentClassifier,
    encode_entry,
    is_bot,
    referrer_domain,
)

SECRET = b"pipeline test secret, 32 bytes.."
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
INSTAGRAM_IN_APP = IPHONE + " Instagram 309.0.0.40.113 (iPhone15,2; iOS 17_0; en_US)"
BOTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "",
    "   ",
]

ids = ClickIds(SECRET)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url or "")
    yield client
    await client.aclose()


@pytest.fixture
async def stream(redis: aioredis.Redis) -> AsyncIterator[str]:
    name = f"vouch:clicks:test:{uuid.uuid4().hex[:8]}"
    yield name
    await redis.delete(name)


def drain_for(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str, **kw: Any
) -> ClickDrain:
    s = settings.model_copy(update=kw) if kw else settings
    return ClickDrain(s, engine, redis, stream=stream, consumer=f"c-{uuid.uuid4().hex[:6]}")


def click(
    link: uuid.UUID,
    *,
    visitor: bytes = b"v" * 16,
    ua: str = IPHONE,
    ms: int | None = None,
    country: str | None = "DE",
    ref: str | None = "l.instagram.com",
    brand: uuid.UUID | None = None,
) -> StreamClick:
    ms = ms or int(datetime.now(UTC).timestamp() * 1000)
    return (
        ids.issue(ClickIds.prefix(link), ms),
        (brand or uuid.uuid4()).hex,
        link.hex,
        ms,
        visitor.hex(),
        country,
        ref,
        ua,
    )


async def rows_for(engine: AsyncEngine, link: uuid.UUID) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM clicks WHERE link_id = :l ORDER BY clicked_at, click_id"),
            {"l": link},
        )
        return [dict(r._mapping) for r in result]


async def drain_everything(drain: ClickDrain) -> None:
    await drain.ensure_group()
    while True:
        seen = drain.entries
        await drain.drain_once(block_ms=None)
        if drain.entries == seen:
            return


def test_bot_list_unfurlers_and_devices() -> None:
    classifier = UserAgentClassifier()
    for ua in BOTS:
        assert is_bot(ua), ua
        assert classifier.classify(ua) == (True, "bot")
    assert classifier.classify(IPHONE) == (False, "mobile")
    assert classifier.classify(ANDROID_PHONE) == (False, "mobile")
    assert classifier.classify(INSTAGRAM_IN_APP) == (False, "mobile")
    assert classifier.classify(IPAD) == (False, "tablet")
    assert classifier.classify(ANDROID_TABLET) == (False, "tablet")
    assert classifier.classify(DESKTOP) == (False, "desktop")


def test_referrer_domain() -> None:
    assert referrer_domain("https://L.Instagram.com/?u=x") == "l.instagram.com"
    assert referrer_domain("http://user:pw@t.co:8080/abc") == "t.co"
    assert referrer_domain("android-app://com.google.android.gm/") is None
    assert referrer_domain("not a url") is None
    assert referrer_domain("https://") is None


async def test_clicks_are_enriched_stored_and_acknowledged(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str
) -> None:
    link, brand = uuid.uuid4(), uuid.uuid4()
    human = click(link, brand=brand)
    bots = [click(link, brand=brand, ua=ua, visitor=bytes([i]) * 16) for i, ua in enumerate(BOTS)]
    await redis.xadd(stream, encode_entry([human, *bots]))
    drain = drain_for(settings, engine, redis, stream)
    await drain_everything(drain)

    rows = {r["click_id"]: r for r in await rows_for(engine, link)}
    assert len(rows) == 1 + len(BOTS)
    first = rows[human[0]]
    assert first["brand_id"] == brand and first["country"] == "DE"
    assert first["device"] == "mobile" and first["referrer_domain"] == "l.instagram.com"
    assert first["is_unique"] and not first["is_bot"]
    assert first["visitor_hash"] == b"v" * 16
    for b in bots:  # kept, flagged, never unique
        assert rows[b[0]]["is_bot"] and rows[b[0]]["device"] == "bot"
        assert not rows[b[0]]["is_unique"]
    assert await redis.xlen(stream) == 0  # acknowledged and deleted
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_unique_clicks_one_per_link_visitor_and_hour(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str
) -> None:
    link, other_link = uuid.uuid4(), uuid.uuid4()
    hour = (datetime.now(UTC).timestamp() * 1000) // UNIQUE_WINDOW_MS * UNIQUE_WINDOW_MS
    at = int(hour) - 3 * UNIQUE_WINDOW_MS  # a whole hour, three hours ago
    batch_1 = [click(link, ms=at + 1), click(link, ms=at + 2)]
    batch_2 = [
        click(link, ms=at + 3),  # same hour, later batch, another worker: not unique
        click(link, ms=at + 10, visitor=b"w" * 16),  # another visitor
        click(other_link, ms=at + 11),  # another link
        click(link, ms=at + UNIQUE_WINDOW_MS),  # the next hour
    ]
    await redis.xadd(stream, encode_entry(batch_1))
    await drain_everything(drain_for(settings, engine, redis, stream))
    await redis.xadd(stream, encode_entry(batch_2))
    await drain_everything(drain_for(settings, engine, redis, stream))

    flags = {r["click_id"]: r["is_unique"] for r in await rows_for(engine, link)}
    flags |= {r["click_id"]: r["is_unique"] for r in await rows_for(engine, other_link)}
    assert [flags[c[0]] for c in batch_1] == [True, False]
    assert [flags[c[0]] for c in batch_2] == [False, True, True, True]


async def test_a_redelivered_batch_is_stored_once(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str
) -> None:
    link = uuid.uuid4()
    clicks = [click(link, visitor=bytes([i % 3]) * 16) for i in range(50)]
    entry_id = await redis.xadd(stream, encode_entry(clicks))
    drain = drain_for(settings, engine, redis, stream)
    await drain.ensure_group()
    entries = [(entry_id, {b"c": (await redis.xrange(stream))[0][1][b"c"]})]
    assert await drain.process(entries) == 50
    first = await rows_for(engine, link)
    # The same batch again (a crash after COMMIT, before XACK): nothing new, nothing changed.
    assert await drain.process(entries) == 0
    assert await rows_for(engine, link) == first
    assert sum(r["is_unique"] for r in first) == 3


async def test_entries_of_a_dead_consumer_are_reclaimed(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str
) -> None:
    link = uuid.uuid4()
    clicks = [click(link, visitor=bytes([i]) * 16) for i in range(10)]
    await redis.xadd(stream, encode_entry(clicks))
    dead = drain_for(settings, engine, redis, stream, click_reclaim_idle_ms=200)
    await dead.ensure_group()
    assert await dead._read(">", None)  # read, then "crash" before storing or acking
    assert (await redis.xpending(stream, GROUP))["pending"] == 1

    alive = drain_for(settings, engine, redis, stream, click_reclaim_idle_ms=200)
    await alive.drain_once(block_ms=None)  # too early: still someone else's
    assert await rows_for(engine, link) == []
    await asyncio.sleep(0.25)
    alive._next_reclaim = 0
    assert await alive.drain_once(block_ms=None) == 10
    assert len(await rows_for(engine, link)) == 10
    assert (await redis.xpending(stream, GROUP))["pending"] == 0


async def test_a_malformed_entry_is_skipped_not_stuck(
    settings: Settings, engine: AsyncEngine, redis: aioredis.Redis, stream: str
) -> None:
    link = uuid.uuid4()
    await redis.xadd(stream, {b"c": b"not json"})
    await redis.xadd(stream, {b"c": b'[["short", "x", "y", 1, "v", null, null, "ua"]]'})
    await redis.xadd(stream, encode_entry([click(link)]))
    await drain_everything(drain_for(settings, engine, redis, stream))
    assert len(await rows_for(engine, link)) == 1
    assert await redis.xlen(stream) == 0


async def test_partitions_are_created_ahead_idempotently(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    stream: str,
) -> None:
    ctx: Any = {"settings": settings, "sessionmaker": sessionmaker, "redis": redis}
    await create_click_partitions(ctx)
    assert await create_click_partitions(ctx) == 0  # idempotent

    today = datetime.now(UTC).date()
    wanted = []
    for ahead in range(3):
        month = (today.month - 1 + ahead) % 12 + 1
        year = today.year + (today.month - 1 + ahead) // 12
        wanted.append(f"clicks_y{year:04d}m{month:02d}")
    async with engine.connect() as conn:
        parts = {
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = 'clicks'::regclass"
                )
            )
        }
    assert set(wanted) <= parts

    # A click in a month nobody prepared (a far-future clock) gets its partition on demand.
    link = uuid.uuid4()
    future = int(datetime(2031, 7, 15, tzinfo=UTC).timestamp() * 1000)
    await redis.xadd(stream, encode_entry([click(link, ms=future)]))
    await drain_everything(drain_for(settings, engine, redis, stream))
    try:
        rows = await rows_for(engine, link)
        assert len(rows) == 1 and rows[0]["clicked_at"].date() == date(2031, 7, 15)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS clicks_y2031m07"))
