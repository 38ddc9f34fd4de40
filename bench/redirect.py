"""The redirect hot path and the click pipeline, against a bare FastAPI 302 in the same run.

    python -m bench redirect [--duration=10] [--connections=64] [--rate=1000]
                             [--synthetic-clicks=100000] [--rounds=2]
                             [--database-url=... --redis-url=...]

What runs (2 cores: the figures are shared with the load generator and the servers):
- PostgreSQL and Redis: embedded (durable: fsync and AOF on, as `vouch up` runs them) in a
  temporary directory, or the servers given by --database-url/--redis-url.
- The real API as deployed: `python -m services.cli api` (uvicorn, uvloop + httptools, one
  process), with a brand, campaign, collaboration and link seeded through the services.
- The real worker: `python -m services.cli worker`; running during the fixed-rate latency
  test (as in production), paused (SIGSTOP) during the throughput test so both HTTP servers
  are measured on equal terms (a busy worker would run on other cores or hosts), then
  resumed to time how fast it drains what piled up.
- A bare FastAPI app (one route returning a 302) under the same uvicorn options.

Figures printed:
1. Throughput: wrk (Debian package) closed loop, --connections for --duration seconds,
   alternating bare / redirect for --rounds rounds; requests/s of each and the ratio. Without
   wrk, a raw-socket asyncio generator (weaker: it shares the machine's two cores in Python).
2. Latency at a fixed rate: our own paced generator (wrk2 is not packaged) sends --rate
   requests/s on keep-alive connections; latency is measured from each request's scheduled
   send time (no coordinated omission); p50/p99/max for both apps.
3. API process resident memory (max sampled under load), next to the bare app's.
4. Worker: clicks/s enriched and written to PostgreSQL, timed from SIGCONT until the stream
   is empty (entries are deleted only after their COMMIT), over every click the load
   produced (one visitor, one user agent: wrk's) plus --synthetic-clicks varied ones (20,000
   visitors, thousands of distinct user agents, 10% bots); then checks every click counted by the
   API is stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from bench.harness import Procs, RssSampler, free_port, uvicorn_command, vouch_env, wait_http

ROOT = Path(__file__).resolve().parent.parent
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway servers

# ---------------------------------------------------------------- the bare comparison app
bare_app = FastAPI()


@bare_app.get("/r/{code}")
async def bare_redirect(code: str) -> RedirectResponse:
    return RedirectResponse("https://shop.example.com/p?utm_source=x", status_code=302)


# ---------------------------------------------------------------- helpers
# ---------------------------------------------------------------- closed-loop load
def wrk(url: str, duration: int, connections: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "-H",
            f"User-Agent: {UA}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx" in out or "Socket errors" in out:
        print(out, file=sys.stderr)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return float(match.group(1))


async def _socket_load(host: str, port: int, path: str, duration: float, conns: int) -> float:
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\n\r\n").encode()
    done = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < deadline:
            writer.write(request)
            await _read_response(reader)
            done += 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return done / (time.perf_counter() - start)


def closed_loop(url: str, duration: int, connections: int) -> float:
    if shutil.which("wrk"):
        return wrk(url, duration, connections)
    parts = httpx.URL(url)
    return _run_async(
        _socket_load(parts.host, parts.port or 80, parts.raw_path.decode(), duration, connections)
    )


def _run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    if length:
        await reader.readexactly(length)
    return status


# ---------------------------------------------------------------- fixed-rate latency
async def _paced(host: str, port: int, path: str, rate: int, duration: float) -> list[float]:
    """Send `rate` requests/s for `duration` s; latency from each request's scheduled time."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\n\r\n").encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(8):
        idle.append(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], due: float) -> None:
        for _attempt in range(3):
            reader, writer = conn
            try:
                writer.write(request)
                status = await _read_response(reader)
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed a keep-alive connection left idle too long: reconnect
                # (its cost counts: latency runs from the scheduled time).
                writer.close()
                conn = await asyncio.open_connection(host, port)
        else:
            raise RuntimeError("request failed three times")
        latencies.append(time.perf_counter() - due)
        assert status in (301, 302, 307), status
        idle.append(conn)

    total = int(rate * duration)
    interval = 1.0 / rate
    start = time.perf_counter() + 0.05
    sent = 0
    while sent < total:
        now = time.perf_counter()
        while sent < total and start + sent * interval <= now:
            conn = idle.pop() if idle else await asyncio.open_connection(host, port)
            task = asyncio.create_task(one(conn, start + sent * interval))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.perf_counter()))
    await asyncio.gather(*list(tasks))
    for _reader, writer in idle:
        writer.close()
    return latencies


def fixed_rate(url: str, rate: int, duration: float) -> dict[str, float]:
    parts = httpx.URL(url)
    lat = _run_async(_paced(parts.host, parts.port or 80, parts.raw_path.decode(), rate, duration))
    lat.sort()
    return {
        "requests": len(lat),
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
        "max_ms": lat[-1] * 1000,
    }


# ---------------------------------------------------------------- seeding and the worker
async def seed(database_url: str) -> tuple[str, str]:
    """A brand, campaign, influencer, collaboration and link, through the services."""
    from shared.brands.service import create_brand
    from shared.config import Settings
    from shared.db.engine import create_engine, create_sessionmaker
    from shared.links.service import create_link
    from shared.models import Campaign, Collaboration, Influencer, SocialAccount

    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            brand = await create_brand(session, "Bench brand", allowed_domains=["example.com"])
            campaign = Campaign(
                brand_id=brand.id, name="Spring", slug="spring", goal="sales", currency="USD"
            )
            influencer = Influencer(brand_id=brand.id, name="Ana")
            session.add_all([campaign, influencer])
            await session.flush()
            session.add(
                SocialAccount(
                    brand_id=brand.id,
                    influencer_id=influencer.id,
                    platform="instagram",
                    handle="ana",
                    followers=42_000,
                )
            )
            collab = Collaboration(
                brand_id=brand.id,
                campaign_id=campaign.id,
                influencer_id=influencer.id,
                currency="USD",
            )
            session.add(collab)
            await session.flush()
            link = await create_link(
                session,
                brand.id,
                collaboration_id=collab.id,
                destination_url="https://shop.example.com/products/boots?color=red",
            )
            return link.code, str(link.id)
    finally:
        await engine.dispose()


SYNTHETIC_UAS = [
    UA,
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    UA + " Instagram 309.0.0.40.113 (iPhone15,2; iOS 17_0; en_US)",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/441.0.0.33.113;]",
]
SYNTHETIC_BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]


async def top_up(redis_url: str, stream: str, link_id: str, brand_id: str, count: int) -> None:
    import redis.asyncio as aioredis

    from shared.links.clickid import ClickIds
    from shared.links.clicks import CLICKS_PER_ENTRY, encode_entry

    ids = ClickIds(SECRET.encode())
    prefix = ClickIds.prefix(uuid.UUID(link_id))
    rng = random.Random(7)
    visitors = [rng.randbytes(16).hex() for _ in range(20_000)]
    countries = ["US", "DE", "FR", "GB", "BR", "IN", None]
    referrers = ["l.instagram.com", "t.co", "www.tiktok.com", "m.youtube.com", None]
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for start in range(0, count, CLICKS_PER_ENTRY):
                batch = []
                for _ in range(min(CLICKS_PER_ENTRY, count - start)):
                    if rng.random() < 0.1:
                        ua = rng.choice(SYNTHETIC_BOTS)
                    else:  # thousands of distinct user agents: browser builds differ
                        ua = rng.choice(SYNTHETIC_UAS).replace(
                            "0.0.0", f"0.{rng.randrange(70)}.{rng.randrange(70)}"
                        )
                    ms = time.time_ns() // 1_000_000
                    batch.append(
                        (
                            ids.issue(prefix, ms),
                            brand_id,
                            uuid.UUID(link_id).hex,
                            ms,
                            rng.choice(visitors),
                            rng.choice(countries),
                            rng.choice(referrers),
                            ua,
                        )
                    )
                pipe.xadd(stream, encode_entry(batch))  # type: ignore[arg-type]
            await pipe.execute()
    finally:
        await client.aclose()


async def stream_state(redis_url: str, stream: str) -> tuple[int, int]:
    """(entries in the stream, entries pending in the worker group)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        length = int(await client.xlen(stream))
        try:
            pending = int((await client.xpending(stream, "vouch-click-writers"))["pending"])
        except Exception:
            pending = -1
        return length, pending
    finally:
        await client.aclose()


async def count_clicks(database_url: str, link_id: str) -> tuple[int, int]:
    import asyncpg

    from shared.db.engine import normalize_database_url

    conn = await asyncpg.connect(normalize_database_url(database_url).replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT click_id) FROM clicks WHERE link_id = $1",
            uuid.UUID(link_id),
        )
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


def wait_drained(redis_url: str, stream: str, timeout: float = 600) -> None:
    """Until the stream is empty and nothing is pending: every click committed."""
    deadline = time.monotonic() + timeout
    while True:
        length, pending = _run_async(stream_state(redis_url, stream))
        if length == 0 and pending == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"drain incomplete: {length} entries left")
        time.sleep(0.02)


def metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics", trust_env=False).text
    match = re.search(rf"^{re.escape(name)} ([\d.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


# ---------------------------------------------------------------- main
def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench redirect")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--rate-duration", type=float, default=10)
    parser.add_argument("--synthetic-clicks", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)

    from shared.db.migrate import upgrade
    from shared.runtime import EmbeddedServers

    tmp = None
    servers = None
    if args.database_url and args.redis_url:
        db_url, redis_url = args.database_url, args.redis_url
    else:
        tmp = Path(tempfile.mkdtemp(prefix="vouch-bench-"))
        servers = EmbeddedServers(tmp, durable=True)
        urls = servers.start()
        db_url, redis_url = urls.database_url, urls.redis_url
    stream = f"vouch:clicks:bench:{uuid.uuid4().hex[:6]}"
    procs = Procs()
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "wrk": bool(shutil.which("wrk")),
        "load_before": os.getloadavg()[0],
    }
    try:
        upgrade(db_url)
        code, link_id = _run_async(seed(db_url))
        env = vouch_env(db_url, redis_url, SECRET, click_stream=stream)
        api_port, bare_port = free_port(), free_port()
        worker = procs.start([sys.executable, "-m", "services.cli", "worker"], env)
        api = procs.start(
            [sys.executable, "-m", "services.cli", "api"], {**env, "VOUCH_PORT": str(api_port)}
        )
        bare = procs.start(uvicorn_command("bench.redirect:bare_app", bare_port), env)
        api_base, bare_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        wait_http(f"{api_base}/readyz", status=200)
        wait_http(f"{bare_base}/r/x", status=302)
        # The worker is up once its consumer group exists.
        deadline = time.monotonic() + 60
        while _run_async(stream_state(redis_url, stream))[1] < 0:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("the worker did not start")
            time.sleep(0.2)

        api_url, bare_url = f"{api_base}/r/{code}", f"{bare_base}/r/{code}"
        first = httpx.get(api_url, trust_env=False, headers={"user-agent": UA})
        assert first.status_code == 302 and "vclid=" in first.headers["location"], first
        print(f"redirect: {first.status_code} -> {first.headers['location']}", flush=True)
        closed_loop(bare_url, 2, args.connections)  # warm-up
        closed_loop(api_url, 2, args.connections)

        # 1. Latency at a moderate fixed rate, as in production: the worker drains meanwhile.
        results["latency_redirect"] = fixed_rate(api_url, args.rate, args.rate_duration)
        results["latency_bare"] = fixed_rate(bare_url, args.rate, args.rate_duration)
        wait_drained(redis_url, stream)

        # 2. Throughput, the worker paused: both HTTP servers measured on equal terms.
        worker.send_signal(signal.SIGSTOP)
        bare_rps: list[float] = []
        api_rps: list[float] = []
        with RssSampler(api.pid) as api_rss, RssSampler(bare.pid) as bare_rss:
            for _ in range(args.rounds):
                bare_rps.append(closed_loop(bare_url, args.duration, args.connections))
                api_rps.append(closed_loop(api_url, args.duration, args.connections))
                print(f"  round: bare {bare_rps[-1]:,.0f} req/s, redirect {api_rps[-1]:,.0f}")
        results["bare_rps"] = statistics.mean(bare_rps)
        results["redirect_rps"] = statistics.mean(api_rps)
        results["ratio"] = results["redirect_rps"] / results["bare_rps"]
        results["api_rss_mib"] = api_rss.max / 2**20
        results["bare_rss_mib"] = bare_rss.max / 2**20

        # Clicks: what the API counted must all be in the stream, then in PostgreSQL.
        time.sleep(0.3)  # one flush interval and then some
        served = int(metric(api_base, 'vouch_redirects_total{outcome="click"}'))
        streamed = int(metric(api_base, "vouch_clicks_streamed_total"))
        fallback = int(metric(api_base, "vouch_clicks_fallback_total"))
        extra = args.synthetic_clicks
        _run_async(top_up(redis_url, stream, link_id, _brand_of(db_url, link_id), extra))
        expected = served + extra
        already, _ = _run_async(count_clicks(db_url, link_id))  # stored during phase 1
        start = time.perf_counter()
        worker.send_signal(signal.SIGCONT)
        wait_drained(redis_url, stream)
        drain_s = time.perf_counter() - start
        stored, distinct = _run_async(count_clicks(db_url, link_id))
        results.update(
            clicks_served=served,
            clicks_streamed=streamed,
            clicks_fallback=fallback,
            clicks_expected=expected,
            clicks_stored=stored,
            clicks_distinct=distinct,
            clicks_drained=expected - already,
            drain_seconds=drain_s,
            worker_clicks_per_s=(expected - already) / drain_s,
        )
        results["load_after"] = os.getloadavg()[0]
    finally:
        procs.stop()
        if servers is not None:
            servers.destroy()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    report(results, args)


def _brand_of(db_url: str, link_id: str) -> str:
    async def q() -> str:
        import asyncpg

        from shared.db.engine import normalize_database_url

        conn = await asyncpg.connect(normalize_database_url(db_url).replace("+asyncpg", ""))
        try:
            value = await conn.fetchval(
                "SELECT brand_id FROM tracking_links WHERE id = $1", uuid.UUID(link_id)
            )
            return str(uuid.UUID(str(value)).hex)
        finally:
            await conn.close()

    return str(_run_async(q()))


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    lr, lb = r["latency_redirect"], r["latency_bare"]
    gen = "wrk -t1" if r["wrk"] else "asyncio raw-socket generator"
    lines = [
        f"machine: {r['cpus']} CPUs, 1-min load average {r['load_before']:.2f} before the run"
        f" (well above 0 means other work shared the cores), {r['load_after']:.2f} after"
        " (the run's own)",
        f"load: {gen} -c{args.connections}, {args.rounds} x {args.duration}s each, alternating",
        f"throughput   bare FastAPI 302 {r['bare_rps']:>9,.0f} req/s",
        f"             /r/{{code}}        {r['redirect_rps']:>9,.0f} req/s"
        f"   ratio {r['ratio']:.2f}x   (target >= 1.00)",
        f"latency @{args.rate}/s  redirect p50 {lr['p50_ms']:.2f} ms  p99 {lr['p99_ms']:.2f} ms"
        f"  max {lr['max_ms']:.2f} ms   (target p99 < 10 ms)",
        f"                bare     p50 {lb['p50_ms']:.2f} ms  p99 {lb['p99_ms']:.2f} ms"
        f"  max {lb['max_ms']:.2f} ms",
        f"memory       API RSS under load {r['api_rss_mib']:.0f} MiB"
        f"   (bare FastAPI {r['bare_rss_mib']:.0f} MiB)",
        f"worker       {r['worker_clicks_per_s']:,.0f} clicks/s enriched and written "
        f"({r['clicks_drained']:,} clicks in {r['drain_seconds']:.2f} s; target >= 20,000)",
        f"clicks       served {r['clicks_served']:,}, streamed {r['clicks_streamed']:,}, "
        f"fallback {r['clicks_fallback']:,}, stored {r['clicks_stored']:,} "
        f"(distinct {r['clicks_distinct']:,}, expected {r['clicks_expected']:,})",
    ]
    print("\n".join(lines))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "redirect.json").write_text(json.dumps(r, indent=2, default=str))
    if r["clicks_stored"] != r["clicks_expected"] or r["clicks_distinct"] != r["clicks_stored"]:
        raise SystemExit("clicks were lost or doubled")
