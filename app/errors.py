"""Domain errors of the service and the one handler that turns them into HTTP responses.

Services raise these; routers never build error responses themselves. Every response body is
``{"detail": {"code": ..., "message": ...}}`` with a sentence a person can act on.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


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


class Invalid(ServiceError):  # noqa: N818
    status, code = 422, "invalid"


class RateLimited(ServiceError):  # noqa: N818
    status, code = 429, "rate_limited"


class Unavailable(ServiceError):  # noqa: N818
    status, code = 503, "unavailable"


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, **extra}}


def install_handlers(app: FastAPI) -> None:
    """Register the handlers: domain errors, validation errors, DB outages, HTTP errors."""

    @app.exception_handler(ServiceError)
    async def _service(request: Request, error: ServiceError) -> JSONResponse:
        headers = (
            {"Retry-After": str(error.extra["retry_after"])}
            if "retry_after" in error.extra
            else None
        )
        return JSONResponse(_body(error.code, error.message, **error.extra), error.status, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return JSONResponse(_body("invalid", message), 422)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, error: OperationalError) -> JSONResponse:
        return JSONResponse(
            _body("unavailable", "the database is unavailable; nothing was changed, try again"),
            503,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(_body(code, str(error.detail)), error.status_code)
