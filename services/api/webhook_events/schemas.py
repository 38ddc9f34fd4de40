from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from services.api.schemas import ResponseModel
from shared.webhooks.status import EventStatus


class WebhookEvent(ResponseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    source: str = Field(examples=["shopify"])
    topic: str = Field(examples=["orders/create"])
    external_id: str = Field(description="The source's event or delivery id (the dedupe key).")
    status: EventStatus
    attempts: int = Field(description="Failed handler attempts so far.")
    last_error: str | None
    received_at: datetime
    source_timestamp: datetime | None = Field(
        description="The source's own event time (X-Shopify-Triggered-At, webhook-timestamp)."
    )
    handled_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a failed event is retried.")
    headers: dict[str, str] = Field(
        description="The request headers as received, minus signature headers."
    )


class WebhookEventDetail(WebhookEvent):
    body: str | None = Field(
        None, description="The raw body, only with `?include_body=true`; see body_encoding."
    )
    body_encoding: Literal["utf-8", "base64"] | None = None
