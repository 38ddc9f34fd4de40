"""Domain errors. Services raise them; the API renders them as RFC 9457 problem+json and the
CLI prints them. Each subclass fixes its HTTP status and a stable `code` (the problem type)."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra
        super().__init__(self.detail)


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"
    resource: ClassVar[str] = "resource"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidInput(DomainError):
    """Input that passed schema validation but breaks a rule; `errors` names the fields."""

    status = 422
    code = "validation-error"
    title = "Invalid input"

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg, errors=[{"loc": loc, "msg": msg}])


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InvalidTransition(Conflict):
    """A state-machine move the current status does not allow. Every state machine answers
    it the same way: 409 naming `current_status` and `requested_status` (subclasses keep
    their own `code`)."""

    code = "invalid-transition"
    title = "Invalid status transition"
    resource: ClassVar[str] = "resource"

    def __init__(
        self,
        current: str,
        requested: str,
        detail: str | None = None,
        *,
        resource: str | None = None,
        **extra: Any,
    ) -> None:
        what = resource or self.resource
        super().__init__(
            detail or f"The {what} is {current}; it cannot move to {requested}.",
            current_status=current,
            requested_status=requested,
            **extra,
        )
