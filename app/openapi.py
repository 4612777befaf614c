"""The OpenAPI document, made to tell the truth about errors.

FastAPI documents every 422 as its own ``HTTPValidationError`` list, but our handler
(``app.errors``) answers ``{"detail": {"code", "message"}}`` like every other error. Here each
error response of each operation (the documented ones, and a ``default`` for the rest: 401, 403,
405, 429, 503 …) points at :class:`~app.submissions.schemas.ErrorRead`, and FastAPI's unused
schemas are dropped — so clients generated from ``/openapi.json``, and the schema fuzz test,
read the bodies we send.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.submissions.schemas import ErrorRead

_ERROR_REF = {"$ref": "#/components/schemas/ErrorRead"}
_FASTAPI_ONLY = ("HTTPValidationError", "ValidationError")
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": dict(_ERROR_REF)}}


def _fix_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code, response in responses.items():
        if code[0] in "45":
            response["content"] = _error_content()
            if code == "422":
                response["description"] = "Invalid request: the first problem, as a sentence"
    responses.setdefault("default", {"description": "Any other error", "content": _error_content()})


def error_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``spec`` in place so every error response is ``ErrorRead``; returns it."""
    for path_item in spec.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS:
                _fix_operation(operation)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ONLY:
        schemas.pop(name, None)
    generated = ErrorRead.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(generated.pop("$defs", {}))
    schemas["ErrorRead"] = generated
    return spec


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) return the corrected document, once."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = error_schema(spec)
        return app.openapi_schema

    setattr(app, "openapi", build)  # noqa: B010 - FastAPI's documented override point
