"""`vouch payouts check`: verify every payout equals the sum of what it holds."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer
from rich.console import Console

from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.payouts.check import Report, check_payouts

app = typer.Typer(help="Payouts: consistency checks.", no_args_is_help=True)

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


async def _check(settings: Settings, brand_id: uuid.UUID | None) -> Report:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            # One snapshot: payouts, items and entries as of one instant.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            return await check_payouts(session, brand_id)
    finally:
        await engine.dispose()


@app.command()
def check(
    brand: Annotated[
        str | None, typer.Option("--brand", help="Only this brand's payouts (brand id).")
    ] = None,
) -> None:
    """Every payout = the sum of its items; live payouts hold exactly those ledger entries;
    paid payouts' entries are paid; failed payouts hold nothing. Exit status 1 on a finding."""
    brand_id: uuid.UUID | None = None
    if brand is not None:
        try:
            brand_id = uuid.UUID(brand)
        except ValueError as exc:
            err.print(f"--brand must be a brand id, not {brand!r}", markup=False)
            raise typer.Exit(2) from exc
    report = asyncio.run(_check(_settings(), brand_id))
    for finding in report.findings:
        err.print(
            f"payout {finding.payout_id} (brand {finding.brand_id}): {finding.problem}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if not report.ok:
        err.print(f"{len(report.findings)} problem(s) in {report.payouts_checked} payouts")
        raise typer.Exit(1)
    out.print(f"{report.payouts_checked} payouts checked: every payout equals its entries")
