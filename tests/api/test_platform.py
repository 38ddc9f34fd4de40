"""Health, readiness, metrics, request ids, unknown routes and the OpenAPI contract."""

from __future__ import annotations

import socket

import httpx

from services.api.main import create_app
from shared.config import Settings
from tests.factories import Tenant
from tests.problems import assert_problem


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    resp = await client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "postgres": "ok", "redis": "ok"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_readyz_names_the_failed_dependency(settings: Settings) -> None:
    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            resp = await c.get("/readyz")
            body = assert_problem(resp, 503)
            assert set(body["failed"]) == {"redis"}
            assert "redis" in body["detail"]
            assert (await c.get("/healthz")).status_code == 200  # the process stays up


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    hostile = (await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})).headers
    assert hostile["x-request-id"] != "a b\tc"


async def test_metrics_use_route_templates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.delete("/v1/api-keys/01a20a0f-a0c0-7677-9145-f12f6502aa9d", headers=tenant.headers)
    text = (await client.get("/metrics")).text
    assert 'route="/v1/api-keys/{key_id}"' in text
    assert "vouch_http_request_duration_seconds_bucket" in text
    assert "01a20a0f-a0c0" not in text


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404)
    assert_problem(await client.put("/healthz"), 405)


async def test_openapi_declares_problem_responses(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "Problem" in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in methods.items():
            for status in ("401", "403"):
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content, (path, method, status)
            if op.get("requestBody") or op.get("parameters"):
                assert "application/problem+json" in op["responses"]["422"]["content"], (
                    path,
                    method,
                )
