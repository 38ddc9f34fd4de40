"""Self-verifying click ids (`vclid`).

A click id is 48 URL-safe characters: base64url of 36 bytes

    version (1) | link id (16, the UUID) | click time (6, unix ms, big endian)
    | nonce (5) | tag (8: HMAC-SHA256 of the 28 bytes before it, truncated)

so an order that brings one back can be attributed to its link and click time even if the
click's row was lost, and a forged or altered id fails verification. The nonce only keeps two
clicks on one link in the same millisecond apart (40 bits: a collision needs ~1M clicks on one
link in one ms); it need not be secret, the tag is what makes ids unforgeable (64 bits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import re
import time
import uuid
from datetime import UTC, datetime

from shared.secrets import derive_key

VERSION = 1
_PAYLOAD = 1 + 16 + 6 + 5
_TAG = 8
LENGTH = 48  # characters: (_PAYLOAD + _TAG) * 4 / 3, no padding
# 36 bytes fill 48 characters exactly, so each id has one spelling (no padding, no spare bits).
_CANONICAL = re.compile(r"[A-Za-z0-9_-]{48}")


class ClickIds:
    """Issues and verifies click ids with one server secret."""

    __slots__ = ("_mac", "_rand")

    def __init__(self, secret: bytes) -> None:
        # HMAC state with the key already absorbed: each id costs a copy, not a key schedule.
        self._mac = hmac.new(derive_key(secret, "clickid"), digestmod=hashlib.sha256)
        self._rand = random.Random()  # nonces need uniqueness, not secrecy  # noqa: S311

    @staticmethod
    def prefix(link_id: uuid.UUID) -> bytes:
        """The constant head of every id for one link (cached in the link snapshot)."""
        return bytes((VERSION,)) + link_id.bytes

    def issue(self, prefix: bytes, ms: int | None = None) -> str:
        """A new click id for the link whose `prefix()` is given, at `ms` (default: now)."""
        if ms is None:
            ms = time.time_ns() // 1_000_000
        payload = prefix + ms.to_bytes(6, "big") + self._rand.getrandbits(40).to_bytes(5, "big")
        mac = self._mac.copy()
        mac.update(payload)
        return base64.urlsafe_b64encode(payload + mac.digest()[:_TAG]).decode("ascii")

    def verify(self, click_id: str) -> tuple[uuid.UUID, datetime] | None:
        """(link id, click time) for a genuine id; None for anything forged, altered or
        malformed. The tag comparison is constant-time."""
        raw = _decode(click_id)
        if raw is None:
            return None
        payload, tag = raw[:_PAYLOAD], raw[_PAYLOAD:]
        mac = self._mac.copy()
        mac.update(payload)
        if not hmac.compare_digest(mac.digest()[:_TAG], tag):
            return None
        return _fields(payload)


def decode_unverified(click_id: str) -> tuple[uuid.UUID, datetime] | None:
    """(link id, click time) without checking the tag: for ids Vouch itself issued and carried
    through its own stream (the worker), never for ids that came back from outside."""
    raw = _decode(click_id)
    return None if raw is None else _fields(raw[:_PAYLOAD])


def verify(click_id: str, secret: bytes) -> tuple[uuid.UUID, datetime] | None:
    return ClickIds(secret).verify(click_id)


def _decode(click_id: str) -> bytes | None:
    if len(click_id) != LENGTH or not _CANONICAL.fullmatch(click_id):
        return None
    try:
        raw = base64.urlsafe_b64decode(click_id.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) != _PAYLOAD + _TAG or raw[0] != VERSION:
        return None
    return raw


def _fields(payload: bytes) -> tuple[uuid.UUID, datetime]:
    ms = int.from_bytes(payload[17:23], "big")
    return uuid.UUID(bytes=payload[1:17]), datetime.fromtimestamp(ms / 1000, UTC)
