"""The server secret and the keys derived from it.

`VOUCH_SECRET_KEY` signs click ids and keys the visitor hash. Every API and worker process of a
deployment must share it (an order that brings a click id back is verified by the worker). In
production it is required; in development and tests a random key is created once under
`data_dir` (mode 0600) so every process started from the same directory agrees on it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from shared.config import Settings

SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_BYTES = 16


class SecretKeyMissing(RuntimeError):
    pass


def secret_key(settings: Settings) -> bytes:
    """The server secret as bytes: VOUCH_SECRET_KEY, else (outside production) the persisted
    development key."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value().encode()
        if len(value) < MIN_SECRET_BYTES:
            raise SecretKeyMissing(f"VOUCH_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes.")
        return value
    if settings.env == "production":
        raise SecretKeyMissing(
            "VOUCH_SECRET_KEY is required in production (e.g. `openssl rand -hex 32`); every "
            "API and worker process must share it."
        )
    return _persisted_key(settings.data_dir / SECRET_FILE)


def _persisted_key(path: Path) -> bytes:
    """Read the key file, creating it atomically on first use: the content is written to a
    private temporary file and hard-linked into place, so two processes starting together
    both end up reading the one key that won, never a half-written file."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won the race; use its key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte subkey for one purpose, so no two uses of the secret share a key."""
    return hmac.digest(secret, b"vouch:" + purpose.encode(), hashlib.sha256)
