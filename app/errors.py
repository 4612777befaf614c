"""Domain errors of the service and the one handler that turns them into HTTP responses.

Services raise these; routers never build error responses themselves. Every response body is
``{"detail": {"code": ..., "message": ...}}`` with a sentence a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response


class ServiceError(Exception):
    """Base: an HTTP status, a stable code and a message; ``extra`` adds fields to the body."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(ServiceError):  # noqa: N818 - HTTP vocabulary reads better here
    status, code = 404, "not_found"


class Unauthorized(ServiceError):  # noqa: N818
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):  # noqa: N818
    status, code = 403, "forbidden"


class Conflict(ServiceError):  # noqa: N818
    status, code = 409, "conflict"


class TooLarge(ServiceError):  # noqa: N818
    status, code = 413, "too_large"


class TooSlow(ServiceError):  # noqa: N818
    status, code = 408, "too_slow"


class Invalid(ServiceError):  # noqa: N818
    status, code = 422, "invalid"


class RateLimited(ServiceError):  # noqa: N818
    status, code = 429, "rate_limited"


class Unavailable(ServiceError):  # noqa: N818
    status, code = 503, "unavailable"


class InsufficientStorage(ServiceError):  # noqa: N818
    status, code = 507, "insufficient_storage"


PageError = Callable[[Request, int, str], Response | None]
"""Renders an error as an HTML page, or returns None when the request wants JSON."""


def first_problem(errors: Sequence[Mapping[str, Any]]) -> str:
    """The first validation problem as ``field: message`` — what a person fixes first. The
    ``body`` prefix FastAPI puts on request-body locations is left out."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, **extra}}


def install_handlers(app: FastAPI, page: PageError | None = None) -> None:
    """Register the handlers: domain errors, validation errors, DB outages, HTTP errors.

    ``page`` lets the pages answer a browser with an HTML error page (same status, same
    sentence); API clients always get the JSON body.
    """

    def answer(request: Request, status: int, code: str, message: str, **extra: Any) -> Response:
        headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
        html = page(request, status, message) if page is not None else None
        if html is not None:
            html.headers.update(headers or {})
            return html
        return JSONResponse(_body(code, message, **extra), status, headers)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, error: ServiceError) -> Response:
        return answer(request, error.status, error.code, error.message, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        return answer(request, 422, "invalid", first_problem(error.errors()))

    @app.exception_handler(OperationalError)
    async def _database(request: Request, error: OperationalError) -> Response:
        message = "the database is unavailable; nothing was changed, try again"
        return answer(request, 503, "unavailable", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return answer(request, error.status_code, code, str(error.detail))
