"""Vouch's own order format (`POST /webhooks/orders/{integration_id}`, Standard Webhooks
signed), for a store on any platform -> the normalised order shapes.

The body is an envelope (`data` may also be sent bare, with the type taken from the topic):

    {"type": "order.created" | "order.updated" | "order.cancelled" | "refund.created",
     "timestamp": "2026-11-23T10:00:00Z",
     "data": {...}}

Order `data`:

    {"id": "1001",                          required, the store's order id
     "number": "#1001",
     "placed_at": "2026-11-23T09:58:00Z",   required
     "updated_at": "2026-11-23T10:00:00Z",  the version's time; default: the envelope's
     "currency": "EUR",                     required, ISO 4217
     "subtotal": "90.00",                   required, line items after discounts
     "discounts": "10.00",
     "total": "99.00",                      required, what the customer paid
     "status": "paid",                      pending | paid | partially_refunded | refunded
                                            | cancelled (default paid)
     "cancelled_at": null,
     "discount_codes": ["ANNA10"],
     "landing_url": "https://shop.example.com/p?vclid=...",
     "referrer": "https://instagram.com/",
     "click_id": "...",                     the vclid, if the store kept it elsewhere
     "customer": {"id": "c_42", "email_hash": "<sha256 hex of the trimmed, lower-cased
                  e-mail>"}                 or "email": hashed on arrival, never stored
     "client": {"ip": "...", "user_agent": "..."}   optional, for last-click matching;
                                            used in memory, never stored
     "line_items": [{"id": "1", "sku": "TEE-M", "title": "Tee", "quantity": 1,
                     "price": "45.00"}],
     "refunds": [{"id": "r1", "amount": "10.00", "created_at": "..."}]}

Amounts are decimal strings in major units ("19.99"; "1000" for JPY); every amount may
instead be given as an integer in minor units under the same name + `_minor`
(`"subtotal_minor": 9000`). Refund `data`: {"order_id", "id", "amount", "currency",
"created_at"}.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.models.orders import OrderStatus
from shared.orders.money import MoneyError, normalize_currency, to_minor
from shared.orders.types import (
    Ignored,
    OrderData,
    OrderEvent,
    Parsed,
    ParseError,
    RefundData,
    RefundEvent,
    Visitor,
    as_id,
    clean_click_id,
    clean_text,
    click_id_from_url,
    customer_hash,
    dedupe_codes,
    email_hash,
    optional_time,
    parse_time,
    require,
)

ORDER_TYPES = frozenset({"order.created", "order.updated", "order.cancelled", "order"})
REFUND_TYPES = frozenset({"refund.created", "refund"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def parse(topic: str, body: Any, *, integration_id: object, event_time: datetime) -> list[Parsed]:
    if not isinstance(body, dict):
        raise ParseError("body: expected a JSON object")
    if isinstance(body.get("data"), dict):
        kind = str(body.get("type") or topic)
        data: dict[str, Any] = body["data"]
        stamp = optional_time(body.get("timestamp"), field="timestamp") or event_time
    else:
        kind, data, stamp = topic, body, event_time
    if kind in ORDER_TYPES:
        return [OrderEvent(parse_order(data, integration_id=integration_id, event_time=stamp))]
    if kind in REFUND_TYPES:
        order_id = as_id(require(data, "order_id"), field="data.order_id")
        return [RefundEvent(parse_refund(data, order_id, None))]
    return [Ignored(f"Event type {kind!r} carries nothing Vouch uses")]


def _amount(data: dict[str, Any], name: str, currency: str, *, default: str | None = None) -> int:
    minor = data.get(f"{name}_minor")
    if minor is not None:
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise ParseError(f"data.{name}_minor: expected an integer")
        return minor
    value = data.get(name, default)
    if value is None:
        raise ParseError(f"data.{name}: missing")
    return to_minor(value, currency, field=f"data.{name}")


def parse_order(data: dict[str, Any], *, integration_id: object, event_time: datetime) -> OrderData:
    order_id = as_id(require(data, "id", where="data."), field="data.id")
    try:
        currency = normalize_currency(require(data, "currency", where="data."))
        subtotal = _amount(data, "subtotal", currency)
        discount = _amount(data, "discounts", currency, default="0")
        total = _amount(data, "total", currency)
        line_items = [
            {
                "external_id": str(li["id"]) if li.get("id") is not None else None,
                "product_id": str(li["product_id"]) if li.get("product_id") else None,
                "variant_id": None,
                "sku": clean_text(li.get("sku"), 256),
                "title": clean_text(li.get("title"), 512),
                "quantity": int(li.get("quantity") or 0),
                "price_minor": _amount(li, "price", currency, default="0"),
            }
            for li in data.get("line_items") or []
            if isinstance(li, dict)
        ]
        refunds = tuple(
            parse_refund(r, order_id, currency)
            for r in data.get("refunds") or []
            if isinstance(r, dict)
        )
    except MoneyError as exc:
        raise ParseError(str(exc)) from exc
    raw_status = clean_text(data.get("status"), 64) or "paid"
    try:
        status = OrderStatus(raw_status)
    except ValueError as exc:
        raise ParseError(
            f"data.status: {raw_status!r} is not one of {', '.join(s.value for s in OrderStatus)}"
        ) from exc
    cancelled_at = optional_time(data.get("cancelled_at"), field="data.cancelled_at")
    updated_at = optional_time(data.get("updated_at"), field="data.updated_at") or event_time
    if cancelled_at is not None:
        status = OrderStatus.CANCELLED
    elif status == OrderStatus.CANCELLED:
        cancelled_at = updated_at
    codes = data.get("discount_codes") or []
    if not isinstance(codes, list):
        raise ParseError("data.discount_codes: expected a list of strings")
    landing = clean_text(data.get("landing_url"))
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    given_hash = customer.get("email_hash")
    if given_hash is not None and not (
        isinstance(given_hash, str) and _HEX64.match(given_hash.lower())
    ):
        raise ParseError("data.customer.email_hash: expected 64 hex characters (SHA-256)")
    client = data.get("client") if isinstance(data.get("client"), dict) else {}
    assert isinstance(client, dict)
    ip, agent = clean_text(client.get("ip"), 64), clean_text(client.get("user_agent"), 1024)
    return OrderData(
        external_order_id=order_id,
        order_number=clean_text(data.get("number"), 64),
        currency=currency,
        subtotal_minor=max(subtotal, 0),
        discount_minor=max(discount, 0),
        total_minor=max(total, 0),
        status=status,
        source_status=raw_status,
        placed_at=parse_time(data.get("placed_at"), field="data.placed_at"),
        updated_at=updated_at,
        cancelled_at=cancelled_at,
        discount_codes=dedupe_codes([str(c) for c in codes if isinstance(c, str | int)]),
        landing_url=landing,
        referrer=clean_text(data.get("referrer")),
        click_id=clean_click_id(data.get("click_id")) or click_id_from_url(landing),
        customer_hash=customer_hash(integration_id, customer.get("id")),
        email_hash=given_hash.lower()
        if isinstance(given_hash, str)
        else email_hash(customer.get("email")),
        visitor=Visitor(ip, agent) if ip and agent else None,
        line_items=line_items,
        refunds=refunds,
    )


def parse_refund(data: dict[str, Any], order_id: str, currency: str | None) -> RefundData:
    refund_id = as_id(require(data, "id", where="refund."), field="refund.id")
    try:
        currency = normalize_currency(data.get("currency") or currency or "")
        amount = _amount(data, "amount", currency)
    except MoneyError as exc:
        raise ParseError(str(exc)) from exc
    if amount < 0:
        raise ParseError("refund.amount: must not be negative")
    return RefundData(
        external_order_id=order_id,
        external_refund_id=refund_id,
        amount_minor=amount,
        currency=currency,
        refunded_at=optional_time(data.get("created_at"), field="refund.created_at"),
    )
