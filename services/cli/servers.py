"""Where the CLI finds PostgreSQL and Redis: `VOUCH_*` URLs when set, else the embedded
servers under `VOUCH_DATA_DIR` (started if not already running)."""

from __future__ import annotations

import asyncio

import asyncpg
import redis.asyncio as aioredis
from rich.console import Console

from shared.config import Settings, get_settings
from shared.db.engine import normalize_database_url
from shared.runtime import EmbeddedServerError, EmbeddedServers

console = Console(stderr=True)


class ServerUnavailable(Exception):
    pass


def resolve(settings: Settings | None = None) -> tuple[Settings, EmbeddedServers | None]:
    """Settings with both URLs filled in, and the embedded servers if they provide any."""
    settings = settings or get_settings()
    if settings.database_url and settings.redis_url:
        return settings, None
    if settings.env == "production":
        raise ServerUnavailable(
            "VOUCH_ENV=production needs VOUCH_DATABASE_URL and VOUCH_REDIS_URL; embedded "
            "servers are for development and tests."
        )
    servers = EmbeddedServers(settings.data_dir)
    try:
        urls = servers.start()
    except EmbeddedServerError as exc:
        raise ServerUnavailable(
            f"{exc}\nFix: free disk space or delete {settings.data_dir} to start from scratch, "
            "or point VOUCH_DATABASE_URL / VOUCH_REDIS_URL at running servers."
        ) from exc
    resolved = settings.model_copy(
        update={
            "database_url": settings.database_url or urls.database_url,
            "redis_url": settings.redis_url or urls.redis_url,
        }
    )
    return resolved, servers


async def _check(settings: Settings, *, redis: bool) -> list[str]:
    problems: list[str] = []
    assert settings.database_url and settings.redis_url
    dsn = normalize_database_url(settings.database_url).replace("+asyncpg", "")
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close()
    except Exception as exc:
        problems.append(
            f"PostgreSQL at {_redact(dsn)} is not answering ({exc!r}).\n"
            "  Fix: start PostgreSQL or correct VOUCH_DATABASE_URL; unset it to use the "
            "embedded server."
        )
    if not redis:
        return problems
    client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        problems.append(
            f"Redis at {_redact(settings.redis_url)} is not answering ({exc!r}).\n"
            "  Fix: start Redis or correct VOUCH_REDIS_URL; unset it to use the embedded server."
        )
    finally:
        await client.aclose()
    return problems


def check_reachable(settings: Settings, *, redis: bool = True) -> None:
    """Raise ServerUnavailable naming each server that does not answer and how to fix it.
    `redis=False` for commands that only touch the database (migrate, brands, keys), so a
    one-shot `vouch migrate` does not wait on Redis."""
    problems = asyncio.run(_check(settings, redis=redis))
    if problems:
        raise ServerUnavailable("\n".join(problems))


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    creds, _, host = rest.rpartition("@")
    user = creds.split(":")[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
