"""All page routes in one router, and the static files they use (``/static``)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from app.pages import account, admin, compare, leaderboard, submission, submit, tasks
from app.pages.templating import STATIC

router = APIRouter(include_in_schema=False)
for module in (leaderboard, submission, compare, tasks, submit, account, admin):
    router.include_router(module.router)


def install_pages(app: FastAPI) -> None:
    """Mount the pages and ``/static`` on ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
