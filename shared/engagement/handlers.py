"""Inbox handlers for engagement deliveries, registered with the webhook processor.

Sources (the receiver an event came through): `engagement` (Vouch's format, topic
`engagement`) and `instagram` (Instagram Graph webhooks, topic `instagram`). Each handler
parses the raw body and ingests it in the processor's transaction; both are idempotent (see
shared/engagement/service.py), so a retried or replayed event changes nothing twice.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engagement.payloads import PayloadError, parse_instagram, parse_vouch
from shared.engagement.service import ingest
from shared.models import Integration, WebhookEvent
from shared.webhooks.registry import register_handler

ENGAGEMENT_SOURCE = "engagement"
ENGAGEMENT_TOPIC = "engagement"
INSTAGRAM_SOURCE = "instagram"
INSTAGRAM_TOPIC = "instagram"


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc


@register_handler(ENGAGEMENT_SOURCE, [ENGAGEMENT_TOPIC])
async def handle_engagement(session: AsyncSession, event: WebhookEvent) -> None:
    captured = event.source_timestamp or event.received_at
    batch = parse_vouch(_json(event.body), captured)
    await ingest(session, event.brand_id, event.integration_id, batch)


def instagram_accounts(settings: dict[str, Any]) -> dict[str, str]:
    """IG user id -> roster handle, from `settings.instagram.accounts`."""
    raw = (settings.get("instagram") or {}).get("accounts") or {}
    return {str(k): str(v).strip().lstrip("@").lower() for k, v in raw.items() if v}


@register_handler(INSTAGRAM_SOURCE, [INSTAGRAM_TOPIC])
async def handle_instagram(session: AsyncSession, event: WebhookEvent) -> None:
    settings = (
        await session.execute(
            select(Integration.settings).where(Integration.id == event.integration_id)
        )
    ).scalar_one_or_none() or {}
    batch = parse_instagram(
        _json(event.body), instagram_accounts(settings), event.source_timestamp or event.received_at
    )
    await ingest(session, event.brand_id, event.integration_id, batch)
