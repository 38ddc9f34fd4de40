"""GET|HEAD /r/{code}: the public redirect, its link cache and its click capture."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.main import create_app
from services.api.public.redirect import Redirect
from services.worker.jobs.clicks import ClickDrain
from shared.config import Settings
from shared.links.cache import LINK_KEY
from shared.links.clickid import ClickIds
from shared.secrets import secret_key
from tests.factories import Tenant, change_link, make_link

IP = "203.0.113.77"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url or "")
    yield client
    await client.aclose()


@pytest.fixture
def redirect(app: FastAPI) -> Redirect:
    state: Redirect = app.state.redirect
    return state


@pytest.fixture
async def follower(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from IP, as a follower's would."""
    transport = httpx.ASGITransport(app=app, client=(IP, 50123))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://vouch.test", headers={"user-agent": IPHONE}
    ) as c:
        yield c


async def drain_all(settings: Settings, engine: AsyncEngine, redis: aioredis.Redis) -> int:
    """What the worker does, run here: drain the stream until it is empty."""
    drain = ClickDrain(settings, engine, redis, consumer=f"test-{uuid.uuid4().hex[:6]}")
    await drain.ensure_group()
    while True:
        seen = drain.entries
        await drain.drain_once(block_ms=None)
        if drain.entries == seen:
            return drain.stored


async def stored_click(engine: AsyncEngine, click_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT * FROM clicks WHERE click_id = :c"), {"c": click_id})
        ).first()
    return None if row is None else dict(row._mapping)


def vclid(resp: httpx.Response) -> str:
    return parse_qs(urlsplit(resp.headers["location"]).query)["vclid"][0]


async def test_redirect_carries_utm_and_a_verifiable_click_id(
    follower: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    engine: AsyncEngine,
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    link = await make_link(
        sessionmaker,
        tenant.brand_id,
        redis,
        handle="ana",
        destination_url="https://shop.example.com/p?color=red&utm_source=newsletter#reviews",
        utm={"utm_term": "boots"},
    )
    before = datetime.now(UTC)
    resp = await follower.get(f"/r/{link.code}", headers={"referer": "https://l.Instagram.com/x"})
    assert resp.status_code == 302, resp.text
    assert resp.headers["cache-control"] == "no-store"
    location = urlsplit(resp.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example.com", "/p")
    assert location.fragment == "reviews"
    query = parse_qs(location.query)
    assert query["color"] == ["red"]
    # Vouch's UTM wins over the destination's by default; defaults come from the campaign
    # and the influencer's account, overrides from the link.
    assert query["utm_source"] == ["instagram"]
    assert query["utm_medium"] == ["influencer"]
    assert query["utm_content"] == ["ana"]
    assert query["utm_term"] == ["boots"]
    assert query["utm_campaign"] and query["vclid"]

    verified = ClickIds(secret_key(settings)).verify(vclid(resp))
    assert verified is not None
    link_id, clicked_at = verified
    assert link_id == link.id
    assert before - timedelta(seconds=1) <= clicked_at <= datetime.now(UTC)

    # The click reaches PostgreSQL through the stream and the worker's drain.
    await redirect.flush()
    await drain_all(settings, engine, redis)
    row = await stored_click(engine, vclid(resp))
    assert row is not None
    assert row["link_id"] == link.id and row["brand_id"] == tenant.brand_id
    assert row["clicked_at"] == clicked_at
    assert row["device"] == "mobile" and not row["is_bot"] and row["is_unique"]
    assert row["referrer_domain"] == "l.instagram.com"
    assert row["country"] is None  # a documentation-range address has no country
    assert len(row["visitor_hash"]) == 16


async def test_destination_wins_keeps_the_destinations_utm(
    follower: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    link = await make_link(
        sessionmaker,
        tenant.brand_id,
        redis,
        destination_url="https://shop.example.com/p?utm_source=newsletter",
        destination_utm_wins=True,
    )
    resp = await follower.get(f"/r/{link.code}")
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["influencer"]


async def test_forged_or_altered_click_ids_are_rejected(settings: Settings) -> None:
    ids = ClickIds(secret_key(settings))
    link_id = uuid.uuid4()
    genuine = ids.issue(ClickIds.prefix(link_id))
    assert len(genuine) == 48 and ids.verify(genuine) is not None
    other_server = ClickIds(b"another deployment's secret key")
    forged = other_server.issue(ClickIds.prefix(link_id))
    assert ids.verify(forged) is None
    for i in range(len(genuine)):  # any single character changed
        swapped = "A" if genuine[i] != "A" else "B"
        assert ids.verify(genuine[:i] + swapped + genuine[i + 1 :]) is None
    # truncated, extended, other alphabets, garbage
    assert ids.verify(genuine[:-1]) is None
    assert ids.verify(genuine + "A") is None
    assert ids.verify(genuine[:-1] + "+") is None
    assert ids.verify("") is None and ids.verify("x" * 48) is None
    assert ids.verify("é" * 48) is None


async def test_unknown_disabled_and_expired_links(
    follower: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    clicks_before = redirect.counters.outcomes["click"]
    for path in ("/r/nope-not-a-code", "/r/a", "/r/bad code!", "/r/x/y", "/r/"):
        resp = await follower.get(path)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"].startswith("text/html")
        assert "Link not found" in resp.text
        head = await follower.head(path)
        assert head.status_code == 404 and head.content == b""

    disabled = await make_link(sessionmaker, tenant.brand_id, redis, status="disabled")
    assert (await follower.get(f"/r/{disabled.code}")).status_code == 404

    expiring = await make_link(
        sessionmaker,
        tenant.brand_id,
        redis,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert (await follower.get(f"/r/{expiring.code}")).status_code == 302
    await change_link(
        sessionmaker,
        tenant.brand_id,
        expiring.id,
        redis,
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    await asyncio.sleep(redirect.cache.local_ttl if redirect.cache else 0)
    gone = await follower.get(f"/r/{expiring.code}")
    assert gone.status_code == 410 and "expired" in gone.text
    assert (await follower.head(f"/r/{expiring.code}")).status_code == 410
    assert redirect.counters.outcomes["click"] == clicks_before + 1  # only the one good click

    assert (await follower.post(f"/r/{expiring.code}")).status_code == 405


async def test_head_answers_like_get_but_is_never_a_click(
    follower: httpx.AsyncClient,
    settings: Settings,
    engine: AsyncEngine,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    clicks, heads = redirect.counters.outcomes["click"], redirect.counters.outcomes["head"]
    resp = await follower.head(f"/r/{link.code}")
    assert resp.status_code == 302
    assert resp.headers["location"].startswith("https://shop.example.com/p?")
    assert "vclid=" in resp.headers["location"]
    assert redirect.counters.outcomes["click"] == clicks
    assert redirect.counters.outcomes["head"] == heads + 1
    await redirect.flush()
    await drain_all(settings, engine, redis)
    assert await stored_click(engine, vclid(resp)) is None


async def test_click_cap_sends_followers_to_the_fallback(
    follower: httpx.AsyncClient,
    settings: Settings,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    link = await make_link(
        sessionmaker,
        tenant.brand_id,
        redis,
        click_cap=3,
        fallback_url="https://shop.example.com/sold-out",
    )
    first = await follower.get(f"/r/{link.code}")
    await redirect.flush()  # the count goes to Redis and comes back
    rest = [await follower.get(f"/r/{link.code}") for _ in range(3)]
    locations = [r.headers["location"] for r in [first, *rest]]
    assert all(loc.startswith("https://shop.example.com/p?") for loc in locations[:3])
    assert locations[3] == "https://shop.example.com/sold-out"
    await redirect.flush()
    assert int(await redis.get(f"vouch:link:{link.id.hex}:clicks") or 0) == 3
    # Another API process (its own empty cache) sees the cap reached too.
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, client=(IP, 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://vouch.test") as c:
            assert (await c.get(f"/r/{link.code}")).headers["location"].endswith("/sold-out")


async def test_changed_destination_is_served_within_a_second(
    follower: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    await asyncio.wait_for(redirect.subscribed.wait(), 5)
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    assert (
        (await follower.get(f"/r/{link.code}"))
        .headers["location"]
        .startswith("https://shop.example.com/p?")
    )
    start = time.monotonic()
    await change_link(
        sessionmaker, tenant.brand_id, link.id, redis, destination_url="https://shop.example.com/q"
    )
    while True:
        location = (await follower.get(f"/r/{link.code}")).headers["location"]
        if location.startswith("https://shop.example.com/q?"):
            break
        assert time.monotonic() - start < 1.0, "old destination served for over a second"
        await asyncio.sleep(0.01)

    # A process that missed the pub/sub message (only the Redis key is gone) still serves
    # the change within a second: in-process entries are trusted for half a second.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE tracking_links SET destination_url = :u WHERE id = :id"),
            {"u": "https://shop.example.com/r", "id": link.id},
        )
    await redis.delete(LINK_KEY.format(code=link.code))
    start = time.monotonic()
    while (
        not (await follower.get(f"/r/{link.code}"))
        .headers["location"]
        .startswith("https://shop.example.com/r?")
    ):
        assert time.monotonic() - start < 1.0
        await asyncio.sleep(0.02)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_still_redirects_and_the_click_lands_in_postgres(
    settings: Settings,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    redis: aioredis.Redis,
) -> None:
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(IP, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://vouch.test") as c:
            started = time.monotonic()
            resps = [
                await c.get(f"/r/{link.code}", headers={"user-agent": IPHONE}) for _ in range(3)
            ]
            assert time.monotonic() - started < 2
            assert [r.status_code for r in resps] == [302, 302, 302]
            await app.state.redirect.flush()
            metrics = (await c.get("/metrics")).text
    assert "vouch_clicks_fallback_total 3.0" in metrics
    rows = [await stored_click(engine, vclid(r)) for r in resps]
    assert all(r is not None and r["link_id"] == link.id for r in rows)
    # Without Redis the unique flag is decided in SQL: one per link, visitor and hour.
    assert sorted(bool(r and r["is_unique"]) for r in rows) == [False, False, True]


async def test_no_ip_address_is_stored_anywhere(
    follower: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    engine: AsyncEngine,
    redis: aioredis.Redis,
    redirect: Redirect,
) -> None:
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    resp = await follower.get(f"/r/{link.code}")
    assert resp.status_code == 302
    await redirect.flush()
    # Not in Redis either: the stream carries a visitor hash, never the address.
    entries = await redis.xrange(settings.click_stream)
    assert entries
    assert not any(IP.encode() in v for _id, fields in entries for v in fields.values())
    await drain_all(settings, engine, redis)
    assert await stored_click(engine, vclid(resp)) is not None

    ip_bytes = socket.inet_aton(IP)
    async with engine.connect() as conn:
        tables = [
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                    " AND (c.relname = 'clicks' OR c.relname LIKE 'clicks\\_y%')"
                )
            )
        ]
        assert "clicks" in tables and len(tables) >= 4  # the parent and 3 months
        for table in tables:
            columns = await conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = :t"
                ),
                {"t": table},
            )
            for column, data_type in columns:
                if data_type in ("text", "character varying", "character"):
                    found = await conn.execute(
                        text(f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE :p'),  # noqa: S608
                        {"p": f"%{IP}%"},
                    )
                elif data_type == "bytea":
                    found = await conn.execute(
                        text(
                            f'SELECT count(*) FROM "{table}" WHERE position(:b IN "{column}") > 0'  # noqa: S608
                            f' OR position(:s IN "{column}") > 0'
                        ),
                        {"b": ip_bytes, "s": IP.encode()},
                    )
                else:
                    continue
                assert found.scalar_one() == 0, (table, column)


async def test_metrics_count_redirects_without_access_logs(
    follower: httpx.AsyncClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    await follower.get(f"/r/{link.code}")
    await follower.get("/r/unknown-code")
    body = (await client.get("/metrics")).text
    assert 'vouch_redirects_total{outcome="click"}' in body
    assert 'vouch_redirects_total{outcome="not_found"}' in body
    assert "vouch_clicks_streamed_total" in body
    # The FastAPI middleware never saw the redirect: no route label for it.
    assert "/r/" not in "\n".join(
        line for line in body.splitlines() if line.startswith("vouch_http_requests_total")
    )


async def test_with_redis_and_postgres_down_known_links_still_redirect(
    settings: Settings,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
) -> None:
    from shared.db.engine import create_engine

    link = await make_link(sessionmaker, tenant.brand_id, redis)
    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(IP, 40002))
        async with httpx.AsyncClient(transport=transport, base_url="http://vouch.test") as c:
            assert (await c.get(f"/r/{link.code}")).status_code == 302
            cache = app.state.redirect.cache
            dead_db = create_engine(
                settings.model_copy(
                    update={"database_url": f"postgresql+asyncpg://x@127.0.0.1:{_closed_port()}/x"}
                )
            )
            cache.engine, working = dead_db, cache.engine
            try:
                await asyncio.sleep(cache.local_ttl)  # the entry is no longer trusted
                again = await c.get(f"/r/{link.code}")
                assert again.status_code == 302 and "vclid=" in again.headers["location"]
                unknown = await c.get("/r/never-seen-code")
                assert unknown.status_code == 503 and unknown.headers["retry-after"] == "5"
            finally:
                cache.engine = working
                await dead_db.dispose()


async def test_graceful_shutdown_flushes_buffered_clicks(
    settings: Settings,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.api.public import redirect as redirect_module

    monkeypatch.setattr(redirect_module, "FLUSH_INTERVAL", 3600)  # only the shutdown flush
    link = await make_link(sessionmaker, tenant.brand_id, redis)
    stream = f"vouch:clicks:test:{uuid.uuid4().hex[:8]}"
    app = create_app(settings.model_copy(update={"click_stream": stream}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(IP, 40003))
        async with httpx.AsyncClient(transport=transport, base_url="http://vouch.test") as c:
            resps = [await c.get(f"/r/{link.code}") for _ in range(5)]
    try:
        entries = await redis.xrange(stream)
        streamed = b"".join(fields[b"c"] for _id, fields in entries)
        assert all(vclid(r).encode() in streamed for r in resps)
    finally:
        await redis.delete(stream)
