"""`vouch rollups rebuild --since DATE`: recompute the daily rollups from raw rows.

The same recompute the worker runs incrementally, over every cell from DATE on (the brand's
local days), in batches of one transaction each, with a progress bar. Safe while the API and
worker run: each batch holds the rollup lock, and writes arriving meanwhile are marked and
picked up by the worker as usual.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.analytics.rollups import Written, rebuild
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker

app = typer.Typer(help="Analytics rollups.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        settings, _ = resolve()
        check_reachable(settings, redis=False)
    except ServerUnavailable as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    return settings


async def _rebuild(
    settings: Settings, since: date | None, brand_id: uuid.UUID | None, batch: int
) -> Written:
    engine = create_engine(settings)
    try:
        with Progress(
            TextColumn("rebuilding rollups"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cells"),
            TimeElapsedColumn(),
            console=out,
            transient=False,
        ) as progress:
            task = progress.add_task("rebuild", total=None)

            def step(done: int, total: int, _written: Written) -> None:
                progress.update(task, completed=done, total=total)

            return await rebuild(
                create_sessionmaker(engine),
                since=since,
                brand_id=brand_id,
                batch_size=batch,
                on_batch=step,
            )
    finally:
        await engine.dispose()


@app.command("rebuild")
def rebuild_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="First local day to recompute (YYYY-MM-DD); omit to recompute everything.",
        ),
    ] = None,
    brand: Annotated[str | None, typer.Option("--brand", help="Only this brand (id).")] = None,
    batch: Annotated[int, typer.Option(help="Cells per transaction.", min=100)] = 5000,
) -> None:
    """Recompute rollups from raw rows; the result equals what the worker maintains."""
    try:
        first = date.fromisoformat(since) if since else None
    except ValueError as exc:
        err.print(f"--since must be a date (YYYY-MM-DD), not {since!r}", markup=False)
        raise typer.Exit(2) from exc
    try:
        brand_id = uuid.UUID(brand) if brand else None
    except ValueError as exc:
        err.print(f"--brand must be a brand id, not {brand!r}", markup=False)
        raise typer.Exit(2) from exc
    written = asyncio.run(_rebuild(_settings(), first, brand_id, batch))
    out.print(
        f"rollup rows written: links {written.links}, sales {written.sales}, "
        f"posts {written.posts}, accounts {written.accounts}",
        markup=False,
        highlight=False,
    )
