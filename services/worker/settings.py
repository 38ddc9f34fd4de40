"""arq WorkerSettings: `vouch worker` runs these; tests run them with a real arq Worker."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from services.worker.jobs import system
from shared.config import Settings, get_settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.jobs import JobName
from shared.logging import configure_logging


async def on_startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    configure_logging(settings)
    engine = create_engine(settings)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["sessionmaker"] = create_sessionmaker(engine)


async def on_shutdown(ctx: dict[str, Any]) -> None:
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()


FUNCTIONS = [
    func(system.heartbeat, name=JobName.HEARTBEAT.value),  # type: ignore[arg-type]
    func(system.ping, name=JobName.PING.value),  # type: ignore[arg-type]
]

CRON_JOBS = [
    cron(system.heartbeat, name="cron:heartbeat", second={0, 30}, run_at_startup=True),  # type: ignore[arg-type]
]


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise RuntimeError("VOUCH_REDIS_URL is not set and no embedded server was started")
    return RedisSettings.from_dsn(settings.redis_url)


def worker_settings(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` (or `run_worker`)."""
    settings = settings or get_settings()
    return {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": redis_settings(settings),
        "max_jobs": settings.worker_max_jobs,
        "ctx": {"settings": settings},
        "health_check_interval": 10,
        "poll_delay": 0.1,
        "handle_signals": True,
        "job_timeout": 300,
        "keep_result": 3600,
    }
