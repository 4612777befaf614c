"""``/docs``: Swagger UI served from this service, so it works offline and under our CSP.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; both are
refused by the pages' Content-Security-Policy (``script-src 'self'``) and neither works without
the internet. The assets come from the ``swagger-ui-py`` package (Swagger UI 5, which reads
OpenAPI 3.1) and are served under ``/docs/assets``; the start-up script is our own static file.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from app.errors import NotFound
from app.pages.templating import HEADERS, static_url


def _assets_dir() -> Path:
    # Located without importing the package, whose handlers pull in frameworks we do not use.
    spec = find_spec("swagger_ui")
    assert spec is not None and spec.submodule_search_locations, "swagger-ui-py is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "static"


ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} – API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="{starter}"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets on ``app`` (built with ``docs_url=None``)."""
    assets = _assets_dir()

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = PAGE.format(title=app.title, openapi=app.openapi_url, starter=static_url("docs.js"))
        return HTMLResponse(page, headers=HEADERS)

    @app.get("/docs/assets/{asset}", include_in_schema=False)
    def docs_asset(asset: str) -> FileResponse:
        if asset not in ASSETS:
            raise NotFound(f"/docs has no asset {asset!r}")
        headers = {"Cache-Control": "public, max-age=86400", **HEADERS}
        return FileResponse(assets / asset, media_type=ASSETS[asset], headers=headers)
