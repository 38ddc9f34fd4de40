"""50 concurrent `POST /v1/payouts` (through the ASGI app: each request on its own DB session
and transaction, as in production) never pay an entry twice nor lose one."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import CommissionEntry, Payout, PayoutItem
from shared.payouts.check import check_payouts
from tests.factories import Tenant, insert_ledger_entries, make_earner, set_flat_fee

REQUESTS = 50
INFLUENCERS = 12


async def _ledger(
    sm: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, tenant: Tenant
) -> tuple[list[uuid.UUID], int]:
    """Approved entries for INFLUENCERS influencers (some with clawbacks, one net negative,
    a few with flat fees due). Returns the ids of the entries that must be paid and the total
    to pay."""
    must_pay: list[uuid.UUID] = []
    total = 0
    for i in range(INFLUENCERS):
        earner = await make_earner(sm, tenant.brand_id, currency="EUR" if i % 3 == 0 else "USD")
        amounts = [1000 + i, 2500, 40, -300] if i != 6 else [200, -900]  # #6 nets -700
        ids = await insert_ledger_entries(
            sm, tenant.brand_id, earner, amounts, currency="EUR" if i % 3 == 0 else "USD"
        )
        if i % 4 == 1:
            await set_flat_fee(sm, earner.collaboration_id, 7000)
            resp = await client.post(
                f"/v1/collaborations/{earner.collaboration_id}/flat-fee-due",
                headers=tenant.headers,
            )
            assert resp.status_code == 200, resp.text
            total += 7000
        if sum(amounts) > 0:
            must_pay += ids
            total += sum(amounts)
    return must_pay, total


async def _post(client: httpx.AsyncClient, tenant: Tenant, key: str) -> httpx.Response:
    return await client.post(
        "/v1/payouts", headers={**tenant.headers, "Idempotency-Key": key}, json={}
    )


async def _state(
    sm: async_sessionmaker[AsyncSession], brand_id: uuid.UUID
) -> tuple[Counter[uuid.UUID], int, int]:
    """(entry id -> live items naming it, sum of payout amounts, payout count)."""
    async with sm() as session:
        items = await session.execute(
            select(PayoutItem.entry_id).where(
                PayoutItem.brand_id == brand_id,
                PayoutItem.entry_id.is_not(None),
                PayoutItem.released_at.is_(None),
            )
        )
        counts: Counter[uuid.UUID] = Counter(e for e in items.scalars() if e is not None)
        total, n = (
            await session.execute(
                select(func.coalesce(func.sum(Payout.amount_minor), 0), func.count()).where(
                    Payout.brand_id == brand_id
                )
            )
        ).one()
        report = await check_payouts(session, brand_id)
    assert report.ok, report.findings
    return counts, int(total), int(n)


async def test_fifty_concurrent_runs_with_one_key_create_one_run(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    must_pay, total = await _ledger(sessionmaker, client, tenant)
    key = f"nightly-{uuid.uuid4()}"
    responses = await asyncio.gather(*(_post(client, tenant, key) for _ in range(REQUESTS)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses[:3]]
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)  # every retry got the first response
    replayed = sum(r.headers.get("idempotent-replayed") == "true" for r in responses)
    assert replayed == REQUESTS - 1
    counts, paid_total, n = await _state(sessionmaker, tenant.brand_id)
    assert n == INFLUENCERS - 1 == len(bodies[0]["payouts"])  # #6 carries forward
    assert paid_total == total
    assert set(counts) == set(must_pay) and set(counts.values()) == {1}


async def test_fifty_concurrent_runs_with_different_keys_pay_each_entry_once(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    must_pay, total = await _ledger(sessionmaker, client, tenant)
    responses = await asyncio.gather(
        *(_post(client, tenant, f"k-{uuid.uuid4()}") for _ in range(REQUESTS))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses[:3]]
    created: list[dict[str, Any]] = [p for r in responses for p in r.json()["payouts"]]
    counts, paid_total, n = await _state(sessionmaker, tenant.brand_id)
    assert len(created) == n
    assert paid_total == total == sum(p["amount_minor"] for p in created)
    assert set(counts) == set(must_pay) and set(counts.values()) == {1}  # each exactly once
    async with sessionmaker() as session:
        held = await session.execute(
            select(func.count()).where(
                CommissionEntry.brand_id == tenant.brand_id, CommissionEntry.payout_id.is_not(None)
            )
        )
        assert held.scalar_one() == len(must_pay)
    # Everything is taken: one more run creates nothing but the carried-forward balance.
    again = (await _post(client, tenant, f"k-{uuid.uuid4()}")).json()
    assert again["payouts"] == [] and [b["balance_minor"] for b in again["carried_forward"]] == [
        -700
    ]
