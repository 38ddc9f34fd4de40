"""RFC 9457 problem details: every error the API returns has this one shape."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:vouch:problem:"


class ProblemField(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is: ['body', 'name'], ...")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:vouch:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No campaign with id 0193..."])
    errors: list[ProblemField] | None = Field(
        None, description="Field-level problems (validation errors)."
    )


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    import orjson

    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Missing, malformed or revoked API key",
    403: "The API key lacks the required scope",
    404: "Not found (or owned by another brand)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Validation failed; `errors` names each field",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring problem+json for the given statuses."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _loc(loc: tuple[int | str, ...] | list[int | str]) -> list[str | int]:
    return [part for part in loc]


async def _domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        title=exc.title,
        errors=exc.errors,
        headers=headers,
        **exc.extra,
    )


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = errors[0]
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        return problem_response(
            400,
            "malformed-json",
            f"The request body is not valid JSON: {reason}.",
            title="Malformed JSON",
            errors=[{"loc": _loc(first["loc"]), "msg": str(reason)}],
        )
    fields = [{"loc": _loc(e["loc"]), "msg": e["msg"]} for e in errors]
    named = ", ".join(".".join(str(p) for p in f["loc"]) for f in fields[:5])
    return problem_response(
        422, "validation-error", f"Invalid input: {named}.", title="Invalid input", errors=fields
    )


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


async def _unhandled(_: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", error=repr(exc))
    return problem_response(500, "internal-error", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
