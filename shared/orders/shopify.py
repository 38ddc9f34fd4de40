"""Shopify webhooks -> the normalised order shapes.

Order topics (orders/create, orders/paid, orders/updated, orders/cancelled, orders/fulfilled,
orders/partially_fulfilled) carry the REST Order resource; refunds/create the Refund resource;
customers/redact, shop/redact and customers/data_request the compliance payloads.

Fields read from an Order: id, name, currency, subtotal_price (the original subtotal after
discounts; current_subtotal_price, which Shopify lowers on refunds and edits, only when
subtotal_price is absent, because refunds are counted separately from their own records),
total_price, total_discounts, financial_status, cancelled_at, created_at / processed_at,
updated_at, discount_codes, landing_site, referring_site, note_attributes, customer, email,
browser_ip, client_details.user_agent, line_items and refunds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.models.orders import OrderStatus
from shared.orders.money import MoneyError, normalize_currency, to_minor
from shared.orders.types import (
    CLICK_ID_KEYS,
    DataRequest,
    Ignored,
    OrderData,
    OrderEvent,
    Parsed,
    ParseError,
    RedactCustomer,
    RedactShop,
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

ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
    }
)
TOPICS = ORDER_TOPICS | {
    "refunds/create",
    "customers/redact",
    "shop/redact",
    "customers/data_request",
}

_FINANCIAL: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "authorized": OrderStatus.PENDING,
    "partially_paid": OrderStatus.PENDING,
    "paid": OrderStatus.PAID,
    "partially_refunded": OrderStatus.PARTIALLY_REFUNDED,
    "refunded": OrderStatus.REFUNDED,
    "voided": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
}


def parse(topic: str, body: Any, *, integration_id: object, event_time: datetime) -> list[Parsed]:
    if not isinstance(body, dict):
        raise ParseError("body: expected a JSON object")
    if topic in ORDER_TOPICS:
        return [OrderEvent(parse_order(body, integration_id=integration_id, event_time=event_time))]
    if topic == "refunds/create":
        order_id = as_id(require(body, "order_id"), field="order_id")
        return [RefundEvent(parse_refund(body, order_id))]
    if topic == "customers/redact":
        customer = body.get("customer") or {}
        return [
            RedactCustomer(
                customer_hash=customer_hash(integration_id, customer.get("id")),
                email_hash=email_hash(customer.get("email")),
                external_order_ids=_ids(body.get("orders_to_redact")),
            )
        ]
    if topic == "shop/redact":
        return [RedactShop()]
    if topic == "customers/data_request":
        customer = body.get("customer") or {}
        request = body.get("data_request") or {}
        return [
            DataRequest(
                request_id=str(request["id"]) if request.get("id") is not None else None,
                customer_hash=customer_hash(integration_id, customer.get("id")),
                email_hash=email_hash(customer.get("email")),
                external_order_ids=_ids(body.get("orders_requested")),
            )
        ]
    return [Ignored(f"Shopify topic {topic!r} carries nothing Vouch uses")]


def _ids(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(str(v) for v in values if isinstance(v, str | int) and not isinstance(v, bool))


def parse_order(body: dict[str, Any], *, integration_id: object, event_time: datetime) -> OrderData:
    try:
        order_id = as_id(require(body, "id"), field="id")
        currency = normalize_currency(require(body, "currency"))
        subtotal_raw = body.get("subtotal_price")
        if subtotal_raw is None:
            subtotal_raw = require(body, "current_subtotal_price")
        subtotal = to_minor(subtotal_raw, currency, field="subtotal_price")
        total = to_minor(require(body, "total_price"), currency, field="total_price")
        discount = to_minor(body.get("total_discounts") or "0", currency, field="total_discounts")
        refunds = tuple(
            parse_refund(r, order_id, currency=currency)
            for r in body.get("refunds") or []
            if isinstance(r, dict)
        )
        line_items = [_line_item(li, currency) for li in body.get("line_items") or []]
    except MoneyError as exc:
        raise ParseError(str(exc)) from exc

    placed_at = parse_time(
        body.get("processed_at") or require(body, "created_at"), field="created_at"
    )
    updated_at = optional_time(body.get("updated_at"), field="updated_at") or event_time
    cancelled_at = optional_time(body.get("cancelled_at"), field="cancelled_at")
    financial = clean_text(body.get("financial_status"), 64)
    status = _FINANCIAL.get(financial or "", OrderStatus.PENDING)
    if cancelled_at is not None:
        status = OrderStatus.CANCELLED

    codes = [
        str(d.get("code"))
        for d in body.get("discount_codes") or []
        if isinstance(d, dict) and d.get("code")
    ]
    landing = clean_text(body.get("landing_site"))
    click_id = _note_click_id(body.get("note_attributes")) or click_id_from_url(landing)
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    email = body.get("email") or body.get("contact_email") or customer.get("email")
    client = body.get("client_details") if isinstance(body.get("client_details"), dict) else {}
    assert isinstance(client, dict)
    ip = clean_text(body.get("browser_ip") or client.get("browser_ip"), 64)
    agent = clean_text(client.get("user_agent"), 1024)
    return OrderData(
        external_order_id=order_id,
        order_number=clean_text(body.get("name"), 64)
        or clean_text(str(body.get("order_number") or ""), 64),
        currency=currency,
        subtotal_minor=max(subtotal, 0),
        discount_minor=max(discount, 0),
        total_minor=max(total, 0),
        status=status,
        source_status="cancelled" if cancelled_at else financial,
        placed_at=placed_at,
        updated_at=updated_at,
        cancelled_at=cancelled_at,
        discount_codes=dedupe_codes(codes),
        landing_url=landing,
        referrer=clean_text(body.get("referring_site")),
        click_id=click_id,
        customer_hash=customer_hash(integration_id, customer.get("id")),
        email_hash=email_hash(email),
        visitor=Visitor(ip, agent) if ip and agent else None,
        line_items=line_items,
        refunds=refunds,
    )


def _note_click_id(attributes: object) -> str | None:
    if not isinstance(attributes, list):
        return None
    for item in attributes:
        if isinstance(item, dict) and str(item.get("name", "")).strip().lower() in CLICK_ID_KEYS:
            found = clean_click_id(item.get("value"))
            if found:
                return found
    return None


def _line_item(item: Any, currency: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ParseError("line_items: expected objects")
    return {
        "external_id": str(item["id"]) if item.get("id") is not None else None,
        "product_id": str(item["product_id"]) if item.get("product_id") is not None else None,
        "variant_id": str(item["variant_id"]) if item.get("variant_id") is not None else None,
        "sku": clean_text(item.get("sku"), 256),
        "title": clean_text(item.get("title"), 512),
        "quantity": int(item.get("quantity") or 0),
        "price_minor": to_minor(item.get("price") or "0", currency, field="line_items.price"),
    }


def parse_refund(body: dict[str, Any], order_id: str, *, currency: str | None = None) -> RefundData:
    """A Refund resource: money returned = its successful `refund` transactions (which include
    refunded shipping and tax); without transactions, the refunded line subtotals."""
    try:
        refund_id = as_id(require(body, "id", where="refund."), field="refund.id")
        transactions = [t for t in body.get("transactions") or [] if isinstance(t, dict)]
        if transactions:
            currency = currency or normalize_currency(
                transactions[0].get("currency") or require(body, "currency")
            )
        lines = [li for li in body.get("refund_line_items") or [] if isinstance(li, dict)]
        if currency is None:
            currency = normalize_currency(body.get("currency") or "")
        if transactions:
            amount = sum(
                to_minor(t.get("amount") or "0", currency, field="transactions.amount")
                for t in transactions
                if t.get("kind") == "refund" and t.get("status") in ("success", None)
            )
        else:
            amount = sum(
                to_minor(li.get("subtotal") or "0", currency, field="refund_line_items.subtotal")
                for li in lines
            )
        refund_lines = [
            {
                "line_item_id": str(li.get("line_item_id")),
                "quantity": int(li.get("quantity") or 0),
                "subtotal_minor": to_minor(
                    li.get("subtotal") or "0", currency, field="refund_line_items.subtotal"
                ),
            }
            for li in lines
        ]
    except MoneyError as exc:
        raise ParseError(str(exc)) from exc
    return RefundData(
        external_order_id=order_id,
        external_refund_id=refund_id,
        amount_minor=max(amount, 0),
        currency=currency,
        refunded_at=optional_time(
            body.get("processed_at") or body.get("created_at"), field="refund.created_at"
        ),
        line_items=refund_lines,
    )
