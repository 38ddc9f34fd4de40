"""Reconciliation: re-feed a store's orders through the same idempotent path as webhooks.

A webhook can be lost before it ever reaches Vouch (the store gave up retrying, the
integration was misconfigured for a day). Reconciliation reads the store's orders from an
`OrderSource` and writes each one into the inbox as if the store had sent an update
(source topic orders/updated, order.updated or order), then processes those events with the
inbox processor and the order handlers. Everything downstream is keyed by business keys:
an order Vouch already has at that version changes nothing, a newer one is applied, a
missing one is created and attributed; running the same reconciliation twice is a no-op
(the inbox rows are deduplicated by a hash of each order's content).

The seam: `OrderSource` yields raw order documents in the integration's own format. Today
there is `JsonlExport` (one order per line, e.g. from Shopify's or WooCommerce's REST API
paged out to a file); a live store API client is another implementation of the same
protocol (it needs the store's API credentials, which Vouch does not hold yet).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.base import uuid7
from shared.errors import NotFound
from shared.models import Integration, WebhookEvent
from shared.orders.types import OrderEvent, ParseError
from shared.webhooks.processing import process_claimed

BATCH = 500

# integration kind -> (inbox source, the topic an update of one order arrives under)
FEED: dict[str, tuple[str, str]] = {
    "shopify": ("shopify", "orders/updated"),
    "woocommerce": ("woocommerce", "order.updated"),
    "custom": ("orders", "order"),
}


class ReconcileIntegrationNotFound(NotFound):
    resource = "integration"


class OrderSource(Protocol):
    def documents(self) -> AsyncIterator[tuple[int, bytes]]:
        """(position, raw order document) pairs, in the integration's own format."""
        ...


@dataclass(frozen=True, slots=True)
class JsonlExport:
    path: Path

    async def documents(self) -> AsyncIterator[tuple[int, bytes]]:
        with self.path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                line = line.strip()
                if line:
                    yield number, line


@dataclass(slots=True)
class ReconcileReport:
    read: int = 0
    skipped_before_since: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    queued: int = 0  # new inbox rows
    already_fed: int = 0  # the same content was fed before
    handled: int = 0
    failed: int = 0


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    integration_id: uuid.UUID,
    source: OrderSource,
    *,
    since: datetime | None = None,
    process: bool = True,
    max_attempts: int = 5,
) -> ReconcileReport:
    """Feed `source`'s orders updated at or after `since` into the inbox; with `process`,
    run the inbox processor on them right away (else the worker's jobs and sweeper will)."""
    from shared.orders.handlers import register_order_handlers
    from shared.orders.parsing import parse_body

    register_order_handlers()
    async with sessionmaker() as session:
        integration = await session.get(Integration, integration_id)
    if integration is None or integration.kind not in FEED:
        raise ReconcileIntegrationNotFound(detail=f"No store integration with id {integration_id}.")
    inbox_source, topic = FEED[integration.kind]
    report = ReconcileReport()
    now = datetime.now(UTC)
    pending: list[dict[str, object]] = []
    async for number, raw in source.documents():
        report.read += 1
        try:
            parsed = parse_body(
                inbox_source, topic, raw, integration_id=integration.id, event_time=now
            )
        except ParseError as exc:
            report.invalid.append((number, str(exc)))
            continue
        orders = [p.order for p in parsed if isinstance(p, OrderEvent)]
        if not orders:
            report.invalid.append((number, "not an order"))
            continue
        if since is not None and orders[0].updated_at < since:
            report.skipped_before_since += 1
            continue
        digest = hashlib.sha256(raw).hexdigest()[:32]
        pending.append(
            {
                "id": uuid7(),
                "brand_id": integration.brand_id,
                "integration_id": integration.id,
                "source": inbox_source,
                "topic": topic,
                "external_id": f"reconcile:{orders[0].external_order_id}:{digest}",
                "source_timestamp": orders[0].updated_at,
                "headers": {"x-vouch-reconcile": "1"},
                "body": raw,
            }
        )
        if len(pending) >= BATCH:
            await _feed(sessionmaker, pending, report, process, max_attempts)
            pending = []
    if pending:
        await _feed(sessionmaker, pending, report, process, max_attempts)
    return report


async def _feed(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: list[dict[str, object]],
    report: ReconcileReport,
    process: bool,
    max_attempts: int,
) -> None:
    async with sessionmaker() as session, session.begin():
        stmt = (
            insert(WebhookEvent)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_webhook_events_external")
            .returning(WebhookEvent.id)
        )
        new_ids = [r[0] for r in (await session.execute(stmt)).all()]
    report.queued += len(new_ids)
    report.already_fed += len(rows) - len(new_ids)
    if process and new_ids:
        await _process(sessionmaker, new_ids, report, max_attempts)


async def _process(
    sessionmaker: async_sessionmaker[AsyncSession],
    ids: Iterable[uuid.UUID],
    report: ReconcileReport,
    max_attempts: int,
) -> None:
    async with sessionmaker() as session, session.begin():
        events = (
            (
                await session.execute(
                    select(WebhookEvent)
                    .where(WebhookEvent.id.in_(list(ids)), WebhookEvent.status == "pending")
                    .order_by(WebhookEvent.received_at)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        outcome = await process_claimed(session, events, max_attempts=max_attempts)
    report.handled += len(outcome.handled)
    report.failed += len(outcome.failed) + len(outcome.dead)
