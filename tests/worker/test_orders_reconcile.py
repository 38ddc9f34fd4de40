"""`vouch orders reconcile` and `vouch ledger check`, as an operator runs them (real
subprocesses against the test database)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import CommissionEntry, Order
from shared.orders.reconcile import JsonlExport, ReconcileIntegrationNotFound, reconcile
from tests.factories import (
    Tenant,
    deliver_event,
    make_earner,
    make_integration,
    make_promo,
    shopify_order,
)

ROOT = Path(__file__).resolve().parents[2]


async def vouch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VOUCH_ENV": "test",
        "VOUCH_DATABASE_URL": settings.database_url or "",
        "VOUCH_REDIS_URL": settings.redis_url or "",
        "COLUMNS": "200",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_reconcile_feeds_missing_and_newer_orders_once(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, "RECON")
    base = uuid.uuid4().int % 10**10
    known, newer, missing, old = base, base + 1, base + 2, base + 3
    stamp = {"created_at": "2026-11-10T10:00:00Z", "updated_at": "2026-11-10T10:00:01Z"}
    for oid in (known, newer):
        body = shopify_order(oid, codes=["RECON"], **stamp)
        assert await deliver_event(sessionmaker, store, "orders/create", body) == "handled"
    lines = [
        shopify_order(known, codes=["RECON"], **stamp),  # the version Vouch has
        shopify_order(
            newer,
            codes=["RECON"],
            created_at=stamp["created_at"],
            updated_at="2026-11-12T08:00:00Z",
            financial_status="voided",
            cancelled_at="2026-11-12T08:00:00Z",
        ),  # a cancellation whose webhook was lost
        shopify_order(missing, codes=["RECON"], **stamp),  # an order whose webhook was lost
        shopify_order(
            old,
            codes=["RECON"],
            created_at="2026-10-01T10:00:00Z",
            updated_at="2026-10-01T10:00:00Z",
        ),  # before --since
    ]
    export = tmp_path / "orders.jsonl"
    export.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")

    done = await vouch(
        settings,
        "orders",
        "reconcile",
        str(store.id),
        "--file",
        str(export),
        "--since",
        "2026-11-01",
    )
    assert done.returncode == 0, done.stderr
    assert "read 4, skipped (before --since) 1, invalid 0, new 3" in done.stdout
    assert "handled 3, failed 0" in done.stdout
    async with sessionmaker() as session:
        orders = {
            o.external_order_id: o
            for o in (
                await session.execute(select(Order).where(Order.integration_id == store.id))
            ).scalars()
        }
        entries = (
            await session.execute(
                select(CommissionEntry.order_id, CommissionEntry.kind).where(
                    CommissionEntry.brand_id == tenant.brand_id
                )
            )
        ).all()
    assert set(orders) == {str(known), str(newer), str(missing)}
    assert orders[str(newer)].status == "cancelled"
    assert orders[str(missing)].collaboration_id == earner.collaboration_id
    kinds = sorted((str(orders_id), kind) for orders_id, kind in entries)
    assert len([k for k in kinds if k[1] == "earned"]) == 3
    assert len([k for k in kinds if k[1] == "reversal"]) == 1

    # the same export again (in-process: same code path): already fed, nothing changes; a
    # broken line is reported; an unknown integration is refused
    export.write_bytes(export.read_bytes() + b'{"id": 1}\n')
    again = await reconcile(
        sessionmaker, store.id, JsonlExport(export), since=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert (again.skipped_before_since, again.queued, again.already_fed) == (1, 0, 3)
    assert again.invalid == [(5, "currency: missing")]
    with pytest.raises(ReconcileIntegrationNotFound):
        await reconcile(sessionmaker, uuid.uuid4(), JsonlExport(export))

    checked = await vouch(settings, "ledger", "check", "--brand", str(tenant.brand_id))
    assert checked.returncode == 0, checked.stderr
    assert "ledger check: 3 orders, 3 attributed: ok" in checked.stdout

    async with sessionmaker() as session, session.begin():  # a hand-made booking breaks it
        await session.execute(
            insert(CommissionEntry).values(
                brand_id=tenant.brand_id,
                kind="adjustment",
                amount_minor=-1,
                currency="USD",
                order_id=orders[str(known)].id,
                collaboration_id=earner.collaboration_id,
                campaign_id=earner.campaign_id,
                influencer_id=earner.influencer_id,
                cause="by-hand",
            )
        )
    broken = await vouch(settings, "ledger", "check", "--brand", str(tenant.brand_id))
    assert broken.returncode == 1
    assert "1 violation(s)" in broken.stdout and str(orders[str(known)].id) in broken.stderr
