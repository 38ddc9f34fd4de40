from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.influencers import csv_io
from shared.influencers.csv_io import Importer, ImportReport, import_text, iter_rows
from shared.models import FollowerSnapshot, Influencer, SocialAccount
from tests.factories import Tenant, make_influencer
from tests.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]
CSV_HEADERS = {"content-type": "text/csv"}


def _csv(*rows: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


async def _import(
    client: httpx.AsyncClient, tenant: Tenant, text: str | bytes, **headers: str
) -> httpx.Response:
    body = text.encode() if isinstance(text, str) else text
    return await client.post(
        "/v1/influencers/import",
        headers={**tenant.headers, **CSV_HEADERS, **headers},
        content=body,
    )


async def _roster(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    resp = await client.get(
        "/v1/influencers", headers=tenant.headers, params={"limit": 200, "sort": "created"}
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def _counts(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID
) -> tuple[int, int, int]:
    async with sessionmaker() as session:
        out = []
        for model in (Influencer, SocialAccount, FollowerSnapshot):
            stmt = select(func.count()).select_from(model).where(model.brand_id == brand_id)
            out.append((await session.execute(stmt)).scalar_one())
    return out[0], out[1], out[2]


HEADER = [
    "name",
    "email",
    "country",
    "languages",
    "niches",
    "platform",
    "handle",
    "followers",
    "audience_age",
]


async def test_mixed_rows_good_ones_land_bad_ones_are_reported(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_influencer(
        sessionmaker,
        tenant.brand_id,
        "Owner",
        email="owner@example.com",
        accounts=[{"platform": "x", "handle": "taken"}],
    )
    text = _csv(
        HEADER,
        [
            "Jane",
            "jane@example.com",
            "de",
            "de;EN",
            "Running",
            "instagram",
            "@Jane.Runs",
            "48200",
            "18-24:41;25-34:37",
        ],
        ["Jane", "JANE@example.com", "DE", "", "", "tiktok", "janeruns", "120500", ""],
        ["Bad Sum", "", "", "", "", "instagram", "badsum", "10", "18-24:60;25-34:50"],
        ["Bad Platform", "", "", "", "", "myspace", "bp", "10", ""],
        ["Bad Followers", "", "", "", "", "instagram", "bf", "-5", ""],
        ["", "", "", "", "", "instagram", "noname", "5", ""],
        ["Bad Country", "", "Germany", "", "", "youtube", "bc", "5", ""],
        ["Thief", "thief@example.com", "", "", "", "x", "@TAKEN", "5", ""],
        ["", "", "", "", "", "", "", "", ""],  # blank lines are skipped
        ["Solo", "", "FR", "fr", "food", "", "", "", ""],  # an influencer without accounts
        ["Two Bad", "nope", "", "", "", "instagram", "two bad", "", "55+:x"],
    )
    resp = await _import(client, tenant, text)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["created"], report["updated"], report["rejected"]) == (3, 0, 7)
    rows = {r["row"]: r for r in report["rows"]}
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
    assert rows[2]["status"] == rows[3]["status"] == "created"
    assert rows[2]["influencer_id"] == rows[3]["influencer_id"]  # one influencer, two accounts
    assert rows[2]["account_id"] != rows[3]["account_id"]

    def fields(n: int) -> list[str]:
        assert rows[n]["status"] == "rejected" and rows[n]["influencer_id"] is None
        return [e["field"] for e in rows[n]["errors"]]

    assert fields(4) == ["audience_age"] and "more than 100%" in rows[4]["errors"][0]["msg"]
    assert fields(5) == ["platform"]
    assert fields(6) == ["followers"]
    assert fields(7) == ["name"]
    assert fields(8) == ["country"]
    assert fields(9) == ["handle"] and str(other) in rows[9]["errors"][0]["msg"]
    assert fields(12) == ["email", "handle", "audience_age"]
    assert rows[11]["status"] == "created" and rows[11]["account_id"] is None

    roster = await _roster(client, tenant)
    by_name = {i["name"]: i for i in roster}
    assert set(by_name) == {"Owner", "Jane", "Solo"}
    jane = by_name["Jane"]
    assert jane["email"] == "jane@example.com" and jane["languages"] == ["de", "en"]
    assert jane["niches"] == ["running"] and jane["max_followers"] == 120_500
    accounts = {a["handle"]: a for a in jane["accounts"]}
    assert accounts["jane.runs"]["tier"] == "micro"
    assert accounts["jane.runs"]["audience_age"] == {"18-24": 41, "25-34": 37}
    assert accounts["janeruns"]["tier"] == "macro"
    assert by_name["Owner"]["accounts"][0]["handle"] == "taken"  # not moved
    assert by_name["Solo"]["accounts"] == [] and by_name["Solo"]["country"] == "FR"
    history = await client.get(
        f"/v1/influencers/{jane['id']}/accounts/{accounts['janeruns']['id']}/follower-history",
        headers=tenant.headers,
    )
    assert [p["followers"] for p in history.json()["items"]] == [120_500]


async def test_same_file_twice_updates_without_duplicates(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    text = _csv(
        HEADER,
        ["Ann", "ann@example.com", "", "", "", "instagram", "ann", "1000", ""],
        ["Ann", "ann@example.com", "", "", "", "youtube", "ann", "2000", ""],
        ["Bob", "", "", "", "", "tiktok", "bob", "3000", ""],
        ["Cid", "", "", "", "", "", "", "", ""],
    )
    first = (await _import(client, tenant, text)).json()
    assert (first["created"], first["updated"], first["rejected"]) == (4, 0, 0)
    before = await _counts(sessionmaker, tenant.brand_id)
    assert before == (3, 3, 3)
    roster = await _roster(client, tenant)

    second = (await _import(client, tenant, text)).json()
    # Cid (no e-mail, no account) cannot be matched: documented; the rest are updates.
    assert [r["status"] for r in second["rows"]] == ["updated", "updated", "updated", "created"]
    assert [r["account_id"] for r in second["rows"][:3]] == [
        r["account_id"] for r in first["rows"][:3]
    ]
    assert await _counts(sessionmaker, tenant.brand_id) == (4, 3, 3)  # no new snapshots
    again = {i["id"]: i for i in await _roster(client, tenant)}
    for i in roster[:3]:
        assert again[i["id"]] == i  # nothing changed, not even updated_at

    # A follower change adds one history point and moves the sort key.
    changed = text.replace("tiktok,bob,3000", "tiktok,bob,3500")
    third = (await _import(client, tenant, changed)).json()
    assert third["rows"][2]["status"] == "updated"
    assert (await _counts(sessionmaker, tenant.brand_id))[2] == 4
    bob = next(i for i in await _roster(client, tenant) if i["name"] == "Bob")
    assert bob["max_followers"] == 3500


async def test_within_a_file_later_rows_win_across_batches(
    tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    text = _csv(
        ["influencer_id", "name", "platform", "handle", "followers", "niches"],
        ["ref-1", "Dee", "instagram", "dee", "100", "a"],
        ["ref-1", "", "tiktok", "dee", "200", ""],
        ["", "Eve", "instagram", "eve", "5", ""],
        ["", "", "instagram", "@DEE", "150", "b"],  # same account again: an update
        ["ref-1", "", "youtube", "dee", "300", ""],  # the ref spans batches
        ["", "", "instagram", "dee", "160", ""],  # and again, in the same batch
    )
    async with sessionmaker() as session, session.begin():
        report = await import_text(session, tenant.brand_id, text, batch_size=2)
    assert [r.status for r in report.rows] == [
        "created",
        "created",
        "created",
        "updated",
        "created",
        "updated",
    ]
    dee = {r.influencer_id for i, r in enumerate(report.rows) if i != 2}
    assert len(dee) == 1 and report.rows[2].influencer_id not in dee
    async with sessionmaker() as session:
        ig = (
            await session.execute(
                select(SocialAccount).where(
                    SocialAccount.brand_id == tenant.brand_id, SocialAccount.handle == "dee"
                )
            )
        ).scalars()
        followers = {a.platform: a.followers for a in ig}
        influencer = await session.get(Influencer, dee.pop())
    assert followers == {"instagram": 160, "tiktok": 200, "youtube": 300}
    assert influencer is not None and influencer.niches == ["b"]
    assert influencer.max_followers == 300


async def test_a_concurrent_writer_rejects_only_its_rows(
    tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A handle taken between the batch's lookup and its insert fails the batch statement;
    the importer retries that batch row by row (each in a SAVEPOINT)."""

    class Racing(Importer):
        raced = False

        async def _plan(self, session: AsyncSession, rows: list[Any]) -> Any:
            plan = await super()._plan(session, rows)
            if not self.raced:
                self.raced = True  # another process commits the same handle right now
                await make_influencer(
                    sessionmaker,
                    tenant.brand_id,
                    "Racer",
                    email="racer@example.com",
                    accounts=[{"platform": "instagram", "handle": "racy"}],
                )
            return plan

    text = _csv(
        ["name", "email", "platform", "handle", "followers"],
        ["Fay", "fay@example.com", "instagram", "fay", "10"],
        ["Racy", "racy@example.com", "instagram", "racy", "20"],
        ["Gus", "", "instagram", "gus", "30"],
    )
    _, rows = iter_rows(io.StringIO(text))
    report = ImportReport()
    async with sessionmaker() as session, session.begin():
        report.add(await Racing(tenant.brand_id).apply(session, list(rows)))
    by_row = {r.row: r for r in report.rows}
    assert by_row[2].status == by_row[4].status == "created"
    # Retried alone, the row sees the racer's account, whose owner has another e-mail.
    assert by_row[3].status == "rejected" and by_row[3].errors[0]["field"] == "handle"
    async with sessionmaker() as session:
        names = (
            await session.execute(
                select(Influencer.name).where(Influencer.brand_id == tenant.brand_id)
            )
        ).scalars()
        assert sorted(names) == ["Fay", "Gus", "Racer"]


async def test_file_level_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_problem(
        await _import(client, tenant, "name,platform,handle,tier\nA,x,a,nano\n"),
        422,
        field="body.header.tier",
    )
    assert_problem(
        await _import(client, tenant, "name,platform\nA,x\n"), 422, field="body.header.handle"
    )
    assert_problem(
        await _import(client, tenant, "name,platform,handle,name\n"), 422, field="body.header.name"
    )
    assert_problem(await _import(client, tenant, ""), 422, field="body")
    assert_problem(await _import(client, tenant, b"name,platform,handle\n\xff,x,y\n"), 422)
    resp = await client.post(
        "/v1/influencers/import",
        headers={**tenant.headers, "content-type": "application/json"},
        content=b"{}",
    )
    assert_problem(resp, 415)
    big = "name,platform,handle\n" + "A,x,a\n" * 200_000
    assert_problem(await _import(client, tenant, big), 413)
    assert await _roster(client, tenant) == []

    # Too many cells, BOM and CRLF line ends, a quoted cell spanning lines.
    text = '\ufeffname,platform,handle,notes\r\nA,x,a,"two\r\nlines"\r\nB,x,b,n,extra\r\n'
    report = (await _import(client, tenant, text)).json()
    assert [(r["row"], r["status"]) for r in report["rows"]] == [(2, "created"), (3, "rejected")]
    assert report["rows"][1]["errors"][0]["field"] == "row"


async def test_export_round_trips(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for payload in (
        {
            "name": "Round, Trip",
            "email": "rt@example.com",
            "country": "AT",
            "city": "Wien",
            "languages": ["de", "en"],
            "niches": ["ski", "après-ski"],
            "notes": 'Line one\nLine "two", with comma',
            "rate_card": {"reel": 45_000, "story": 0},
            "rate_currency": "EUR",
            "accounts": [
                {
                    "platform": "instagram",
                    "handle": "rt",
                    "profile_url": "https://instagram.com/rt",
                    "followers": 12_345,
                    "posts_per_week": 2.25,
                    "sponsored_share_bps": 1250,
                    "audience_age": {"18-24": 33.3, "25-34": 33.3, "35-44": 33.4},
                    "audience_gender": {"female": 50.5, "male": 49.5},
                    "audience_countries": {"AT": 70, "DE": 20.25},
                    "audience_languages": {"de": 95},
                },
                {"platform": "blog", "handle": "rt.example.com", "followers": 0},
            ],
        },
        {"name": "No Accounts", "status": "archived"},
        {
            "name": "@Plain",
            "notes": '=HYPERLINK("http://evil")',
            "accounts": [{"platform": "twitch", "handle": "-plain"}],
        },
    ):
        assert (
            await client.post("/v1/influencers", headers=tenant.headers, json=payload)
        ).status_code == 201

    resp = await client.get("/v1/influencers/export", headers=tenant.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    exported = resp.text
    records = list(csv.DictReader(io.StringIO(exported)))
    assert list(records[0]) == list(csv_io.COLUMNS)
    assert len(records) == 4  # one row per account, one for the influencer without any
    assert records[0]["sponsored_share_pct"] == "12.5" and records[0]["posts_per_week"] == "2.25"
    assert records[0]["rate_card"] == "reel:45000;story:0"
    # Spreadsheet formulas are defused on the way out and restored on the way in.
    assert records[3]["notes"].startswith("'=") and records[3]["name"] == "'@Plain"
    assert records[3]["handle"] == "'-plain"

    # Into the same brand: every row matches, nothing changes.
    before = await _roster(client, tenant)
    report = (await _import(client, tenant, exported)).json()
    assert (report["created"], report["updated"], report["rejected"]) == (0, 4, 0)
    assert await _roster(client, tenant) == before

    # Into another brand: the same roster, new ids.
    report = (await _import(client, other_tenant, exported)).json()
    assert (report["created"], report["updated"], report["rejected"]) == (4, 0, 0), report
    theirs = (await client.get("/v1/influencers/export", headers=other_tenant.headers)).text

    def strip_ids(text: str) -> list[dict[str, str]]:
        return [{**r, "influencer_id": ""} for r in csv.DictReader(io.StringIO(text))]

    assert strip_ids(theirs) == strip_ids(exported)
    # Filters apply to the export; another brand's rows never appear.
    only = (
        await client.get(
            "/v1/influencers/export", headers=tenant.headers, params={"platform": "twitch"}
        )
    ).text
    assert [r["handle"] for r in csv.DictReader(io.StringIO(only))] == ["'-plain"]
    assert_problem(
        await client.get("/v1/influencers/export", headers=tenant.headers, params={"tier": "huge"}),
        422,
        field="query.tier",
    )


async def _vouch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
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
        timeout=120,
    )


async def test_cli_import_and_export(
    settings: Settings, client: httpx.AsyncClient, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        _csv(
            ["name", "email", "platform", "handle", "followers"],
            *[
                [f"P{i}", f"p{i}@example.com", "instagram", f"p{i}", str(i * 1000)]
                for i in range(7)
            ],
            ["Broken", "", "instagram", "broken", "many"],
        )
    )
    done = await _vouch(
        settings,
        "influencers",
        "import",
        str(path),
        "--brand",
        str(tenant.brand_id),
        "--batch-size",
        "3",
    )
    assert done.returncode == 1, done.stderr  # one row rejected
    assert "7 created, 0 updated, 1 rejected" in done.stdout
    report = list(csv.DictReader((tmp_path / "roster.csv.report.csv").open()))
    assert [r["status"] for r in report] == ["created"] * 7 + ["rejected"]
    assert report[-1]["row"] == "9" and report[-1]["errors"].startswith("followers:")
    assert len(await _roster(client, tenant)) == 7

    again = await _vouch(
        settings,
        "influencers",
        "import",
        str(path),
        "--brand",
        str(tenant.brand_id),
        "--report",
        "-",
    )
    doc = json.loads(again.stdout)
    assert (doc["created"], doc["updated"], doc["rejected"]) == (0, 7, 1)

    out = tmp_path / "export.csv"
    exported = await _vouch(
        settings, "influencers", "export", "--brand", str(tenant.brand_id), "-o", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    api = (await client.get("/v1/influencers/export", headers=tenant.headers)).text
    assert out.read_bytes().decode() == api
