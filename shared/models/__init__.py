"""Every table, re-exported so Alembic and callers import one module."""

from shared.db.base import Base
from shared.models.brands import ApiKey, Brand

__all__ = ["ApiKey", "Base", "Brand"]
