"""The one place that turns errors into the ``{"error": {"code", "message"}}`` shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from watchkeeper.db.engine import REFUSED
from watchkeeper.errors import DomainError, RateLimited

log = logging.getLogger("watchkeeper.errors")

# The largest integer either database stores (SQLite INTEGER, PostgreSQL BIGINT).
MAX_INTEGER = 2**63 - 1

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for err in errors:
        if err.get("type") == "json_invalid":
            detail = err.get("ctx", {}).get("error", "invalid JSON")
            return error_response(400, "bad_request", f"request body is not valid JSON: {detail}")
    details = []
    for err in errors:
        field = _field(err.get("loc", ())) or "body"
        msg = str(err.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")
        details.append({"field": field, "message": msg})
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error_response(422, "validation_failed", message, details=details)


def refused_value_message(exc: Exception) -> str:
    """What to tell a client whose value the database refused (a DataError).

    A value the database refuses (too long, out of range) is not transient:
    a retry would be refused again, so the answer is a 400 with the
    database's own first line, which names the problem.
    """
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = reason[0] if reason else type(exc).__name__
    return f"the database refused a value in this request: {detail}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.status_code, exc.code, exc.message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return error_response(
            503,
            "unavailable",
            "the database is unavailable; nothing was stored, retry later",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OverflowError)
    async def _too_large(_request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite binds integers up to 64 bits; a bigger one can only come from
        # the request (a query parameter or a body field).
        return error_response(
            400,
            "bad_request",
            f"a number in this request is out of range (at most {MAX_INTEGER}): {exc}",
        )

    async def _db_refused(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(400, "bad_request", refused_value_message(exc))

    for refused in REFUSED:  # through SQLAlchemy or straight from the driver
        app.add_exception_handler(refused, _db_refused)

    @app.exception_handler(DBAPIError)
    async def _db_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return error_response(
                503, "unavailable", "the database connection was lost; retry later"
            )
        log.exception("database error", exc_info=exc)
        return error_response(500, "internal_error", "internal error; see the server log")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal error; see the server log")
