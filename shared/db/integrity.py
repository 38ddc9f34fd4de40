"""Reading PostgreSQL constraint violations: uniqueness lives in DDL, and callers turn a
violation of a named constraint into a domain error (usually 409)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint's name (asyncpg exposes it on the wrapped driver error)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None
