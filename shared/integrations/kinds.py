"""Integration kinds, what each receives and how its webhooks are signed.

One table, so the integrations API (which URLs to hand out), the receivers (which kinds a
source accepts) and the signature code agree. Issue 6 adds the `engagement` and `instagram`
receivers; their URLs are handed out already.
"""

from __future__ import annotations

from enum import StrEnum

from shared.integrations.signatures import Scheme


class IntegrationKind(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    CUSTOM = "custom"  # any store, posting Vouch's own order format (Standard Webhooks)
    ENGAGEMENT = "engagement"


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Source(StrEnum):
    """The `source` of an inbox event: the receiver (URL path segment) it came through."""

    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    ORDERS = "orders"
    ENGAGEMENT = "engagement"
    INSTAGRAM = "instagram"


SOURCES_BY_KIND: dict[IntegrationKind, tuple[Source, ...]] = {
    IntegrationKind.SHOPIFY: (Source.SHOPIFY,),
    IntegrationKind.WOOCOMMERCE: (Source.WOOCOMMERCE,),
    IntegrationKind.CUSTOM: (Source.ORDERS,),
    IntegrationKind.ENGAGEMENT: (Source.ENGAGEMENT, Source.INSTAGRAM),
}

KINDS_BY_SOURCE: dict[Source, frozenset[str]] = {
    source: frozenset(k.value for k, sources in SOURCES_BY_KIND.items() if source in sources)
    for source in Source
}

SCHEME_BY_KIND: dict[IntegrationKind, Scheme] = {
    IntegrationKind.SHOPIFY: Scheme.SHOPIFY,
    IntegrationKind.WOOCOMMERCE: Scheme.WOOCOMMERCE,
    IntegrationKind.CUSTOM: Scheme.STANDARD,
    IntegrationKind.ENGAGEMENT: Scheme.STANDARD,
}


def webhook_urls(base_url: str, kind: str, integration_id: object) -> dict[str, str]:
    """source -> the URL the store (or engagement integration) posts to."""
    return {
        source.value: f"{base_url}/webhooks/{source.value}/{integration_id}"
        for source in SOURCES_BY_KIND[IntegrationKind(kind)]
    }
