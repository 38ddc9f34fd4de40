"""Route an inbox event to its source's parser: (source, topic, raw body) -> normalised."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from shared.orders import shopify, vouch, woocommerce
from shared.orders.types import Parsed, ParseError

Parser = Callable[..., list[Parsed]]

PARSERS: dict[str, Parser] = {
    "shopify": shopify.parse,
    "woocommerce": woocommerce.parse,
    "orders": vouch.parse,
}
# (source, topics) the orders domain handles; the worker registers its handler for these.
TOPICS: dict[str, frozenset[str]] = {
    "shopify": shopify.TOPICS,
    "woocommerce": woocommerce.TOPICS,
    "orders": frozenset({"order"}),
}


def parse_body(
    source: str,
    topic: str,
    body: bytes,
    *,
    integration_id: uuid.UUID,
    event_time: datetime,
) -> list[Parsed]:
    parser = PARSERS.get(source)
    if parser is None:
        raise ParseError(f"No order parser for source {source!r}")
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"body: not valid JSON ({exc})") from exc
    return parser(topic, document, integration_id=integration_id, event_time=event_time)
