"""WooCommerce webhooks (REST API v3 order shape) -> the normalised order shapes.

Topics order.created, order.updated and order.restored carry the whole order; a refund in
WooCommerce shows up as an order.updated whose `refunds` list grew (each {id, total: "-5.00"})
and, once the whole order is refunded, status `refunded`. order.deleted carries only the id
and changes nothing Vouch keeps.

Fields read: id, number, status, currency, date_created_gmt, date_modified_gmt, total,
discount_total, line_items[].total (after discounts, before tax: their sum is the subtotal
commissions are computed on), coupon_lines[].code, meta_data (the click id under `_vclid` /
`vclid`; WooCommerce's own order-attribution keys `_wc_order_attribution_session_entry` for
the landing URL and `_wc_order_attribution_referrer`), customer_id, billing.email,
customer_ip_address, customer_user_agent, refunds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from shared.models.orders import OrderStatus
from shared.orders.money import MoneyError, exponent, normalize_currency, to_minor
from shared.orders.types import (
    CLICK_ID_KEYS,
    Ignored,
    OrderData,
    OrderEvent,
    Parsed,
    ParseError,
    RefundData,
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

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
TOPICS = ORDER_TOPICS | {"order.deleted"}

_STATUS: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "checkout-draft": OrderStatus.PENDING,
    "processing": OrderStatus.PAID,
    "completed": OrderStatus.PAID,
    "refunded": OrderStatus.REFUNDED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
}
LANDING_KEY = "_wc_order_attribution_session_entry"
REFERRER_KEY = "_wc_order_attribution_referrer"
USER_AGENT_KEY = "_wc_order_attribution_user_agent"


def parse(topic: str, body: Any, *, integration_id: object, event_time: datetime) -> list[Parsed]:
    if not isinstance(body, dict):
        raise ParseError("body: expected a JSON object")
    if topic in ORDER_TOPICS:
        return [OrderEvent(parse_order(body, integration_id=integration_id, event_time=event_time))]
    return [Ignored(f"WooCommerce topic {topic!r} carries nothing Vouch uses")]


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for item in body.get("meta_data") or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            meta[item["key"].strip().lower()] = item.get("value")
    return meta


def parse_order(body: dict[str, Any], *, integration_id: object, event_time: datetime) -> OrderData:
    try:
        order_id = as_id(require(body, "id"), field="id")
        currency = normalize_currency(require(body, "currency"))
        total = to_minor(require(body, "total"), currency, field="total")
        discount = to_minor(body.get("discount_total") or "0", currency, field="discount_total")
        items = [li for li in body.get("line_items") or [] if isinstance(li, dict)]
        subtotal = sum(
            to_minor(li.get("total") or "0", currency, field="line_items.total") for li in items
        )
        line_items = [
            {
                "external_id": str(li["id"]) if li.get("id") is not None else None,
                "product_id": str(li["product_id"]) if li.get("product_id") else None,
                "variant_id": str(li["variation_id"]) if li.get("variation_id") else None,
                "sku": clean_text(li.get("sku"), 256),
                "title": clean_text(li.get("name"), 512),
                "quantity": int(li.get("quantity") or 0),
                "price_minor": _price_minor(li.get("price"), currency),
            }
            for li in items
        ]
        refunds = tuple(
            RefundData(
                external_order_id=order_id,
                external_refund_id=as_id(r.get("id"), field="refunds.id"),
                amount_minor=abs(to_minor(r.get("total") or "0", currency, field="refunds.total")),
                currency=currency,
                refunded_at=None,
            )
            for r in body.get("refunds") or []
            if isinstance(r, dict)
        )
    except MoneyError as exc:
        raise ParseError(str(exc)) from exc

    created = body.get("date_created_gmt") or require(body, "date_created")
    placed_at = parse_time(created, field="date_created_gmt")
    updated_at = (
        optional_time(
            body.get("date_modified_gmt") or body.get("date_modified"), field="date_modified_gmt"
        )
        or event_time
    )
    source_status = clean_text(body.get("status"), 64)
    status = _STATUS.get(source_status or "", OrderStatus.PENDING)
    cancelled_at = updated_at if status == OrderStatus.CANCELLED else None

    meta = _meta(body)
    landing = clean_text(meta.get(LANDING_KEY))
    click_id = None
    for key in CLICK_ID_KEYS:
        click_id = click_id or clean_click_id(meta.get(key))
    click_id = click_id or click_id_from_url(landing)
    codes = [
        str(c.get("code"))
        for c in body.get("coupon_lines") or []
        if isinstance(c, dict) and c.get("code")
    ]
    billing = body.get("billing") if isinstance(body.get("billing"), dict) else {}
    assert isinstance(billing, dict)
    ip = clean_text(body.get("customer_ip_address"), 64)
    agent = clean_text(body.get("customer_user_agent") or meta.get(USER_AGENT_KEY), 1024)
    return OrderData(
        external_order_id=order_id,
        order_number=clean_text(str(body.get("number") or ""), 64),
        currency=currency,
        subtotal_minor=max(subtotal, 0),
        discount_minor=max(discount, 0),
        total_minor=max(total, 0),
        status=status,
        source_status=source_status,
        placed_at=placed_at,
        updated_at=updated_at,
        cancelled_at=cancelled_at,
        discount_codes=dedupe_codes(codes),
        landing_url=landing,
        referrer=clean_text(meta.get(REFERRER_KEY)),
        click_id=click_id,
        customer_hash=customer_hash(integration_id, body.get("customer_id")),
        email_hash=email_hash(billing.get("email")),
        visitor=Visitor(ip, agent) if ip and agent else None,
        line_items=line_items,
        refunds=refunds,
    )


def _price_minor(value: object, currency: str) -> int:
    # WooCommerce computes a line's unit `price` by division (a JSON number such as 6.333333),
    # so it is informational only: rounded half-even to the minor unit, never used for money
    # that matters (the line `total` is).
    try:
        amount = Decimal(str(value if value is not None else "0"))
        return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        return 0
