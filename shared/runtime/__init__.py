"""Embedded PostgreSQL and Redis for `make run` and `make test` (not for production)."""

from shared.runtime.embedded import EmbeddedServers, RuntimeError_, ServerUrls

__all__ = ["EmbeddedServers", "RuntimeError_", "ServerUrls"]
