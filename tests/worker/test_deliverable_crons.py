"""The collaboration crons, called directly with a test ctx: missed deliverables and
expiring usage rights. Both must be idempotent (a second run changes nothing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis, create_pool
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.context import WorkerContext
from services.worker.jobs.collaborations import (
    mark_missed_deliverables,
    notify_expiring_usage_rights,
)
from services.worker.settings import CRON_JOBS, FUNCTIONS, redis_settings
from shared.config import Settings
from shared.jobs import JobName
from shared.models import ContractTerms, Deliverable, DeliverableReview, OutboxEvent
from tests.factories import Tenant, api_collaboration, make_collab_parties


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_settings(settings))
    yield pool
    await pool.aclose()


def _ctx(
    settings: Settings, sm: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> WorkerContext:
    return {"settings": settings, "sessionmaker": sm, "redis": redis}


def _days(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


async def _collab(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    terms: dict[str, Any],
    to: str = "active",
) -> dict[str, Any]:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    return await api_collaboration(client, tenant, parties, to=to, terms=terms)


async def _deliverables(
    sessionmaker: async_sessionmaker[AsyncSession], collab_id: str
) -> list[Deliverable]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Deliverable)
            .where(Deliverable.collaboration_id == uuid.UUID(collab_id))
            .order_by(Deliverable.due_at.nulls_last(), Deliverable.id)
        )
        return list(rows.scalars())


async def _count(sessionmaker: async_sessionmaker[AsyncSession], stmt: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(stmt)).scalar_one())


def test_jobs_are_registered() -> None:
    names = {f.name for f in FUNCTIONS}
    assert {JobName.MARK_MISSED_DELIVERABLES, JobName.NOTIFY_EXPIRING_USAGE_RIGHTS} <= names
    crons = {c.name for c in CRON_JOBS}
    assert {"cron:mark_missed_deliverables", "cron:notify_expiring_usage_rights"} <= crons


async def test_missed_after_the_grace_period_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    queue: ArqRedis,
) -> None:
    assert settings.deliverable_grace_hours == 48
    terms = {
        "deliverables": [
            # Due by the end of each day: 5 days late, 5 days late, 1 day late, future, none.
            {
                "type": "reel",
                "platform": "instagram",
                "count": 5,
                "due_dates": [_days(-5), _days(-5), _days(-1), _days(30)],
            }
        ]
    }
    collab = await _collab(client, tenant, sessionmaker, terms)
    late, late_submitted, recent, future, undated = await _deliverables(sessionmaker, collab["id"])
    await client.post(
        f"/v1/deliverables/{late_submitted.id}/submit",
        headers=tenant.headers,
        json={"caption": "x"},
    )

    ctx = _ctx(settings, sessionmaker, queue)
    first = await mark_missed_deliverables(ctx)
    assert first["missed"] >= 1
    second = await mark_missed_deliverables(ctx)
    assert second["missed"] == 0

    rows = {d.id: d for d in await _deliverables(sessionmaker, collab["id"])}
    assert rows[late.id].status == "missed" and rows[late.id].missed_at is not None
    # A submitted draft waits on the brand's review; within the grace period is not missed.
    assert [rows[d.id].status for d in (late_submitted, recent, future, undated)] == [
        "submitted",
        "pending",
        "pending",
        "pending",
    ]
    missed_reviews = select(func.count()).where(
        DeliverableReview.deliverable_id == late.id, DeliverableReview.action == "missed"
    )
    assert await _count(sessionmaker, missed_reviews) == 1
    events = select(func.count()).where(
        OutboxEvent.brand_id == tenant.brand_id, OutboxEvent.type == "deliverable.missed"
    )
    assert await _count(sessionmaker, events) == 1
    resp = await client.get(
        "/v1/deliverables",
        headers=tenant.headers,
        params={"status": "missed", "collaboration_id": collab["id"]},
    )
    assert [d["id"] for d in resp.json()["items"]] == [str(late.id)]

    # With no grace, yesterday's piece is missed too.
    no_grace = _ctx(settings.model_copy(update={"deliverable_grace_hours": 0}), sessionmaker, queue)
    assert (await mark_missed_deliverables(no_grace))["missed"] >= 1
    rows = {d.id: d for d in await _deliverables(sessionmaker, collab["id"])}
    assert rows[recent.id].status == "missed" and rows[future.id].status == "pending"


async def test_cancelled_collaborations_are_not_swept(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    queue: ArqRedis,
) -> None:
    terms = {"deliverables": [{"type": "post", "platform": "x", "due_dates": [_days(-10)]}]}
    collab = await _collab(client, tenant, sessionmaker, terms)
    await client.post(
        f"/v1/collaborations/{collab['id']}/transitions",
        headers=tenant.headers,
        json={"to": "cancelled"},
    )
    await mark_missed_deliverables(_ctx(settings, sessionmaker, queue))
    [d] = await _deliverables(sessionmaker, collab["id"])
    assert d.status == "pending"


async def test_expiring_usage_rights_recorded_once_per_version(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    queue: ArqRedis,
) -> None:
    def terms(ends_in: int) -> dict[str, Any]:
        return {"usage_rights": {"scope": ["paid_ads"], "ends_on": _days(ends_in)}}

    soon = await _collab(client, tenant, sessionmaker, terms(10), to="contracted")
    later = await _collab(client, tenant, sessionmaker, terms(30), to="contracted")
    draft = await _collab(client, tenant, sessionmaker, terms(3), to="negotiating")
    await client.put(
        f"/v1/collaborations/{draft['id']}/terms", headers=tenant.headers, json=terms(3)
    )

    ctx = _ctx(settings, sessionmaker, queue)
    assert (await notify_expiring_usage_rights(ctx))["notified"] >= 1
    assert (await notify_expiring_usage_rights(ctx))["notified"] == 0

    async def events() -> list[OutboxEvent]:
        async with sessionmaker() as session:
            rows = await session.execute(
                select(OutboxEvent)
                .where(
                    OutboxEvent.brand_id == tenant.brand_id,
                    OutboxEvent.type == "usage_rights.expiring",
                )
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
            return list(rows.scalars())

    [event] = await events()
    v1 = (await client.get(f"/v1/collaborations/{soon['id']}/terms", headers=tenant.headers)).json()
    assert event.dedupe_key == f"usage_rights.expiring:{v1['id']}"
    assert event.payload["collaboration_id"] == soon["id"]
    assert (event.payload["days_left"], event.payload["scope"]) == (10, ["paid_ads"])
    listed = (await client.get("/v1/usage-rights/expiring", headers=tenant.headers)).json()
    assert [i["notified_at"] is not None for i in listed["items"]] == [True]
    assert later["id"] not in {e.payload["collaboration_id"] for e in await events()}

    # An amendment is a new contract version: it is announced once more, on its own.
    await client.put(
        f"/v1/collaborations/{soon['id']}/terms", headers=tenant.headers, json=terms(12)
    )
    await notify_expiring_usage_rights(ctx)
    await notify_expiring_usage_rights(ctx)
    first, second = await events()
    assert (first.dedupe_key, second.payload["version"]) == (event.dedupe_key, 2)
    async with sessionmaker() as session:
        notified = await session.execute(
            select(ContractTerms.version, ContractTerms.expiry_notified_at.is_not(None))
            .where(ContractTerms.collaboration_id == uuid.UUID(soon["id"]))
            .order_by(ContractTerms.version)
        )
        assert [tuple(r) for r in notified] == [(1, True), (2, True)]
