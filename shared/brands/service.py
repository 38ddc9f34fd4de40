"""Brands (tenants) and API keys: creation, verification, revocation."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from shared.brands.repository import (
    ApiKeyRepository,
    BrandNotFound,
    BrandRepository,
    find_active_key,
    touch_key,
)
from shared.errors import Forbidden, InvalidInput, Unauthorized
from shared.models import ApiKey, Brand

KEY_PREFIX = "vk_live_"
VISIBLE_CHARS = 6


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the brand every query is scoped to, and what the key may do."""

    brand_id: uuid.UUID
    key_id: uuid.UUID
    scopes: frozenset[str]

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope.", required_scope=str(scope))


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the whole key; shown once, never stored


def hash_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def validate_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(["body", "timezone"], f"Unknown IANA time zone {value!r}.") from exc
    return value


async def create_brand(
    session: AsyncSession,
    name: str,
    *,
    default_currency: str = "USD",
    timezone: str = "UTC",
    allowed_domains: list[str] | None = None,
) -> Brand:
    brand = Brand(
        name=name,
        default_currency=default_currency.upper(),
        timezone=validate_timezone(timezone),
        allowed_domains=allowed_domains or [],
    )
    session.add(brand)
    await session.flush()
    return brand


async def issue_key(
    session: AsyncSession,
    brand_id: uuid.UUID,
    *,
    name: str = "default",
    scopes: list[str] | None = None,
    created_by: Principal | None = None,
) -> IssuedKey:
    wanted = sorted(set(scopes or [s.value for s in ALL_SCOPES]))
    unknown = [s for s in wanted if s not in {x.value for x in Scope}]
    if unknown:
        raise InvalidInput(["body", "scopes"], f"Unknown scope(s): {', '.join(unknown)}.")
    if created_by is not None and not set(wanted) <= created_by.scopes:
        raise Forbidden("A key cannot grant scopes it does not hold itself.")
    if await BrandRepository(session).get(brand_id) is None:
        raise BrandNotFound(detail=f"No brand with id {brand_id}.")
    secret = KEY_PREFIX + secrets.token_urlsafe(24)
    key = ApiKey(
        brand_id=brand_id,
        name=name,
        prefix=secret[: len(KEY_PREFIX) + VISIBLE_CHARS],
        key_hash=hash_key(secret),
        scopes=wanted,
        created_by_key_id=created_by.key_id if created_by else None,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, secret=secret)


async def authenticate(session: AsyncSession, secret: str | None, touch_seconds: int) -> Principal:
    if not secret or not secret.startswith(KEY_PREFIX):
        raise Unauthorized(
            "Missing or malformed API key: send 'Authorization: Bearer vk_live_...'."
        )
    found = await find_active_key(session, hash_key(secret))
    if found is None:
        raise Unauthorized("Unknown or revoked API key.")
    key, _brand = found
    now = datetime.now(UTC)
    if key.last_used_at is None or key.last_used_at < now - timedelta(seconds=touch_seconds):
        await touch_key(session, key.id, now, now - timedelta(seconds=touch_seconds))
    return Principal(brand_id=key.brand_id, key_id=key.id, scopes=frozenset(key.scopes))


async def revoke_key(session: AsyncSession, brand_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = await ApiKeyRepository(session, brand_id).get_or_404(key_id, for_update=True)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key


async def revoke_key_any_brand(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """Operator path (CLI): revoke by id without a brand context."""
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise ApiKeyRepository.not_found(detail=f"No API key with id {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(value: str) -> str:
    """A bare host name in ASCII (IDNA) lower case: `Shop.Example.com.` -> `shop.example.com`.

    Schemes, ports, paths, user info and wildcards are refused: the allow-list is what keeps
    tracking links from becoming open redirects, so it holds host names and nothing else.
    """
    host = value.strip().lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{value!r} is not a valid host name") from exc
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(x) for x in labels):
        raise ValueError(f"{value!r} is not a bare host name such as shop.example.com")
    return host


def update_brand(
    brand: Brand,
    *,
    name: str | None = None,
    default_currency: str | None = None,
    timezone: str | None = None,
    allowed_domains: list[str] | None = None,
) -> Brand:
    if name is not None:
        brand.name = name
    if default_currency is not None:
        brand.default_currency = default_currency.upper()
    if timezone is not None:
        brand.timezone = validate_timezone(timezone)
    if allowed_domains is not None:
        normalized: list[str] = []
        for i, raw in enumerate(allowed_domains):
            try:
                host = normalize_domain(raw)
            except ValueError as exc:
                raise InvalidInput(["body", "allowed_domains", i], str(exc)) from exc
            if host not in normalized:
                normalized.append(host)
        brand.allowed_domains = normalized
    return brand
