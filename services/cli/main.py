"""The `vouch` command line: run the stack, migrate, manage brands and API keys."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import httpx
import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.brands import service as brands
from shared.brands.repository import BrandNotFound, BrandRepository
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.migrate import upgrade
from shared.errors import DomainError
from shared.models import Brand

app = typer.Typer(help="Vouch: influencer marketing backend.", no_args_is_help=True)
brands_app = typer.Typer(help="Brands (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(brands_app, name="brands")
app.add_typer(keys_app, name="keys")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings(check: bool = True) -> Settings:
    try:
        settings, _ = resolve()
        if check:
            check_reachable(settings)
    except ServerUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    return settings


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
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


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
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the Alembic migrations."""
    settings = _settings()
    assert settings.database_url
    upgrade(settings.database_url, revision)
    out.print(f"database migrated to {revision}")


@app.command()
def up() -> None:
    """What `make run` calls: servers, migrations, demo brand, API and worker. Ctrl-C stops all."""
    try:
        settings, servers = resolve()
        check_reachable(settings)
    except ServerUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    assert settings.database_url and settings.redis_url
    upgrade(settings.database_url)
    demo = _in_session(settings, _ensure_demo_brand)

    env = {
        **os.environ,
        "VOUCH_DATABASE_URL": settings.database_url,
        "VOUCH_REDIS_URL": settings.redis_url,
    }
    children: dict[str, subprocess.Popen[bytes]] = {}
    # Own sessions: Ctrl-C reaches only this process, which stops the children in order.
    for name in ("api", "worker"):
        children[name] = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "services.cli", name], env=env, start_new_session=True
        )

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    code = 0
    try:
        ready = _wait_ready(settings, children, lambda: stopping)
        base = settings.base_url
        lines = [f"API      {base}", f"Docs     {base}/docs", f"OpenAPI  {base}/openapi.json"]
        if demo is not None:  # printed even if not ready: the key exists only in this output
            lines += ["", f"Demo brand  {demo[0]}", f"API key     {demo[1]}  (shown once)"]
            lines += [f"Try: curl -H 'Authorization: Bearer {demo[1]}' {base}/v1/brand"]
        if ready or demo is not None:
            title = "Vouch is running (Ctrl-C stops)" if ready else "Vouch did not become ready"
            out.print(Panel("\n".join(lines), title=title))
        while not stopping:
            dead = [n for n, p in children.items() if p.poll() is not None]
            if dead:
                err.print(f"[red]{', '.join(dead)} exited unexpectedly; stopping.[/red]")
                code = 1
                break
            time.sleep(0.2)
    finally:
        _stop_children(children)
        if servers is not None:
            out.print("stopping embedded Redis and PostgreSQL")
            servers.stop()
    raise typer.Exit(code)


def _wait_ready(
    settings: Settings,
    children: dict[str, subprocess.Popen[bytes]],
    stopping: Callable[[], bool],
    timeout: float = 60,
) -> bool:
    deadline = time.monotonic() + timeout
    url = f"http://{settings.host}:{settings.port}/readyz"
    while time.monotonic() < deadline and not stopping():
        if any(p.poll() is not None for p in children.values()):
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
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

    async def work(session: AsyncSession) -> Brand:
        brand = await brands.create_brand(
            session, name, default_currency=currency, timezone=timezone
        )
        brands.update_brand(brand, allowed_domains=domain or [])
        await session.flush()
        return brand

    brand = _in_session(_settings(), work)
    out.print(f"brand created: {brand.id}  {brand.name}")
    out.print(f"next: vouch keys create {brand.id}")


async def _find_brand(session: AsyncSession, ref: str) -> Brand:
    repo = BrandRepository(session)
    brand: Brand | None
    try:
        brand = await repo.get(uuid.UUID(ref))
    except ValueError:
        brand = await repo.get_by_name(ref)
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

    issued = _in_session(_settings(), work)
    out.print(f"key id:  {issued.key.id}\nscopes:  {', '.join(issued.key.scopes)}")
    out.print(f"secret:  {issued.secret}   (shown once)")


@keys_app.command("revoke")
def keys_revoke(key_id: uuid.UUID) -> None:
    """Revoke an API key: it answers 401 from the next request on."""

    async def work(session: AsyncSession) -> str:
        key = await brands.revoke_key_any_brand(session, key_id)
        return key.prefix

    prefix = _in_session(_settings(), work)
    out.print(f"revoked {key_id} ({prefix}...)")


if __name__ == "__main__":
    app()
