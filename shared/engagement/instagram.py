"""Instagram Graph webhooks: the integration settings they need and their signature.

Meta signs each delivery with the *app secret* of the brand's Meta app (which Meta issues,
so Vouch cannot generate it): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw
body)>`. Subscribing a callback URL starts with a GET handshake, `hub.mode=subscribe&
hub.verify_token=<token the brand chose>&hub.challenge=<n>`, answered with the challenge.
Both live in the engagement integration's settings JSON:

    settings.instagram = {"app_secret": "...", "verify_token": "...",
                          "accounts": {"<IG user id>": "<roster handle>"}}

Deliveries carry no event id; a retry repeats the same body, so the dedupe key is the body's
SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engagement.payloads import normalise_handle
from shared.errors import Conflict
from shared.integrations.repository import IntegrationRepository
from shared.models import Integration

SIGNATURE_HEADER = "x-hub-signature-256"


class NotEngagementIntegration(Conflict):
    code = "not_engagement_integration"
    title = "Not an engagement integration"


def verify_signature(app_secret: str | None, body: bytes, header: str | None) -> bool:
    """Constant-time check of `sha256=<hex>` against HMAC-SHA256(app secret, raw body)."""
    if not app_secret or not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("latin-1"))


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends (for tests and tools)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def dedupe_key(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def verify_token_ok(settings: dict[str, Any], token: str | None) -> bool:
    expected = (settings.get("instagram") or {}).get("verify_token")
    if not expected or not token:
        return False
    return hmac.compare_digest(str(expected).encode(), token.encode())


def app_secret_of(settings: dict[str, Any]) -> str | None:
    value = (settings.get("instagram") or {}).get("app_secret")
    return str(value) if value else None


async def load_receiver_view(
    session: AsyncSession, integration_id: uuid.UUID
) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """(brand id, settings) of an active engagement integration, else None."""
    row = (
        await session.execute(
            select(Integration.brand_id, Integration.settings).where(
                Integration.id == integration_id,
                Integration.kind == "engagement",
                Integration.status == "active",
            )
        )
    ).first()
    return (row.brand_id, dict(row.settings or {})) if row is not None else None


async def configure(
    session: AsyncSession,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID,
    *,
    app_secret: str | None,
    verify_token: str | None,
    accounts: dict[str, str] | None,
) -> Integration:
    """Set the Instagram part of an engagement integration's settings (fields left None
    keep their value)."""
    integration = await IntegrationRepository(session, brand_id).get_or_404(
        integration_id, for_update=True
    )
    if integration.kind != "engagement":
        raise NotEngagementIntegration(
            f"Integration {integration_id} is a {integration.kind} integration; Instagram "
            "webhooks go to an engagement integration.",
            kind=integration.kind,
        )
    settings = dict(integration.settings or {})
    current = dict(settings.get("instagram") or {})
    if app_secret is not None:
        current["app_secret"] = app_secret
    if verify_token is not None:
        current["verify_token"] = verify_token
    if accounts is not None:
        current["accounts"] = {str(k): normalise_handle(v) for k, v in accounts.items()}
    settings["instagram"] = current
    integration.settings = settings
    await session.flush()
    return integration
