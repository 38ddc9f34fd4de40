"""Liveness, readiness and Prometheus metrics (no API key: for load balancers and scrapers)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services.api.deps import get_state
from services.api.errors import problem_response

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="PostgreSQL and Redis answer",
    responses={503: {"description": "A dependency is down; `failed` names it"}},
)
async def readyz(request: Request) -> Response:
    state = get_state(request)
    failed: dict[str, str] = {}

    async def check_postgres() -> None:
        async with state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    async def check_redis() -> None:
        if state.queue is None:
            raise RuntimeError("no Redis connection")
        await state.queue.ping()

    for name, check in (("postgres", check_postgres), ("redis", check_redis)):
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as exc:
            failed[name] = repr(exc)[:300]
    if failed:
        return problem_response(
            503,
            "dependency-unavailable",
            f"Not ready: {', '.join(failed)} unavailable.",
            title="Service unavailable",
            failed=failed,
        )
    return JSONResponse({"status": "ok", "postgres": "ok", "redis": "ok"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
