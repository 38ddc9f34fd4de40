"""Inbox handlers for engagement deliveries, registered with the webhook processor.

Sources (the receiver an event came through): `engagement` (Vouch's format, topic
`engagement`) and `instagram` (Instagram Graph webhooks, topic `instagram`). Each handler
is a batch handler: the processor hands it every claimed event of its topic at once, and it
parses them all and ingests them together in the processor's transaction (a body that cannot
be parsed raises, and the processor then retries each event alone, so only the bad one
fails). Both are idempotent (see shared/engagement/service.py), so a retried or replayed
event changes nothing twice.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engagement.payloads import PayloadError, parse_instagram, parse_vouch
from shared.engagement.service import Delivery, ingest
from shared.models import Integration, WebhookEvent
from shared.webhooks.registry import register_batch_handler

ENGAGEMENT_SOURCE = "engagement"
ENGAGEMENT_TOPIC = "engagement"
INSTAGRAM_SOURCE = "instagram"
INSTAGRAM_TOPIC = "instagram"


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc


@register_batch_handler(ENGAGEMENT_SOURCE, [ENGAGEMENT_TOPIC])
async def handle_engagement(session: AsyncSession, events: list[WebhookEvent]) -> None:
    deliveries = [
        Delivery(
            event.brand_id,
            event.integration_id,
            parse_vouch(_json(event.body), event.source_timestamp or event.received_at),
        )
        for event in events
    ]
    await ingest(session, deliveries)


def instagram_accounts(settings: dict[str, Any]) -> dict[str, str]:
    """IG user id -> roster handle, from `settings.instagram.accounts`."""
    raw = (settings.get("instagram") or {}).get("accounts") or {}
    return {str(k): str(v).strip().lstrip("@").lower() for k, v in raw.items() if v}


@register_batch_handler(INSTAGRAM_SOURCE, [INSTAGRAM_TOPIC])
async def handle_instagram(session: AsyncSession, events: list[WebhookEvent]) -> None:
    ids = {event.integration_id for event in events}
    rows = await session.execute(
        select(Integration.id, Integration.settings).where(Integration.id.in_(ids))
    )
    mapping = {r.id: instagram_accounts(r.settings or {}) for r in rows}
    deliveries = [
        Delivery(
            event.brand_id,
            event.integration_id,
            parse_instagram(
                _json(event.body),
                mapping.get(event.integration_id, {}),
                event.source_timestamp or event.received_at,
            ),
        )
        for event in events
    ]
    await ingest(session, deliveries)
