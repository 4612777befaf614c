"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (DB, broker,
storage all usable right now)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import get_engine
from app.queue import get_celery
from app.storage import get_storage

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _check_database() -> str:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
    return "ok"


def _check_broker() -> str:
    with get_celery().connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_storage() -> str:
    get_storage().check()
    return "ok"


@router.get("/readyz")
def readyz() -> JSONResponse:
    """503 with the failing part named when the DB, broker or storage is not usable."""
    checks = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as error:  # readiness reports any failure as data, by design
            results[name] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in results.values())
    return JSONResponse({"ready": ready, **results}, status_code=200 if ready else 503)
