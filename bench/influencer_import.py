"""Roster import throughput: a generated CSV (10,000 rows by default, one per account)
through the service the CLI uses, then through `POST /v1/influencers/import` on a real
uvicorn server in chunks under the 1 MiB body limit.

Servers: embedded PostgreSQL and Redis on a temporary data dir, durable (fsync on) as
deployed, migrated with the real migrations. Prints rows/second for:
  cli-create   first import, every row creates (influencer + account + follower snapshot)
  cli-noop     the same file again: every row matches, nothing changes
  cli-update   the file with every follower count changed (updates + snapshots)
  http-create  the same file into a fresh brand over HTTP, chunked
and, per the bench rule, the ratio of the HTTP import to a bare FastAPI endpoint receiving the
same chunks in the same run (the CSV upload alone, no parsing or database).

Usage: python -m bench import [--rows=N] [--no-http]
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from bench.harness import uvicorn_command

ROOT = Path(__file__).resolve().parents[1]
CHUNK_BYTES = 900 * 1024  # under the API's 1 MiB body limit, with room for the header

COUNTRIES = ["DE", "AT", "CH", "FR", "IT", "ES", "NL", "GB", "US", "SE", "PL", "BR"]
LANGS = ["de", "en", "fr", "it", "es", "nl", "sv", "pl", "pt"]
NICHES = ["running", "fitness", "food", "travel", "beauty", "tech", "gaming", "parenting"]
PLATFORMS = ["instagram", "tiktok", "youtube", "x", "twitch", "blog"]
HEADER = (
    "name,email,country,city,languages,niches,platform,handle,profile_url,followers,"
    "posts_per_week,sponsored_share_pct,audience_age,audience_gender,audience_countries,"
    "audience_languages,rate_currency,rate_card\r\n"
)


def generate_csv(rows: int, seed: int = 7, bump: int = 0) -> str:
    """`rows` account rows for about rows/1.5 influencers (1-2 accounts each, as rosters are)."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write(HEADER)
    written = 0
    person = 0
    while written < rows:
        person += 1
        accounts = min(rng.choice((1, 1, 2, 2, 3)), rows - written, len(PLATFORMS))
        country = rng.choice(COUNTRIES)
        langs = ";".join(rng.sample(LANGS, rng.randint(1, 2)))
        niches = ";".join(rng.sample(NICHES, rng.randint(1, 3)))
        rates = f"post:{rng.randint(100, 5000) * 100}"
        for platform in rng.sample(PLATFORMS, accounts):
            handle = f"creator_{person}_{platform}"
            followers = int(rng.lognormvariate(9.5, 1.6)) + bump
            age = rng.sample(range(5, 30), 4)  # sums to at most 89
            out.write(
                f"Creator {person},creator{person}@example.com,{country},City {person % 90},"
                f"{langs},{niches},{platform},@{handle},https://example.com/{handle},"
                f"{followers},{rng.randint(1, 14)}.5,{rng.randint(0, 40)},"
                f"13-17:{age[0]};18-24:{age[1]};25-34:{age[2]};35-44:{min(age[3], 5)},"
                f"female:{rng.randint(20, 80)};male:15,{country}:60;US:10,"
                f"{langs.split(';')[0]}:80,EUR,{rates}\r\n"
            )
            written += 1
    return out.getvalue()


def chunks(text: str, limit: int = CHUNK_BYTES) -> Iterator[str]:
    """The CSV split on row boundaries into documents under `limit` bytes, header on each.
    (The generator writes no multi-line cells, so a line is a row.)"""
    header, _, body = text.partition("\r\n")
    part: list[str] = []
    size = 0
    for line in body.splitlines(keepends=True):
        if size + len(line.encode()) > limit and part:
            yield header + "\r\n" + "".join(part)
            part, size = [], 0
        part.append(line)
        size += len(line.encode())
    if part:
        yield header + "\r\n" + "".join(part)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def bare_app() -> FastAPI:
    """The baseline: a bare FastAPI endpoint that receives the CSV body and answers."""
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app


async def _brand(database_url: str, name: str) -> tuple[uuid.UUID, str]:
    from shared.brands import service as brands
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker

    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            brand = await brands.create_brand(session, name)
            issued = await brands.issue_key(session, brand.id, name="bench")
        return brand.id, issued.secret
    finally:
        await engine.dispose()


async def _service_import(database_url: str, brand_id: uuid.UUID, path: Path) -> tuple[int, float]:
    """Exactly what `vouch influencers import` runs (minus the progress bar)."""
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.influencers.csv_io import import_lines

    engine = create_engine(Settings(database_url=database_url))
    try:
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as f:
            report = await import_lines(sessionmaker, brand_id, f)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    if report.rejected:
        bad = [r for r in report.rows if r.status == "rejected"][:3]
        raise RuntimeError(f"{report.rejected} rows rejected: {bad}")
    return len(report.rows), elapsed


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(uvicorn_command(app, port, factory=True), cwd=ROOT, env=env)


def _post_chunks(url: str, docs: list[str], headers: dict[str, str]) -> tuple[int, float]:
    rows = 0
    with httpx.Client(timeout=300) as client:
        started = time.perf_counter()
        for doc in docs:
            resp = client.post(url, content=doc.encode(), headers=headers)
            resp.raise_for_status()
            body = resp.json()
            rows += len(body["rows"]) if "rows" in body else doc.count("\r\n") - 1
            if body.get("rejected"):
                raise RuntimeError(f"rejected rows over HTTP: {body['rejected']}")
        return rows, time.perf_counter() - started


def main(argv: list[str]) -> None:
    rows = 10_000
    http = True
    for arg in argv:
        if arg.startswith("--rows="):
            rows = int(arg.split("=", 1)[1])
        elif arg == "--no-http":
            http = False

    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers

    data_dir = Path(tempfile.mkdtemp(prefix="vouch-bench-import-"))
    servers = EmbeddedServers(data_dir, durable=True)
    try:
        urls = servers.start()
        upgrade(urls.database_url)
        text = generate_csv(rows)
        path = data_dir / "roster.csv"
        path.write_text(text, encoding="utf-8", newline="")
        print(f"file: {rows} rows, {len(text.encode()) / 1024:.0f} KiB; servers: embedded, durable")

        results: list[tuple[str, int, float]] = []
        brand_id, _ = asyncio.run(_brand(urls.database_url, "bench-cli"))
        n, secs = asyncio.run(_service_import(urls.database_url, brand_id, path))
        results.append(("cli-create", n, secs))
        n, secs = asyncio.run(_service_import(urls.database_url, brand_id, path))
        results.append(("cli-noop", n, secs))
        changed = data_dir / "roster-changed.csv"
        changed.write_text(generate_csv(rows, bump=1), encoding="utf-8", newline="")
        n, secs = asyncio.run(_service_import(urls.database_url, brand_id, changed))
        results.append(("cli-update", n, secs))

        ratio_line = None
        if http:
            docs = list(chunks(text))
            api_port, bare_port = _free_port(), _free_port()
            env = {
                **os.environ,
                "VOUCH_DATABASE_URL": urls.database_url,
                "VOUCH_REDIS_URL": urls.redis_url,
                "VOUCH_LOG_LEVEL": "WARNING",
            }
            api = _serve("services.api.main:create_app", api_port, env)
            bare = _serve("bench.influencer_import:bare_app", bare_port, env)
            try:
                _wait(f"http://127.0.0.1:{api_port}/healthz")
                _wait(f"http://127.0.0.1:{bare_port}/health")
                _, key = asyncio.run(_brand(urls.database_url, "bench-http"))
                headers = {"authorization": f"Bearer {key}", "content-type": "text/csv"}
                n, secs = _post_chunks(
                    f"http://127.0.0.1:{api_port}/v1/influencers/import", docs, headers
                )
                results.append((f"http-create ({len(docs)} requests)", n, secs))
                _, bare_secs = _post_chunks(f"http://127.0.0.1:{bare_port}/bare", docs, headers)
                ratio_line = (
                    f"bare FastAPI endpoint, same {len(docs)} uploads: {bare_secs:.3f} s; "
                    f"HTTP import takes {secs / bare_secs:.0f}x the bare upload time"
                )
            finally:
                for proc in (api, bare):
                    proc.terminate()
                    proc.wait(timeout=15)

        for label, n, secs in results:
            print(f"{label:32s} {n:6d} rows {secs:7.2f} s {n / secs:8.0f} rows/s")
        if ratio_line:
            print(ratio_line)
    finally:
        servers.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
