"""Schema conventions shared by every router."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.db.pagination import Page

T = TypeVar("T")


class RequestModel(BaseModel):
    """Request bodies reject unknown fields (a typo is an error, not a silent no-op)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_out(page: Page[Any]) -> dict[str, Any]:
    """A keyset page as the `{items, next_cursor}` body (items validated by the route's
    response model from ORM attributes)."""
    return {"items": list(page.items), "next_cursor": page.next_cursor}
