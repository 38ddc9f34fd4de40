"""`vouch influencers import|export`: the roster as CSV, for files of any size.

The API's import takes at most 1 MiB per request; this reads any file, applies it through
the same service in batches (one transaction per batch, so a crash loses at most the batch in
flight and re-running is idempotent) and writes the row report next to the file.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.brands.repository import BrandNotFound, BrandRepository
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.errors import DomainError
from shared.influencers import csv_io
from shared.models import Brand

app = typer.Typer(help="The influencer roster: CSV import and export.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

BrandOption = Annotated[
    str | None,
    typer.Option("--brand", help="Brand id or name (optional when there is only one brand)."),
]


def _settings() -> Settings:
    try:
        settings, _ = resolve()
        check_reachable(settings, redis=False)
    except ServerUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    return settings


def _run(settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(settings)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


async def _brand_id(sessionmaker: async_sessionmaker[AsyncSession], ref: str | None) -> uuid.UUID:
    async with sessionmaker() as session:
        if ref is None:
            ids = (await session.execute(select(Brand.id).limit(2))).scalars().all()
            if len(ids) == 1:
                return ids[0]
            count = (await session.execute(select(func.count()).select_from(Brand))).scalar_one()
            raise BrandNotFound(f"There are {count} brands: pass --brand ID_OR_NAME.")
        repo = BrandRepository(session)
        try:
            brand = await repo.get(uuid.UUID(ref))
        except ValueError:
            brand = await repo.get_by_name(ref)
        if brand is None:
            raise BrandNotFound(f"No brand with id or name {ref!r}.")
        return brand.id


def _count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return max(0, sum(1 for _ in csv.reader(f)) - 1)


def _write_report(report: csv_io.ImportReport, target: str) -> None:
    if target == "-":
        doc = {
            "created": report.created,
            "updated": report.updated,
            "rejected": report.rejected,
            "rows": [
                {
                    "row": r.row,
                    "status": r.status,
                    "influencer_id": str(r.influencer_id) if r.influencer_id else None,
                    "account_id": str(r.account_id) if r.account_id else None,
                    "errors": r.errors,
                }
                for r in report.rows
            ],
        }
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "status", "influencer_id", "account_id", "errors"])
        for r in report.rows:
            writer.writerow(
                [
                    r.row,
                    r.status,
                    r.influencer_id or "",
                    r.account_id or "",
                    "; ".join(f"{e['field']}: {e['msg']}" for e in r.errors),
                ]
            )


@app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    brand: BrandOption = None,
    report: Annotated[
        str | None,
        typer.Option(help="Row report path (default FILE.report.csv); '-' prints JSON."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Rows per transaction.")
    ] = csv_io.BATCH_SIZE,
) -> None:
    """Import (upsert) influencers and accounts from CSV, one row per account.

    Columns as in `GET /v1/influencers/export`. Exit status 1 if any row was rejected (the
    good rows are imported all the same; the report says why each bad row was refused)."""
    settings = _settings()
    total = _count_rows(file)
    target = report or str(file.with_name(file.name + ".report.csv"))
    quiet = target == "-"

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> csv_io.ImportReport:
        brand_id = await _brand_id(sessionmaker, brand)
        with (
            Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rejected]} rejected"),
                TimeElapsedColumn(),
                console=err,
                disable=quiet,
            ) as progress,
            file.open(encoding="utf-8-sig", newline="") as f,
        ):
            task = progress.add_task("import", total=total, rejected=0)
            rejected = 0

            def advance(results: list[csv_io.RowResult]) -> None:
                nonlocal rejected
                rejected += sum(1 for r in results if r.status == "rejected")
                progress.update(task, advance=len(results), rejected=rejected)

            return await csv_io.import_lines(
                sessionmaker, brand_id, f, batch_size=batch_size, on_batch=advance
            )

    started = time.perf_counter()
    result = _run(settings, work)
    elapsed = time.perf_counter() - started
    _write_report(result, target)
    rows = len(result.rows)
    summary = (
        f"{rows} rows in {elapsed:.1f}s ({rows / elapsed if elapsed else 0:.0f} rows/s): "
        f"{result.created} created, {result.updated} updated, {result.rejected} rejected"
    )
    (err if quiet else out).print(summary)
    if not quiet:
        out.print(f"report: {target}")
    if result.rejected:
        raise typer.Exit(1)


@app.command("export")
def export_csv(
    brand: BrandOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the roster as CSV (one row per account); it imports back unchanged."""
    settings = _settings()

    async def write(sessionmaker: async_sessionmaker[AsyncSession], sink: TextIO) -> int:
        brand_id = await _brand_id(sessionmaker, brand)
        rows = 0
        async with sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            sink.write(csv_io.header_line())
            async for records in csv_io.export_batches(session, brand_id):
                sink.write(csv_io.csv_text(records))
                rows += len(records)
            await session.rollback()
        return rows

    if output is None:
        _run(settings, lambda sm: write(sm, sys.stdout))
        return
    with output.open("w", encoding="utf-8", newline="") as f:
        rows = _run(settings, lambda sm: write(sm, f))
    out.print(f"{rows} rows written to {output}")
