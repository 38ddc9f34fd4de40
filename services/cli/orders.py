"""`vouch orders reconcile` and `vouch ledger check`.

    vouch orders reconcile INTEGRATION_ID --file export.jsonl [--since 2026-11-01] [--enqueue]
    vouch ledger check [--brand BRAND_ID]

Reconcile feeds a store's orders (one JSON document per line, in the store's own format:
Shopify REST Order, WooCommerce order, or Vouch's order format) through the inbox and the
order handlers, the same idempotent path as webhooks (shared/orders/reconcile.py). Ledger
check verifies, for every order, that its ledger entries sum to the commission due on its
net amount (shared/commissions/invariant.py); it exits 1 when anything is off.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.cli.servers import ServerUnavailable, check_reachable, resolve
from shared.commissions.invariant import LedgerReport, check_ledger
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.errors import DomainError
from shared.orders.reconcile import JsonlExport, ReconcileReport, reconcile

app = typer.Typer(help="Orders from stores: reconciliation.", no_args_is_help=True)
ledger_app = typer.Typer(help="The commission ledger.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")
MAX_LISTED = 50


def _settings() -> Settings:
    try:
        settings, _ = resolve()
        check_reachable(settings, redis=False)
    except ServerUnavailable as exc:
        err.print(str(exc), style="red", markup=False)
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
        err.print(exc.detail, style="red", markup=False)
        raise typer.Exit(1) from exc


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("reconcile")
def reconcile_command(
    integration: Annotated[str, typer.Argument(help="The store integration's id.")],
    file: Annotated[
        Path,
        typer.Option("--file", exists=True, dir_okay=False, help="JSON-lines export of orders."),
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Only orders updated at or after this time (ISO 8601; UTC if bare)."),
    ] = None,
    enqueue: Annotated[
        bool,
        typer.Option(
            "--enqueue", help="Only write the inbox rows; the running worker processes them."
        ),
    ] = False,
) -> None:
    """Re-feed a store's orders through the idempotent order path."""
    try:
        integration_id = uuid.UUID(integration)
    except ValueError as exc:
        raise typer.BadParameter(f"{integration!r} is not an integration id") from exc
    settings = _settings()

    async def work(sm: async_sessionmaker[AsyncSession]) -> ReconcileReport:
        return await reconcile(
            sm,
            integration_id,
            JsonlExport(file),
            since=_since(since),
            process=not enqueue,
            max_attempts=settings.webhook_max_attempts,
        )

    report = _run(settings, work)
    out.print(
        f"read {report.read}, skipped (before --since) {report.skipped_before_since}, "
        f"invalid {len(report.invalid)}, new {report.queued}, already fed {report.already_fed}"
        + ("" if enqueue else f", handled {report.handled}, failed {report.failed}"),
        markup=False,
        highlight=False,
    )
    for line, problem in report.invalid[:MAX_LISTED]:
        err.print(f"line {line}: {problem}", markup=False, highlight=False)
    if report.invalid or report.failed:
        raise typer.Exit(1)


@ledger_app.command("check")
def ledger_check(
    brand: Annotated[str | None, typer.Option(help="Only this brand's orders (id).")] = None,
) -> None:
    """Verify that every order's ledger entries sum to the commission due on its net amount."""
    try:
        brand_id = uuid.UUID(brand) if brand else None
    except ValueError as exc:
        raise typer.BadParameter(f"{brand!r} is not a brand id") from exc
    settings = _settings()

    async def work(sm: async_sessionmaker[AsyncSession]) -> LedgerReport:
        async with sm() as session:
            return await check_ledger(session, brand_id=brand_id)

    report = _run(settings, work)
    verdict = "ok" if report.ok else f"{len(report.violations)} violation(s)"
    out.print(
        f"ledger check: {report.orders} orders, {report.attributed} attributed: {verdict}",
        markup=False,
        highlight=False,
    )
    for v in report.violations[:MAX_LISTED]:
        err.print(f"order {v.order_id} (brand {v.brand_id}): {v.problem}", markup=False)
    if not report.ok:
        raise typer.Exit(1)
