"""Webhook signature schemes, always computed on the raw request bytes and compared in
constant time (`hmac.compare_digest`).

- Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, body)).
- WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)).
- Standard Webhooks (https://www.standardwebhooks.com, Vouch's own order and engagement
  formats): `webhook-signature` is a space-separated list of `v1,<base64>` entries, each an
  HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the key that is the
  base64-decoded part of the `whsec_...` secret; `webhook-timestamp` (unix seconds) must be
  within +-5 minutes of now.

A receiver holds the integration's keys as `SigningKey`s: the current secret (no expiry) and,
during a rotation's grace period, the previous one with its expiry. A signature verifies if
any unexpired key produces it.

The `standardwebhooks` package is the reference implementation; we verify ourselves because
it decodes the body to `str` (refusing non-UTF-8 bytes), re-derives the key per call and goes
through `datetime` per request. `tests/api/test_webhook_intake.py` proves both agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

STANDARD_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


class Scheme(StrEnum):
    SHOPIFY = "shopify-hmac-sha256"
    WOOCOMMERCE = "woocommerce-hmac-sha256"
    STANDARD = "standard-webhooks"


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: bytes  # the HMAC key itself (already base64-decoded for Standard Webhooks)
    expires_at: float | None  # unix seconds; None: the current secret


def new_secret(scheme: Scheme) -> str:
    """A fresh signing secret: 256 random bits in the scheme's customary form."""
    if scheme is Scheme.STANDARD:
        return STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def key_bytes(scheme: Scheme, secret: str) -> bytes:
    """The HMAC key a stored secret stands for. Raises ValueError for a malformed
    Standard Webhooks secret."""
    if scheme is not Scheme.STANDARD:
        return secret.encode()
    raw = secret[len(STANDARD_PREFIX) :] if secret.startswith(STANDARD_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a whsec_<base64> secret") from exc
    if len(key) < 16:
        raise ValueError("the secret must carry at least 16 bytes")
    return key


def _valid(keys: Sequence[SigningKey], now: float) -> list[bytes]:
    return [k.key for k in keys if k.expires_at is None or now < k.expires_at]


# ----------------------------------------------------------------------- Shopify, WooCommerce
def hmac_base64(key: bytes, body: bytes) -> bytes:
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())


def verify_hmac_base64(
    keys: Sequence[SigningKey], body: bytes, signature: str | None, now: float
) -> bool:
    """Shopify's and WooCommerce's scheme: the header is base64(HMAC-SHA256(secret, body))."""
    if not signature:
        return False
    given = signature.strip().encode("latin-1")
    return any(hmac.compare_digest(hmac_base64(key, body), given) for key in _valid(keys, now))


# ----------------------------------------------------------------------- Standard Webhooks
def sign_standard(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature (what a sender puts in `webhook-signature`)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


class StandardVerdict(StrEnum):
    OK = "ok"
    MISSING_HEADERS = "missing headers"
    BAD_TIMESTAMP = "invalid timestamp"
    STALE = "timestamp outside the 5 minute tolerance"
    NO_MATCH = "no matching signature"


def verify_standard(
    keys: Sequence[SigningKey],
    body: bytes,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    now: float,
) -> StandardVerdict:
    if not (msg_id and timestamp and signature):
        return StandardVerdict.MISSING_HEADERS
    if not timestamp.isascii() or not timestamp.isdigit():
        return StandardVerdict.BAD_TIMESTAMP
    ts = int(timestamp)
    if abs(now - ts) > TOLERANCE_SECONDS:
        return StandardVerdict.STALE
    given: list[bytes] = []
    for entry in signature.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1" or not value:
            continue
        try:
            given.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not given:
        return StandardVerdict.NO_MATCH
    content = f"{msg_id}.{ts}.".encode() + body
    for key in _valid(keys, now):
        expected = hmac.new(key, content, hashlib.sha256).digest()
        for sig in given:
            if hmac.compare_digest(expected, sig):
                return StandardVerdict.OK
    return StandardVerdict.NO_MATCH
