from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from services.api.schemas import RequestModel, ResponseModel
from shared.outbound.service import DeliveryStatus, EndpointStatus, EventType

_ENDPOINT_EXAMPLE = "0193a5c4-7a1e-7c3e-9d51-2f0b8e6a4c11"
_URL_DESCRIPTION = (
    "http(s) URL that receives the events. In production it must resolve to a public address."
)


class WebhookEndpointCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://payouts.example.com/hooks/vouch",
                    "event_types": ["payout.created", "payout.paid", "payout.failed"],
                    "description": "Payout provider",
                }
            ]
        }
    )

    url: str = Field(min_length=1, max_length=2048, description=_URL_DESCRIPTION)
    event_types: list[EventType] = Field(
        min_length=1,
        max_length=50,
        description="Event types to receive; `*` subscribes to every type (including ones "
        "added later).",
    )
    description: str | None = Field(None, max_length=500)


class WebhookEndpointUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_types": ["commission.created", "payout.paid"]}]}
    )

    url: str | None = Field(None, min_length=1, max_length=2048, description=_URL_DESCRIPTION)
    event_types: list[EventType] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=500)


class RotateSecret(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"grace_hours": 24}]})

    grace_hours: float | None = Field(
        None,
        ge=0,
        le=24 * 7,
        description="Hours the current secret keeps signing next to the new one "
        "(default: the server's `outbound_secret_grace_hours`; 0 stops it at once).",
    )


class WebhookEndpoint(ResponseModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    status: EndpointStatus
    disabled_reason: str | None = Field(
        description="manual, gone (the receiver answered 410) or failing (no successful "
        "delivery for the configured period)."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(
        description="Start of the current run of failed attempts (null after a success)."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret also signs (after a rotation)."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(
        description="`whsec_...` signing secret. Shown only here: on creation and rotation.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookDelivery(ResponseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header receivers dedupe on.")
    endpoint_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="Attempts in the current round (a resend starts over).")
    next_attempt_at: datetime = Field(
        description="When it is (re)tried; meaningful while pending or failed."
    )
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveryAttempt(ResponseModel):
    id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    started_at: datetime
    duration_ms: int
    status_code: int | None = Field(description="null: no response (timeout, refused, ...).")
    error: str | None
    response_excerpt: str | None = Field(description="First KiB of the response body.")
    retry_after_seconds: int | None


class Event(ResponseModel):
    id: uuid.UUID = Field(description="The `webhook-id` of every delivery of this event.")
    type: str = Field(examples=["payout.paid"])
    payload: dict[str, Any] = Field(description="Sent as `data` in the webhook body.")
    created_at: datetime
    dispatched_at: datetime | None = Field(
        description="When the worker fanned it out to the subscribed endpoints."
    )


class Resend(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{}, {"endpoint_id": _ENDPOINT_EXAMPLE}]}
    )

    endpoint_id: uuid.UUID | None = Field(
        None,
        description="Re-send to this endpoint only; default: every active endpoint subscribed "
        "to the event's type.",
    )
