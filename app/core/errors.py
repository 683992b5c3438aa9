"""One error format for every failure, mapped once from the domain's error types.

    {"error": "<code>", "detail": "<human sentence>", ...details}

Validation errors add `fields` (each with `loc`, `msg`, `type`); rule refusals add
`violations`; conflicts add the current version. Anything not ours stays a logged 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthenticated,
)

log = logging.getLogger("hazchain")

STATUS: list[tuple[type[DomainError], int]] = [
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidTransition, 409),
    (InvalidInput, 422),
    (TooManyRequests, 429),
]


def status_for(exc: DomainError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 422


class ErrorBody(BaseModel):
    """The error body of every non-2xx response."""

    error: str
    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each listed status documented with `ErrorBody`."""
    text = {
        401: "Missing, expired or invalid token",
        403: "Your role or scope does not allow this",
        404: "Not found (or outside your scope)",
        409: "Conflict: stale version, duplicate, or not allowed in the current state",
        413: "Request too large",
        422: "Invalid input: the reason and the offending fields",
        503: "The database is unavailable or read-only: nothing was written",
        429: "Asked too often (failed sign-ins, verifications): wait for Retry-After seconds",
    }
    return {c: {"model": ErrorBody, "description": text.get(c, "Error")} for c in codes}


def database_failure(exc: sa_exc.DBAPIError) -> tuple[int, str, str]:
    """A database that cannot take the request (gone, read-only, full): a clear 503/507, the
    transaction rolled back. Anything else from the driver stays a 500."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or ""
    text = str(orig).lower()
    if sqlstate == "25006" or "readonly database" in text or "read-only" in text:
        return 503, "database_read_only", "the database is read-only: nothing was written"
    if sqlstate.startswith("53") or "database or disk is full" in text:
        return 507, "database_full", "the database is out of space: nothing was written"
    if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError):
        return (
            503,
            "database_unavailable",
            "the database connection was lost: nothing was written, try again",
        )
    raise exc


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        body = {"error": exc.code, "detail": exc.message, **_json_safe(exc.details)}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=status_for(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        summary = "; ".join(
            f"{'.'.join(str(p) for p in f['loc'] if p != 'body')}: {f['msg']}" for f in fields[:5]
        )
        return JSONResponse(
            {
                "error": "validation_error",
                "detail": f"invalid request: {summary}",
                "fields": _json_safe(fields),
            },
            status_code=422,
        )

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
        status, code, detail = database_failure(exc)
        log.error("database failure on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"error": code, "detail": detail}, status_code=status, headers={"Retry-After": "5"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthenticated",
            413: "too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
