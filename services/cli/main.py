"""The `vouch` command line: run the stack, migrate, manage brands and API keys."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cli.influencers import app as influencers_app
from services.cli.orders import app as orders_app
from services.cli.orders import ledger_app
from services.cli.payouts import app as payouts_app
from services.cli.rollups import app as rollups_app
from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.brands import service as brands
from shared.brands.repository import BrandNotFound, BrandRepository
from shared.config import Settings, get_settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.migrate import upgrade
from shared.errors import DomainError, InvalidInput
from shared.models import Brand

app = typer.Typer(help="Vouch: influencer marketing backend.", no_args_is_help=True)
brands_app = typer.Typer(help="Brands (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(brands_app, name="brands")
app.add_typer(keys_app, name="keys")
app.add_typer(influencers_app, name="influencers")
app.add_typer(orders_app, name="orders")
app.add_typer(ledger_app, name="ledger")
app.add_typer(payouts_app, name="payouts")
app.add_typer(rollups_app, name="rollups")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings(*, redis: bool = True) -> Settings:
    """Settings with both URLs resolved, after checking the servers answer. `redis=False` for
    commands that only use the database."""
    try:
        settings, _ = resolve()
        check_reachable(settings, redis=redis)
    except ServerUnavailable as exc:
        _fail(str(exc))
    return settings


def _say(text: str) -> None:
    # Ids, names and secrets verbatim: no markup, no highlighting, never wrapped mid-token.
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    # markup=False: messages quote URLs and exception reprs, whose brackets are not markup.
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _fail(exc.detail, code=1)


# ----------------------------------------------------------------------------- processes
@app.command()
def api() -> None:
    """Serve the HTTP API (uvicorn) on VOUCH_HOST:VOUCH_PORT."""
    import uvicorn

    settings = _settings()
    os.environ["VOUCH_DATABASE_URL"] = settings.database_url or ""
    os.environ["VOUCH_REDIS_URL"] = settings.redis_url or ""
    uvicorn.run(
        "services.api.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    check: Annotated[bool, typer.Option("--check", help="Exit 0 if a worker is alive.")] = False,
) -> None:
    """Run the background worker (arq), or check that one is alive."""
    from arq.worker import async_check_health, run_worker

    from services.worker.settings import redis_settings, worker_settings

    settings = _settings()
    if check:
        code = asyncio.run(async_check_health(redis_settings(settings)))
        (out if code == 0 else err).print("worker alive" if code == 0 else "no live worker")
        raise typer.Exit(code)

    class WorkerSettings:
        pass

    for key, value in worker_settings(settings).items():
        setattr(WorkerSettings, key, value)
    run_worker(WorkerSettings)  # type: ignore[arg-type]


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Apply the Alembic migrations."""
    settings = _settings(redis=False)
    assert settings.database_url
    upgrade(settings.database_url, revision)
    out.print(f"database migrated to {revision}")


@app.command()
def up() -> None:
    """What `make run` calls: servers, migrations, demo brand, API and worker. Ctrl-C stops all."""
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Installed before anything starts: a Ctrl-C during startup (server start, migrations)
    # must still reach the `finally` below that stops what was started, not leave orphans.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    # A second `make run` beside a running one would otherwise start, fail to bind, and on
    # its way out stop the embedded servers the first one is using.
    wanted = get_settings()
    if not _port_free(wanted.host, wanted.port):
        _fail(
            f"Port {wanted.port} on {wanted.host} is already in use (another `vouch up`?).\n"
            "  Fix: stop it, or choose another port with VOUCH_PORT."
        )
    try:
        settings, servers = resolve()
    except ServerUnavailable as exc:
        _fail(str(exc))

    children: dict[str, subprocess.Popen[bytes]] = {}
    code = 0
    try:
        try:
            check_reachable(settings)
        except ServerUnavailable as exc:
            _fail(str(exc))
        assert settings.database_url and settings.redis_url
        demo = None
        if not stopping:
            upgrade(settings.database_url)
            demo = _in_session(settings, _ensure_demo_brand)
        env = {
            **os.environ,
            "VOUCH_DATABASE_URL": settings.database_url,
            "VOUCH_REDIS_URL": settings.redis_url,
        }
        # Own sessions: Ctrl-C reaches only this process, which stops the children in order.
        for name in ("api", "worker"):
            if stopping:
                break
            children[name] = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "services.cli", name], env=env, start_new_session=True
            )
        ready = _wait_ready(settings, children, lambda: stopping)
        if demo is not None or not stopping:  # a new demo key exists only in this output
            _print_banner(settings, ready, demo)
        while not stopping:
            dead = [n for n, p in children.items() if p.poll() is not None]
            if dead:
                err.print(f"{', '.join(dead)} exited unexpectedly; stopping.", style="red")
                code = 1
                break
            time.sleep(0.2)
    finally:
        _stop_children(children)
        if servers is not None:
            out.print("stopping embedded Redis and PostgreSQL")
            servers.stop()
    raise typer.Exit(code)


def _print_banner(settings: Settings, ready: bool, demo: tuple[str, str] | None) -> None:
    base = settings.base_url
    lines = [f"API      {base}", f"Docs     {base}/docs", f"OpenAPI  {base}/openapi.json"]
    if demo is not None:  # printed even if not ready: the key exists only in this output
        lines += ["", f"Demo brand  {demo[0]}", f"API key     {demo[1]}  (shown once)"]
    title = "Vouch is running (Ctrl-C stops)" if ready else "Vouch is not ready yet (see logs)"
    out.print(Panel("\n".join(lines), title=title))
    if demo is not None:
        # Outside the panel and unwrapped, so the command can be copied as is.
        curl = f"curl -H 'Authorization: Bearer {demo[1]}' {base}/v1/brand"
        _say(f"Try: {curl}")


def _loopback(host: str) -> str:
    """Where this machine reaches a server bound to `host` (wildcards are not addresses)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - compared, not bound
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: SO_REUSEADDR, so a socket in TIME_WAIT does not count as in use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_ready(
    settings: Settings,
    children: dict[str, subprocess.Popen[bytes]],
    stopping: Callable[[], bool],
    timeout: float = 60,
) -> bool:
    """True once /readyz answers 200; False if a child exits, Ctrl-C, or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    url = f"http://{_loopback(settings.host)}:{settings.port}/readyz"
    # trust_env=False: an HTTP(S)_PROXY in the environment must not capture a loopback probe.
    with httpx.Client(timeout=1, trust_env=False) as http:
        while time.monotonic() < deadline and not stopping():
            if any(p.poll() is not None for p in children.values()):
                return False
            try:
                if http.get(url).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return False


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _ensure_demo_brand(session: AsyncSession) -> tuple[str, str] | None:
    """On first run (no brand yet) create a demo brand and key; later runs create nothing."""
    count = (await session.execute(select(func.count()).select_from(Brand))).scalar_one()
    if count:
        return None
    brand = await brands.create_brand(session, "Demo brand", allowed_domains=["example.com"])
    issued = await brands.issue_key(session, brand.id, name="demo")
    return str(brand.id), issued.secret


# ------------------------------------------------------------------------ brands & keys
@brands_app.command("create")
def brands_create(
    name: str,
    currency: Annotated[str, typer.Option(help="Default ISO 4217 currency.")] = "USD",
    timezone: Annotated[str, typer.Option(help="IANA time zone for reports.")] = "UTC",
    domain: Annotated[
        list[str] | None, typer.Option(help="Allowed link destination host (repeatable).")
    ] = None,
) -> None:
    """Create a brand (tenant)."""
    # The same limits the API's schema enforces; the table's CHECKs would reject these with
    # a traceback instead of a message.
    if not 1 <= len(name) <= 200:
        _fail("The brand name must be 1 to 200 characters.", code=1)
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        _fail(f"--currency must be an ISO 4217 code such as USD, not {currency!r}.", code=1)

    async def work(session: AsyncSession) -> Brand:
        brand = await brands.create_brand(
            session, name, default_currency=currency, timezone=timezone
        )
        brands.update_brand(brand, allowed_domains=domain or [])
        await session.flush()
        return brand

    brand = _in_session(_settings(redis=False), work)
    _say(f"brand created: {brand.id}  {brand.name}")
    _say(f"next: vouch keys create {brand.id}")


async def _find_brand(session: AsyncSession, ref: str) -> Brand:
    """A brand by id, or by name when that name is unique (names are not: refuse to guess)."""
    try:
        brand_id = uuid.UUID(ref)
    except ValueError:
        stmt = select(Brand).where(Brand.name == ref).order_by(Brand.id).limit(2)
        found = list((await session.execute(stmt)).scalars())
        if len(found) > 1:
            raise InvalidInput(
                ["brand"], f"More than one brand is named {ref!r}; pass the brand id instead."
            ) from None
        brand = found[0] if found else None
    else:
        brand = await BrandRepository(session).get(brand_id)
    if brand is None:
        raise BrandNotFound(detail=f"No brand with id or name {ref!r}.")
    return brand


@keys_app.command("create")
def keys_create(
    brand: Annotated[str, typer.Argument(help="Brand id or name.")],
    scope: Annotated[
        list[brands.Scope] | None, typer.Option(help="Scope to grant (repeatable).")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""

    async def work(session: AsyncSession) -> brands.IssuedKey:
        found = await _find_brand(session, brand)
        scopes = [s.value for s in scope] if scope else None
        return await brands.issue_key(session, found.id, name=name, scopes=scopes)

    issued = _in_session(_settings(redis=False), work)
    _say(f"key id:  {issued.key.id}\nscopes:  {', '.join(issued.key.scopes)}")
    _say(f"secret:  {issued.secret}   (shown once)")


@keys_app.command("revoke")
def keys_revoke(key_id: uuid.UUID) -> None:
    """Revoke an API key: it answers 401 from the next request on."""

    async def work(session: AsyncSession) -> str:
        key = await brands.revoke_key_any_brand(session, key_id)
        return key.prefix

    prefix = _in_session(_settings(redis=False), work)
    _say(f"revoked {key_id} ({prefix}...)")


if __name__ == "__main__":
    app()
