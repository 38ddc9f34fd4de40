"""/v1/payouts: payable balances, idempotent creation, the lifecycle, carried clawbacks, flat
fees, CSV export and `vouch payouts check`. Concurrency: tests/reliability/."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.commissions.service import approve_due
from shared.config import Settings
from shared.models import CommissionEntry, OutboxEvent, Payout
from shared.payouts.check import check_payouts
from tests.factories import (
    Earner,
    Tenant,
    deliver_event,
    insert_ledger_entries,
    make_earner,
    make_integration,
    make_promo,
    set_flat_fee,
    shopify_order,
    shopify_refund,
)
from tests.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "01a20a0f-a0c0-7677-9145-f12f6502aa9d"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _create(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    resp = await client.post(
        "/v1/payouts", headers={**tenant.headers, **_key(), **headers}, json=body or {}
    )
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _entries(
    sm: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]
) -> dict[uuid.UUID, CommissionEntry]:
    async with sm() as session:
        rows = await session.execute(select(CommissionEntry).where(CommissionEntry.id.in_(ids)))
        return {e.id: e for e in rows.scalars()}


async def _check(sm: async_sessionmaker[AsyncSession], brand_id: uuid.UUID) -> None:
    async with sm() as session:
        report = await check_payouts(session, brand_id)
    assert report.ok, report.findings


async def _mark(
    client: httpx.AsyncClient, tenant: Tenant, payout_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/payouts/{payout_id}/mark-{action}", headers=tenant.headers, json=body or None
    )


async def test_idempotency_key_is_required(client: httpx.AsyncClient, tenant: Tenant) -> None:
    resp = await client.post("/v1/payouts", headers=tenant.headers, json={})
    body = assert_problem(resp, 400, field="header.Idempotency-Key")
    assert body["type"].endswith("idempotency-key-required")
    resp = await client.post(
        "/v1/payouts", headers={**tenant.headers, "Idempotency-Key": "x" * 300}, json={}
    )
    assert_problem(resp, 400, field="header.Idempotency-Key")


async def test_payable_then_payouts_per_influencer_and_currency(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await make_earner(sessionmaker, tenant.brand_id)
    ben = await make_earner(sessionmaker, tenant.brand_id, currency="EUR")
    a_ids = await insert_ledger_entries(sessionmaker, tenant.brand_id, anna, [1000, 2500, -500])
    await insert_ledger_entries(sessionmaker, tenant.brand_id, anna, [9999], status="pending")
    b_ids = await insert_ledger_entries(sessionmaker, tenant.brand_id, ben, [700], currency="EUR")

    payable = await client.get("/v1/payouts/payable", headers=tenant.headers)
    assert payable.status_code == 200
    by_influencer = {b["influencer_id"]: b for b in payable.json()["items"]}
    assert by_influencer[str(anna.influencer_id)]["balance_minor"] == 3000  # pending excluded
    assert by_influencer[str(anna.influencer_id)]["entry_count"] == 3
    assert by_influencer[str(ben.influencer_id)]["currency"] == "EUR"
    only_eur = await client.get(
        "/v1/payouts/payable", headers=tenant.headers, params={"currency": "eur"}
    )
    assert [b["influencer_id"] for b in only_eur.json()["items"]] == [str(ben.influencer_id)]
    above = await client.get(
        "/v1/payouts/payable", headers=tenant.headers, params={"min_minor": 1000}
    )
    assert [b["influencer_id"] for b in above.json()["items"]] == [str(anna.influencer_id)]

    run = await _create(client, tenant)
    payouts = {p["influencer_id"]: p for p in run["payouts"]}
    assert payouts[str(anna.influencer_id)]["amount_minor"] == 3000
    assert payouts[str(anna.influencer_id)]["status"] == "pending"
    assert payouts[str(ben.influencer_id)]["amount_minor"] == 700
    assert payouts[str(ben.influencer_id)]["currency"] == "EUR"

    detail = await client.get(
        f"/v1/payouts/{payouts[str(anna.influencer_id)]['id']}", headers=tenant.headers
    )
    items = detail.json()["items"]
    assert sorted(i["amount_minor"] for i in items) == [-500, 1000, 2500]
    assert {i["entry_kind"] for i in items} == {"earned", "clawback"}
    entries = await _entries(sessionmaker, a_ids + b_ids)
    assert all(e.payout_id is not None and e.status == "approved" for e in entries.values())
    assert (await client.get("/v1/payouts/payable", headers=tenant.headers)).json()["items"] == []
    assert (await _create(client, tenant))["payouts"] == []  # nothing left
    async with sessionmaker() as session:
        created = await session.execute(
            select(OutboxEvent.payload).where(
                OutboxEvent.brand_id == tenant.brand_id, OutboxEvent.type == "payout.created"
            )
        )
        assert sorted(p["amount_minor"] for p in created.scalars()) == [700, 3000]
    listed = await client.get(
        "/v1/payouts", headers=tenant.headers, params={"status": "pending", "currency": "EUR"}
    )
    assert [p["influencer_id"] for p in listed.json()["items"]] == [str(ben.influencer_id)]
    await _check(sessionmaker, tenant.brand_id)


async def test_replay_returns_the_first_response_and_other_parameters_are_409(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1200])
    key = {"Idempotency-Key": f"run-{uuid.uuid4()}"}
    first = await client.post(
        "/v1/payouts", headers={**tenant.headers, **key}, json={"currency": "USD"}
    )
    assert first.status_code == 201 and len(first.json()["payouts"]) == 1
    assert "idempotent-replayed" not in first.headers
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [800])  # new money
    again = await client.post(
        "/v1/payouts", headers={**tenant.headers, **key}, json={"currency": "usd"}
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # the first response, nothing new created
    other = await client.post(
        "/v1/payouts", headers={**tenant.headers, **key}, json={"currency": "EUR"}
    )
    body = assert_problem(other, 409, field="header.Idempotency-Key")
    assert body["type"].endswith("idempotency-key-reused")
    # The same key in another brand is another key.
    async with sessionmaker() as session:
        count = await session.execute(select(Payout.id).where(Payout.brand_id == tenant.brand_id))
        assert len(count.all()) == 1


async def test_negative_balance_carries_forward(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [300, -800])
    run = await _create(client, tenant)
    assert run["payouts"] == []
    [carried] = run["carried_forward"]
    assert carried["balance_minor"] == -500 and carried["entry_count"] == 2
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [400])
    assert (await _create(client, tenant))["payouts"] == []  # -100: still carried
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1000])
    [payout] = (await _create(client, tenant))["payouts"]
    assert payout["amount_minor"] == 900 and payout["item_count"] == 4
    await _check(sessionmaker, tenant.brand_id)


async def test_minimum_and_influencer_filter(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    small = await make_earner(sessionmaker, tenant.brand_id)
    big = await make_earner(sessionmaker, tenant.brand_id)
    await insert_ledger_entries(sessionmaker, tenant.brand_id, small, [400])
    await insert_ledger_entries(sessionmaker, tenant.brand_id, big, [5000])
    run = await _create(client, tenant, {"min_minor": 1000})
    assert [p["influencer_id"] for p in run["payouts"]] == [str(big.influencer_id)]
    assert [b["influencer_id"] for b in run["below_minimum"]] == [str(small.influencer_id)]
    theirs = await make_earner(sessionmaker, other_tenant.brand_id)
    resp = await client.post(
        "/v1/payouts",
        headers={**tenant.headers, **_key()},
        json={"influencer_ids": [str(small.influencer_id), str(theirs.influencer_id)]},
    )
    assert_problem(resp, 404, field="body.influencer_ids.1")
    run = await _create(client, tenant, {"influencer_ids": [str(small.influencer_id)]})
    assert [p["amount_minor"] for p in run["payouts"]] == [400]
    for payload, field in (
        ({"min_minor": 0}, "body.min_minor"),
        ({"currency": "EURO"}, "body.currency"),
        ({"influencer_ids": []}, "body.influencer_ids"),
        ({"amount": 5}, "body.amount"),
    ):
        resp = await client.post("/v1/payouts", headers={**tenant.headers, **_key()}, json=payload)
        assert_problem(resp, 422, field=field)


async def test_lifecycle_is_enforced_and_paid_marks_entries_paid(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    ids = await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1500, 500])
    [payout] = (await _create(client, tenant))["payouts"]
    pid = payout["id"]

    body = assert_problem(await _mark(client, tenant, pid, "paid"), 409)
    assert body["current_status"] == "pending" and body["requested_status"] == "paid"
    processing = await _mark(client, tenant, pid, "processing", external_reference="tr_1")
    assert processing.status_code == 200
    assert processing.json()["status"] == "processing"
    assert processing.json()["external_reference"] == "tr_1"
    assert_problem(await _mark(client, tenant, pid, "processing"), 409)
    paid = await _mark(
        client, tenant, pid, "paid", external_reference="tr_2", paid_at="2026-11-30T09:00:00Z"
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["external_reference"] == "tr_2"
    assert paid.json()["paid_at"].startswith("2026-11-30T09:00:00")
    entries = await _entries(sessionmaker, ids)
    assert {e.status for e in entries.values()} == {"paid"}
    body = assert_problem(await _mark(client, tenant, pid, "failed", reason="late"), 409)
    assert body["current_status"] == "paid"
    no_reason = await client.post(f"/v1/payouts/{pid}/mark-failed", headers=tenant.headers, json={})
    assert_problem(no_reason, 422, field="body.reason")
    async with sessionmaker() as session:
        types = await session.execute(
            select(OutboxEvent.type).where(
                OutboxEvent.brand_id == tenant.brand_id, OutboxEvent.type.like("payout.%")
            )
        )
        assert sorted(types.scalars()) == ["payout.created", "payout.paid"]
    await _check(sessionmaker, tenant.brand_id)


async def test_failed_payout_returns_its_entries(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    ids = await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [2000, -300])
    [first] = (await _create(client, tenant))["payouts"]
    await _mark(client, tenant, first["id"], "processing")
    failed = await _mark(client, tenant, first["id"], "failed", reason="IBAN rejected")
    assert failed.status_code == 200
    assert failed.json()["status"] == "failed"
    assert failed.json()["failure_reason"] == "IBAN rejected"
    entries = await _entries(sessionmaker, ids)
    assert all(e.payout_id is None and e.status == "approved" for e in entries.values())
    payable = await client.get("/v1/payouts/payable", headers=tenant.headers)
    assert [b["balance_minor"] for b in payable.json()["items"]] == [1700]
    detail = (await client.get(f"/v1/payouts/{first['id']}", headers=tenant.headers)).json()
    assert len(detail["items"]) == 2 and all(i["released_at"] for i in detail["items"])

    [second] = (await _create(client, tenant))["payouts"]
    assert second["amount_minor"] == 1700 and second["id"] != first["id"]
    entries = await _entries(sessionmaker, ids)
    assert {e.payout_id for e in entries.values()} == {uuid.UUID(second["id"])}
    await _check(sessionmaker, tenant.brand_id)


async def test_refund_after_payout_clawback_reduces_the_next_payout(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Through the real order pipeline: order -> earned -> approved -> paid out -> refund ->
    clawback (approved) -> carried into the next payout."""
    store = await make_integration(sessionmaker, tenant.brand_id, "shopify")
    earner: Earner = await make_earner(sessionmaker, tenant.brand_id, commission_bps=1000)
    code = f"ANNA{uuid.uuid4().hex[:6].upper()}"
    await make_promo(sessionmaker, tenant.brand_id, earner.collaboration_id, code)
    first_order = uuid.uuid4().int % 10**12
    body = shopify_order(first_order, subtotal_minor=10000, total_minor=10000, codes=[code])
    assert await deliver_event(sessionmaker, store, "orders/paid", body) == "handled"
    async with sessionmaker() as session, session.begin():
        await approve_due(session, now=datetime(2030, 1, 1, tzinfo=UTC))
    [p1] = (await _create(client, tenant))["payouts"]
    assert p1["amount_minor"] == 1000
    await _mark(client, tenant, p1["id"], "processing")
    assert (await _mark(client, tenant, p1["id"], "paid")).status_code == 200

    refund = shopify_refund(first_order, uuid.uuid4().int % 10**9, 3000)
    assert await deliver_event(sessionmaker, store, "refunds/create", refund) == "handled"
    second_order = uuid.uuid4().int % 10**12
    body = shopify_order(second_order, subtotal_minor=20000, total_minor=20000, codes=[code])
    assert await deliver_event(sessionmaker, store, "orders/paid", body) == "handled"
    async with sessionmaker() as session, session.begin():
        await approve_due(session, now=datetime(2030, 1, 1, tzinfo=UTC))

    payable = await client.get("/v1/payouts/payable", headers=tenant.headers)
    [balance] = payable.json()["items"]
    assert balance["balance_minor"] == 2000 - 300
    [p2] = (await _create(client, tenant))["payouts"]
    assert p2["amount_minor"] == 1700
    items = (await client.get(f"/v1/payouts/{p2['id']}", headers=tenant.headers)).json()["items"]
    assert sorted((i["entry_kind"], i["amount_minor"]) for i in items) == [
        ("clawback", -300),
        ("earned", 2000),
    ]
    await _check(sessionmaker, tenant.brand_id)


async def test_flat_fees_marked_due_are_paid_once(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    no_fee = await make_earner(sessionmaker, tenant.brand_id)
    prospect = await make_earner(sessionmaker, tenant.brand_id, status="prospect")
    await set_flat_fee(sessionmaker, earner.collaboration_id, 50000)
    await set_flat_fee(sessionmaker, prospect.collaboration_id, 100)
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1000])

    path = f"/v1/collaborations/{earner.collaboration_id}/flat-fee-due"
    due = await client.post(path, headers=tenant.headers)
    assert due.status_code == 200 and due.json()["flat_fee_due_at"] is not None
    assert_problem(await client.post(path, headers=tenant.headers), 409)  # already due
    for other in (no_fee, prospect):
        resp = await client.post(
            f"/v1/collaborations/{other.collaboration_id}/flat-fee-due", headers=tenant.headers
        )
        assert_problem(resp, 409)

    [balance] = (await client.get("/v1/payouts/payable", headers=tenant.headers)).json()["items"]
    assert (balance["commission_minor"], balance["flat_fee_minor"]) == (1000, 50000)
    [payout] = (await _create(client, tenant))["payouts"]
    assert (payout["amount_minor"], payout["flat_fee_minor"]) == (51000, 50000)
    assert (await client.get("/v1/payouts/payable", headers=tenant.headers)).json()["items"] == []
    # Failed: the fee is payable again; the next payout takes it once more, and only once.
    await _mark(client, tenant, payout["id"], "failed", reason="bounced")
    [again] = (await _create(client, tenant))["payouts"]
    assert again["amount_minor"] == 51000
    await _mark(client, tenant, again["id"], "processing")
    await _mark(client, tenant, again["id"], "paid")
    assert (await _create(client, tenant))["payouts"] == []
    detail = (await client.get(f"/v1/payouts/{again['id']}", headers=tenant.headers)).json()
    fee = next(i for i in detail["items"] if i["kind"] == "flat_fee")
    assert fee["collaboration_id"] == str(earner.collaboration_id)
    await _check(sessionmaker, tenant.brand_id)


async def test_csv_export_for_finance(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    usd = await make_earner(sessionmaker, tenant.brand_id)
    jpy = await make_earner(sessionmaker, tenant.brand_id, currency="JPY")
    await insert_ledger_entries(sessionmaker, tenant.brand_id, usd, [12345])
    await insert_ledger_entries(sessionmaker, tenant.brand_id, jpy, [5000], currency="JPY")
    run = await _create(client, tenant)
    usd_payout = next(p for p in run["payouts"] if p["currency"] == "USD")
    await _mark(client, tenant, usd_payout["id"], "processing", external_reference="=HYPERLINK(1)")

    resp = await client.get("/v1/payouts/export", headers=tenant.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    by_currency = {r["currency"]: r for r in rows}
    assert (
        by_currency["USD"]["amount"] == "123.45" and by_currency["USD"]["amount_minor"] == "12345"
    )
    assert by_currency["JPY"]["amount"] == "5000"
    assert by_currency["USD"]["external_reference"] == "'=HYPERLINK(1)"  # formula guarded
    assert by_currency["USD"]["status"] == "processing"
    assert by_currency["USD"]["influencer_name"].startswith("Creator")
    pending = await client.get(
        "/v1/payouts/export", headers=tenant.headers, params={"status": "pending"}
    )
    assert [r["currency"] for r in csv.DictReader(io.StringIO(pending.text))] == ["JPY"]


async def test_another_brands_payout_is_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    await set_flat_fee(sessionmaker, earner.collaboration_id, 1000)
    await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1000])
    [payout] = (await _create(client, tenant))["payouts"]
    theirs = other_tenant.headers
    for path, body in (
        (f"/v1/payouts/{payout['id']}", None),
        (f"/v1/payouts/{payout['id']}/mark-processing", {}),
        (f"/v1/payouts/{payout['id']}/mark-paid", {}),
        (f"/v1/payouts/{payout['id']}/mark-failed", {"reason": "x"}),
        (f"/v1/collaborations/{earner.collaboration_id}/flat-fee-due", {}),
        (f"/v1/payouts/{UNKNOWN}", None),
    ):
        method = "GET" if body is None else "POST"
        assert_problem(await client.request(method, path, headers=theirs, json=body), 404)
    assert (await client.get("/v1/payouts", headers=theirs)).json()["items"] == []
    assert (await client.get("/v1/payouts/payable", headers=theirs)).json()["items"] == []
    export = await client.get("/v1/payouts/export", headers=theirs)
    assert payout["id"] not in export.text
    # Their payout run (same Idempotency-Key value) sees none of our money.
    assert (await _create(client, other_tenant))["payouts"] == []
    mine = (await client.get(f"/v1/payouts/{payout['id']}", headers=tenant.headers)).json()
    assert mine["status"] == "pending"
    assert_problem(
        await client.get("/v1/payouts/not-a-uuid", headers=tenant.headers),
        422,
        field="path.payout_id",
    )


async def test_check_command_finds_a_payout_that_does_not_add_up(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    earner = await make_earner(sessionmaker, tenant.brand_id)
    ids = await insert_ledger_entries(sessionmaker, tenant.brand_id, earner, [1000, 250])
    [payout] = (await _create(client, tenant))["payouts"]

    async def vouch(*args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "VOUCH_ENV": "test",
            "VOUCH_DATABASE_URL": settings.database_url or "",
            "VOUCH_REDIS_URL": settings.redis_url or "",
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

    ok = await vouch("payouts", "check", "--brand", str(tenant.brand_id))
    assert ok.returncode == 0, ok.stderr
    assert "1 payouts checked" in ok.stdout
    # Someone releases an entry behind the payout's back: the payout no longer adds up.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(CommissionEntry).where(CommissionEntry.id == ids[1]).values(payout_id=None)
        )
    bad = await vouch("payouts", "check", "--brand", str(tenant.brand_id))
    assert bad.returncode == 1
    assert payout["id"] in bad.stderr and "1 entries (1000)" in bad.stderr


async def test_idempotency_keys_are_kept_a_day_then_purged(
    tenant: Tenant, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import timedelta

    from services.worker.jobs.payouts import purge_idempotency_keys
    from services.worker.settings import CRON_JOBS, FUNCTIONS
    from shared.jobs import JobName
    from shared.models import IdempotencyKey
    from shared.payouts import idempotency

    assert JobName.PURGE_IDEMPOTENCY_KEYS in {f.name for f in FUNCTIONS}
    assert "cron:purge_idempotency_keys" in {c.name for c in CRON_JOBS}
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    async with sessionmaker() as session, session.begin():
        for key, now in (("old", long_ago), ("fresh", None)):
            claim = await idempotency.begin(
                session, tenant.brand_id, scope="test", key=key, fingerprint="f", now=now
            )
            assert isinstance(claim, idempotency.Fresh)
            await idempotency.complete(session, claim, 201, {"ok": True})
    await purge_idempotency_keys({"settings": settings, "sessionmaker": sessionmaker})
    async with sessionmaker() as session:
        left = await session.execute(
            select(IdempotencyKey.key).where(IdempotencyKey.brand_id == tenant.brand_id)
        )
        assert list(left.scalars()) == ["fresh"]
