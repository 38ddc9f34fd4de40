"""The API application: `create_app()` builds it; the lifespan opens the engine and arq pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from arq.connections import ArqRedis
from fastapi import FastAPI
from redis.asyncio import ConnectionPool

from services.api.brands.router import router as brand_router
from services.api.deps import AppState
from services.api.errors import install_error_handlers
from services.api.health import router as health_router
from services.api.observability import Metrics, RequestContextMiddleware
from shared.config import Settings, get_settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.logging import configure_logging

log = structlog.get_logger(__name__)

DESCRIPTION = """
Vouch: influencer marketing and affiliate tracking for e-commerce brands.

Authenticate with `Authorization: Bearer vk_live_...`. Every error is an RFC 9457
`application/problem+json` document. Lists are keyset-paginated: pass `next_cursor` back as
`cursor`.
"""


def open_queue(settings: Settings) -> ArqRedis | None:
    """The arq client. Its pool connects lazily, so an API started while Redis is down stays
    up, answers /readyz with 503 naming Redis, and recovers when Redis comes back."""
    if not settings.redis_url:
        return None
    pool = ConnectionPool.from_url(
        settings.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    return ArqRedis(connection_pool=pool)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        queue = open_queue(settings)
        app.state.vouch = AppState(
            settings=settings, sessionmaker=create_sessionmaker(engine), queue=queue
        )
        try:
            yield
        finally:
            if queue is not None:
                await queue.aclose()
                await queue.connection_pool.disconnect()
            await engine.dispose()

    app = FastAPI(
        title="Vouch API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(health_router)
    app.include_router(brand_router)
    return app
