"""The engagement receivers.

`POST /webhooks/engagement/{integration_id}`: Vouch's engagement JSON (documented in
shared/engagement/payloads.py), signed per Standard Webhooks with the integration's `whsec_`
secret. It is one more source of the store receivers' intake (services/api/public/
webhooks.py): the same integration cache, signature check, group-committed inbox insert,
dedupe by `webhook-id`, queueing, sweeper and dead letters. Registering it is all it takes.

`GET|POST /webhooks/instagram/{integration_id}`: Instagram Graph webhooks for an engagement
integration. GET is Meta's subscription handshake (`hub.mode=subscribe`, `hub.verify_token`
checked against the integration's settings, `hub.challenge` echoed as text/plain). POST is
verified with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body under the Meta app secret in
the integration's settings) before anything is parsed, then stored in the inbox with the body
hash as its dedupe key, committed, and queued. Bad or missing signature: 401, nothing written;
unknown, disabled or non-engagement integration: 404. Low volume (Meta batches changes), so it
uses a plain transaction per delivery rather than the group commit of the store receivers.

Both answer like the store receivers: 200 `{"status": "accepted"|"duplicate", "id": ...}`.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

import orjson
import structlog
from fastapi import FastAPI, HTTPException
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.deps import AppState
from services.api.errors import problem_response
from shared.db.base import uuid7
from shared.engagement import instagram
from shared.integrations.kinds import Source
from shared.webhooks.intake import SOURCES, StandardSource
from shared.webhooks.queue import enqueue_events

log = structlog.get_logger(__name__)

ENGAGEMENT_TOPIC = "engagement"  # shared/engagement/handlers.py handles (engagement, engagement)
INSTAGRAM_TOPIC = "instagram"
INSTAGRAM_PREFIX = "/webhooks/instagram/"

# The Vouch engagement format rides the store receivers' intake as another Standard Webhooks
# source (its integration kind, `engagement`, is already allowed for it in kinds.py).
SOURCES.setdefault(Source.ENGAGEMENT.value, StandardSource(Source.ENGAGEMENT, ENGAGEMENT_TOPIC))

_INSERT = text(
    "INSERT INTO webhook_events (id, brand_id, integration_id, source, topic, external_id, "
    "source_timestamp, headers, body) VALUES (:id, :brand, :integration, 'instagram', "
    ":topic, :external, NULL, CAST(:headers AS jsonb), :body) "
    "ON CONFLICT (integration_id, external_id) DO NOTHING RETURNING id"
)
_EXISTING = text(
    "SELECT id FROM webhook_events WHERE integration_id = :integration AND external_id = :external"
)


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes = b"application/json"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _problem(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str, **kw: Any
) -> None:
    await problem_response(status, code, detail, **kw)(scope, receive, send)


async def _body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class InstagramReceiver:
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_id = scope["path"][len(INSTAGRAM_PREFIX) :].strip("/")
        try:
            integration_id = uuid.UUID(raw_id)
        except ValueError:
            await _problem(scope, receive, send, 404, "not-found", "No such webhook endpoint.")
            return
        state: AppState = scope["app"].state.vouch
        method = scope["method"]
        if method not in ("GET", "POST"):
            await _problem(
                scope,
                receive,
                send,
                405,
                "method-not-allowed",
                "Use GET (subscription handshake) or POST (deliveries).",
                headers={"allow": "GET, POST"},
            )
            return
        async with state.sessionmaker() as session:
            found = await instagram.load_receiver_view(session, integration_id)
        if found is None:
            await _problem(
                scope, receive, send, 404, "not-found", f"No instagram integration {raw_id}."
            )
            return
        brand_id, settings = found
        if method == "GET":
            await self._handshake(scope, receive, send, settings)
            return
        body = await _body(receive, state.settings.max_body_bytes)
        if body is None:
            await _problem(
                scope, receive, send, 413, "request-entity-too-large", "Request body too large."
            )
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not instagram.verify_signature(
            instagram.app_secret_of(settings), body, headers.get(instagram.SIGNATURE_HEADER)
        ):
            log.info("instagram_webhook_rejected", integration_id=raw_id)
            await _problem(
                scope,
                receive,
                send,
                401,
                "invalid-signature",
                "Invalid or missing X-Hub-Signature-256 (HMAC-SHA256 of the body under the "
                "app secret configured for this integration).",
                title="Invalid signature",
            )
            return
        external = instagram.dedupe_key(body)
        stored = {k: v for k, v in headers.items() if k != instagram.SIGNATURE_HEADER}
        async with state.sessionmaker() as session:
            new_id = (
                await session.execute(
                    _INSERT,
                    {
                        "id": uuid7(),
                        "brand": brand_id,
                        "integration": integration_id,
                        "topic": INSTAGRAM_TOPIC,
                        "external": external,
                        "headers": orjson.dumps(stored).decode(),
                        "body": body,
                    },
                )
            ).scalar_one_or_none()
            if new_id is None:
                event_id = (
                    await session.execute(
                        _EXISTING, {"integration": integration_id, "external": external}
                    )
                ).scalar_one()
            else:
                event_id = new_id
            await session.commit()
        if new_id is not None and state.queue is not None:
            try:
                await enqueue_events(state.queue, [new_id])
            except Exception as exc:  # committed; the inbox sweeper re-enqueues it
                log.error("instagram_enqueue_failed", error=repr(exc)[:300])
        status = "accepted" if new_id is not None else "duplicate"
        await _send(send, 200, orjson.dumps({"status": status, "id": str(event_id)}))

    async def _handshake(
        self, scope: Scope, receive: Receive, send: Send, settings: dict[str, Any]
    ) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        mode = (query.get("hub.mode") or [""])[0]
        token = (query.get("hub.verify_token") or [""])[0]
        challenge = (query.get("hub.challenge") or [""])[0]
        if mode != "subscribe" or not challenge or not instagram.verify_token_ok(settings, token):
            await _problem(
                scope,
                receive,
                send,
                403,
                "verification-failed",
                "hub.mode must be 'subscribe' and hub.verify_token the integration's verify token.",
                title="Forbidden",
            )
            return
        await _send(send, 200, challenge.encode()[:1000], b"text/plain; charset=utf-8")


class InstagramMiddleware:
    """Answers `/webhooks/instagram/...` before the store receivers' `/webhooks/` layer
    (which serves POST only); everything else passes on."""

    def __init__(self, app: ASGIApp, receiver: InstagramReceiver) -> None:
        self.app = app
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(INSTAGRAM_PREFIX):
            await self.receiver.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _documented_only() -> None:
    # Only reached when the receiving middleware is not mounted: never answer 2xx then.
    raise HTTPException(404, "No such webhook endpoint.")


def install(app: FastAPI) -> None:
    """Mount the Instagram receiver outermost: call after the store receivers' install (the
    last add_middleware wins the outer position). Also documents both contracts."""
    app.add_middleware(InstagramMiddleware, receiver=InstagramReceiver())
    common: dict[str, Any] = {"tags": ["public"], "include_in_schema": True}
    app.add_api_route(
        "/webhooks/engagement/{integration_id}",
        _documented_only,
        methods=["POST"],
        summary="Receive engagement data (Vouch format, Standard Webhooks)",
        description=(
            "Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
            "`webhook-signature: v1,<base64>`, secret `whsec_...`, +-5 minutes). Body: "
            "`{captured_at?, account?: {platform, handle, followers?}, posts: [{platform?, "
            "handle?, external_post_id, post_url?, posted_at?, content_type?, caption?, "
            "paid_partnership?, language?, metrics?: {captured_at?, likes?, comments?, shares?, "
            "saves?, views?, impressions?, reach?}, comments?: [{id, text, posted_at?}]}]}`. "
            "Every metric is optional. 200 `{status: accepted|duplicate, id}`, 401 bad "
            "signature (nothing stored), 404 unknown or disabled integration."
        ),
        operation_id="receive_engagement_webhook",
        **common,
    )
    app.add_api_route(
        "/webhooks/instagram/{integration_id}",
        _documented_only,
        methods=["POST"],
        summary="Receive Instagram Graph webhooks",
        description=(
            "`{object: 'instagram', entry: [...]}` with `X-Hub-Signature-256: sha256=<hex "
            "HMAC-SHA256(app secret, raw body)>`; fields comments, live_comments, mentions, "
            "story_insights. Configure with `PUT /v1/integrations/{id}/instagram`."
        ),
        operation_id="receive_instagram_webhook",
        **common,
    )
    app.add_api_route(
        "/webhooks/instagram/{integration_id}",
        _documented_only,
        methods=["GET"],
        summary="Instagram subscription handshake",
        description=(
            "`?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`: answers the "
            "challenge as text/plain when the token matches the integration's verify token, "
            "else 403."
        ),
        operation_id="verify_instagram_webhook",
        **common,
    )
