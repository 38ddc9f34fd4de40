"""The API application: `create_app()` builds it; the lifespan opens the engine and arq pool."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from arq.connections import ArqRedis
from fastapi import FastAPI
from redis.asyncio import ConnectionPool

from services.api.brands.router import router as brand_router
from services.api.campaigns.router import router as campaigns_router
from services.api.collaborations.deliverables import router as deliverables_router
from services.api.collaborations.router import router as collaborations_router
from services.api.commissions.router import router as commissions_router
from services.api.deps import AppState
from services.api.engagement.router import router as engagement_router
from services.api.errors import install_error_handlers
from services.api.health import router as health_router
from services.api.influencers.router import router as influencers_router
from services.api.integrations.router import router as integrations_router
from services.api.links.router import router as links_router
from services.api.observability import Metrics, RequestContextMiddleware
from services.api.orders.router import router as orders_router
from services.api.payouts.router import router as payouts_router
from services.api.promo_codes.router import router as promo_codes_router
from services.api.public import engagement_webhooks
from services.api.public import redirect as public_redirect
from services.api.public import webhooks as public_webhooks
from services.api.recommendations.router import router as recommendations_router
from services.api.reports.router import router as reports_router
from services.api.webhook_endpoints.router import router as outbound_webhooks_router
from services.api.webhook_events.router import router as webhook_events_router
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
    redirect = public_redirect.Redirect(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        queue = open_queue(settings)
        app.state.vouch = AppState(
            settings=settings, sessionmaker=create_sessionmaker(engine), queue=queue
        )
        await redirect.start(engine)
        # Move everything allocated at startup (imports, the country database, caches) out of
        # the collector's view: otherwise full collections over it pause hot paths for 100+ ms
        # at saturation (measured on the webhook intake benchmark).
        gc.freeze()
        try:
            yield
        finally:
            await redirect.stop()  # flushes buffered clicks before the pools close
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
    app.state.redirect = redirect
    # Outermost, after every other middleware: /r/{code} skips FastAPI entirely.
    public_redirect.install(app, redirect, app.state.metrics.registry)
    # Outermost too: POST /webhooks/... (store receivers) skip FastAPI entirely.
    public_webhooks.install(
        app, public_webhooks.WebhookReceiver(settings), app.state.metrics.registry
    )
    # After the store receivers (so outside them): GET|POST /webhooks/instagram/... (the
    # Vouch engagement format rides the store receivers as one more source).
    engagement_webhooks.install(app)
    app.include_router(health_router)
    app.include_router(brand_router)
    app.include_router(influencers_router)
    app.include_router(campaigns_router)
    app.include_router(collaborations_router)
    app.include_router(deliverables_router)
    app.include_router(links_router)
    app.include_router(promo_codes_router)
    app.include_router(integrations_router)
    app.include_router(webhook_events_router)
    app.include_router(outbound_webhooks_router)
    app.include_router(orders_router)
    app.include_router(commissions_router)
    app.include_router(payouts_router)
    app.include_router(engagement_router)
    app.include_router(recommendations_router)
    app.include_router(reports_router)
    return app
