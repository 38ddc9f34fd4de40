"""Integrations: create (with a signing secret shown once), update, rotate, disable, delete.

Signing secrets are stored as they are (verifying an HMAC needs the secret itself) and leave
the API only in the answer to the call that made them: create and rotate-secret.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.brands.repository import BrandRepository
from shared.brands.service import normalize_domain
from shared.errors import Conflict, InvalidInput, InvalidTransition
from shared.integrations.kinds import SCHEME_BY_KIND, IntegrationKind, IntegrationStatus
from shared.integrations.repository import IntegrationNotFound, IntegrationRepository
from shared.integrations.signatures import Scheme, key_bytes, new_secret
from shared.models import Integration

MIN_SECRET_LENGTH = 16

# to-status -> the statuses it may be reached from
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    IntegrationStatus.ACTIVE.value: (IntegrationStatus.DISABLED.value,),
    IntegrationStatus.DISABLED.value: (IntegrationStatus.ACTIVE.value,),
}


class IllegalIntegrationTransition(InvalidTransition):
    code = "illegal_transition"
    title = "Illegal status transition"
    resource = "integration"


class IntegrationHasEvents(Conflict):
    code = "integration_has_events"
    title = "Integration has received webhooks"


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    integration: Integration
    secret: str  # shown once


def scheme_for(kind: str) -> Scheme:
    return SCHEME_BY_KIND[IntegrationKind(kind)]


def _secret(kind: str, given: str | None, field: str) -> str:
    """A new secret, or the caller's own (e.g. a Shopify app's client secret, which Shopify
    signs with and which cannot be chosen), checked for the kind's format."""
    scheme = scheme_for(kind)
    if given is None:
        return new_secret(scheme)
    if len(given) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            ["body", field], f"A signing secret needs at least {MIN_SECRET_LENGTH} characters."
        )
    if scheme is Scheme.STANDARD:
        try:
            key_bytes(scheme, given)
        except ValueError as exc:
            raise InvalidInput(
                ["body", field],
                f"Standard Webhooks secrets are whsec_ + base64 of 16+ random bytes: {exc}.",
            ) from exc
    return given


def _domain(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_domain(value)
    except ValueError as exc:
        raise InvalidInput(["body", "shop_domain"], str(exc)) from exc


async def create_integration(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    kind: str,
    name: str,
    shop_domain: str | None = None,
    currency: str | None = None,
    signing_secret: str | None = None,
) -> IssuedSecret:
    if currency is None:
        brand = await BrandRepository(session).get(brand_id)
        assert brand is not None  # the caller's key belongs to it
        currency = brand.default_currency
    secret = _secret(kind, signing_secret, "signing_secret")
    integration = Integration(
        brand_id=brand_id,
        kind=IntegrationKind(kind).value,
        name=name,
        shop_domain=_domain(shop_domain),
        currency=currency.upper(),
        status=IntegrationStatus.ACTIVE.value,
        signing_secret=secret,
    )
    session.add(integration)
    await session.flush()
    await session.refresh(integration)
    return IssuedSecret(integration, secret)


async def update_integration(
    session: AsyncSession,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID,
    *,
    name: str | None = None,
    shop_domain: str | None = None,
    currency: str | None = None,
    clear_shop_domain: bool = False,
) -> Integration:
    integration = await IntegrationRepository(session, brand_id).get_or_404(
        integration_id, for_update=True
    )
    if name is not None:
        integration.name = name
    if shop_domain is not None:
        integration.shop_domain = _domain(shop_domain)
    elif clear_shop_domain:
        integration.shop_domain = None
    if currency is not None:
        integration.currency = currency.upper()
    await session.flush()
    await session.refresh(integration)
    return integration


async def rotate_secret(
    session: AsyncSession,
    brand_id: uuid.UUID,
    integration_id: uuid.UUID,
    *,
    grace: timedelta,
    signing_secret: str | None = None,
    now: datetime | None = None,
) -> IssuedSecret:
    """A new current secret; the old one keeps verifying for `grace` (a secret still in an
    earlier rotation's grace period stops now: at most two secrets verify at a time)."""
    integration = await IntegrationRepository(session, brand_id).get_or_404(
        integration_id, for_update=True
    )
    secret = _secret(integration.kind, signing_secret, "signing_secret")
    now = now or datetime.now(UTC)
    if grace > timedelta(0):
        integration.previous_secret = integration.signing_secret
        integration.previous_secret_expires_at = now + grace
    else:
        integration.previous_secret = None
        integration.previous_secret_expires_at = None
    integration.signing_secret = secret
    await session.flush()
    await session.refresh(integration)
    return IssuedSecret(integration, secret)


async def set_status(
    session: AsyncSession, brand_id: uuid.UUID, integration_id: uuid.UUID, to: str
) -> Integration:
    """Disable or enable, enforced in SQL: two racing calls cannot both win."""
    repo = IntegrationRepository(session, brand_id)
    row = await repo.transition(integration_id, to, ALLOWED_FROM[to])
    if row is not None:
        return row
    current = await repo.current_status(integration_id)
    if current is None:
        raise IntegrationNotFound(detail=f"No integration with id {integration_id}.")
    raise IllegalIntegrationTransition(current, to)


async def delete_integration(
    session: AsyncSession, brand_id: uuid.UUID, integration_id: uuid.UUID
) -> None:
    """Only an integration that never received a webhook can go: its events (and the orders
    parsed from them) are the audit trail. Disable it instead."""
    repo = IntegrationRepository(session, brand_id)
    integration = await repo.get_or_404(integration_id, for_update=True)
    if await repo.has_events(integration_id):
        raise IntegrationHasEvents(
            "This integration has received webhooks; disable it instead of deleting it."
        )
    try:
        async with session.begin_nested():
            await session.delete(integration)
    except IntegrityError as exc:  # rows of other tables still reference it
        raise IntegrationHasEvents(
            "Other records reference this integration; disable it instead of deleting it."
        ) from exc
