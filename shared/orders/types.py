"""One normalised shape for what every store sends, whatever its format.

The parsers (shopify.py, woocommerce.py, vouch.py) turn a webhook body into a list of these;
the service never looks at a source's own field names. Money is in minor units of
`currency`, times are timezone-aware, and personal data is already reduced to hashes:
`email_hash` = sha256(lower(trim(email))), `customer_hash` = sha256 of the store's customer id
scoped to its integration. The browser IP and user agent (`visitor`) are kept only in memory,
for last-click matching, and never stored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.models.orders import OrderStatus

CLICK_ID_PARAM = "vclid"
# Names under which a storefront snippet may carry the click id into the order (a cookie set
# on landing, copied into Shopify note attributes / WooCommerce order meta at checkout).
CLICK_ID_KEYS = frozenset({"vclid", "_vclid", "vouch_click_id", "_vouch_click_id"})


class ParseError(ValueError):
    """The payload is not a valid order/refund of its source: retrying will not help."""


@dataclass(frozen=True, slots=True)
class RefundData:
    external_order_id: str
    external_refund_id: str
    amount_minor: int
    currency: str | None
    refunded_at: datetime | None
    line_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Visitor:
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class OrderData:
    external_order_id: str
    order_number: str | None
    currency: str
    subtotal_minor: int  # line items after discounts, before shipping (and tax, where known)
    discount_minor: int
    total_minor: int
    status: OrderStatus  # the source's status, normalised (refunds recomputed later)
    source_status: str | None
    placed_at: datetime
    updated_at: datetime  # the source's timestamp of this version of the order
    cancelled_at: datetime | None
    discount_codes: tuple[str, ...]
    landing_url: str | None
    referrer: str | None
    click_id: str | None
    customer_hash: str | None
    email_hash: str | None
    visitor: Visitor | None
    line_items: list[dict[str, Any]]
    refunds: tuple[RefundData, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order: OrderData


@dataclass(frozen=True, slots=True)
class RefundEvent:
    refund: RefundData


@dataclass(frozen=True, slots=True)
class RedactCustomer:
    """Erase one customer's personal data from this store's orders."""

    customer_hash: str | None
    email_hash: str | None
    external_order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RedactShop:
    """Erase personal data from every order of this store."""


@dataclass(frozen=True, slots=True)
class DataRequest:
    """A customer asked what the store holds on them: Vouch records which orders it has."""

    request_id: str | None
    customer_hash: str | None
    email_hash: str | None
    external_order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


Parsed = OrderEvent | RefundEvent | RedactCustomer | RedactShop | DataRequest | Ignored


# --------------------------------------------------------------------------- helpers
def email_hash(email: object) -> str | None:
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def customer_hash(integration_id: object, customer_id: object) -> str | None:
    if customer_id is None or customer_id == "" or customer_id == 0 or customer_id == "0":
        return None
    raw = f"customer:{integration_id}:{customer_id}"
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_time(value: object, *, field: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{field}: expected an ISO 8601 time, got {value!r}")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParseError(f"{field}: {value!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_time(value: object, *, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    return parse_time(value, field=field)


def require(body: dict[str, Any], key: str, *, where: str = "") -> Any:
    value = body.get(key)
    if value is None or value == "":
        raise ParseError(f"{where}{key}: missing")
    return value


def as_id(value: object, *, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise ParseError(f"{field}: expected an id, got {value!r}")
    return str(value).strip()


def clean_text(value: object, limit: int = 2048) -> str | None:
    """A trimmed, bounded string, or None. NUL characters are dropped: PostgreSQL text and
    JSONB cannot hold them, and one in a product title must not make the order unstorable."""
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:limit] if value else None


_CLICK_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def click_id_from_url(url: str | None) -> str | None:
    """The `vclid` query parameter of a landing URL (absolute or a path, as Shopify's
    `landing_site` is)."""
    if not url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    values = parse_qs(query).get(CLICK_ID_PARAM)
    if not values:
        return None
    return clean_click_id(values[-1])


def clean_click_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _CLICK_ID_SHAPE.match(value) else None


def dedupe_codes(codes: list[str]) -> tuple[str, ...]:
    """Codes as the shopper typed them, blanks dropped, case-insensitive duplicates once."""
    seen: set[str] = set()
    out: list[str] = []
    for code in codes:
        code = code.replace("\x00", "").strip()[:256]
        if code and code.lower() not in seen:
            seen.add(code.lower())
            out.append(code)
    return tuple(out)
