"""Assertions on RFC 9457 problem documents."""

from __future__ import annotations

import httpx


def assert_problem(resp: httpx.Response, status: int, *, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:vouch:problem:")
    assert body["title"] and body["detail"]
    if field is not None:
        locs = [".".join(str(p) for p in e["loc"]) for e in body.get("errors") or []]
        assert any(field in loc for loc in locs), (field, locs)
    return body
