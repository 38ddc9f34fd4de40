"""Embedded PostgreSQL and Redis for `make run` and `make test` (not for production)."""

from shared.runtime.embedded import EmbeddedServerError, EmbeddedServers, ServerUrls

__all__ = ["EmbeddedServerError", "EmbeddedServers", "ServerUrls"]
