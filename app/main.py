"""The FastAPI application: REST API under /api/v1, the pages, health probes, OpenAPI at /docs."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from app import health
from app.auth.csrf import CsrfCookieMiddleware
from app.auth.router import router as auth_router
from app.badges.router import router as badges_router
from app.benchmarks.router import router as benchmarks_router
from app.docs import install_docs
from app.errors import install_handlers
from app.leaderboard.router import router as leaderboard_router
from app.logs import configure_logging
from app.openapi import install_openapi
from app.pages.errors import page_error
from app.pages.router import install_pages
from app.proxies import TrustedProxyMiddleware
from app.requestlog import RequestIdMiddleware
from app.sanity import RefuseNulMiddleware
from app.settings import get_settings
from app.submissions.router import router as submissions_router

API = "/api/v1"


def create_app() -> FastAPI:
    """Build the application (tests build their own with overridden dependencies)."""
    app = FastAPI(
        title="GIR Bench",
        version="0.1.0",
        description="Evaluation service for General Image Restoration models (AR/ER, Kong et al.).",
        docs_url=None,  # served by app.docs without a CDN
        redoc_url=None,
    )
    install_handlers(app, page=page_error)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(CsrfCookieMiddleware)
    app.add_middleware(RefuseNulMiddleware)
    app.add_middleware(TrustedProxyMiddleware)  # sees the raw peer
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, every line has the id
    app.include_router(health.router)
    for router in (auth_router, submissions_router, benchmarks_router, leaderboard_router):
        app.include_router(router, prefix=API)
    app.include_router(badges_router, prefix=API)
    install_pages(app)
    return app


app = create_app()
# The process serving ``app`` (uvicorn imports it after setting up its own loggers) logs through
# app.logs; tests that build their own apps configure nothing.
configure_logging(get_settings())
# What exists once the app is built (modules, routes, templates) lives as long as the process:
# keep it out of the collector's full sweeps, which otherwise stall a page for 100+ ms now and
# then (bench/pages.py: p95 of a cold leaderboard 263 → 135 ms). Once, at import — tests that
# build many apps must not freeze their garbage.
gc.freeze()
