"""Badge routes: SVG images for READMEs (thin: parse, call the service, render).

A model's name can contain any printable character, so the model badge takes the rest of the
path as the name (``/models/{name}/badge.svg``, URL-encoded) and the owner by user id (a query
parameter: ids are stable and unique, display names are neither).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.badges import service
from app.badges.svg import BadgeValues, render
from app.db import DB_INT_MAX
from app.deps import RowId, SessionDep
from app.submissions.schemas import ErrorRead

router = APIRouter(tags=["badges"])
MAX_AGE_S = 300
"""README renderers (GitHub's camo) cache by these headers; a new score shows within minutes."""
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {}}},
    404: {"model": ErrorRead},
    422: {"model": ErrorRead},
}


def _svg(request: Request, values: BadgeValues) -> Response:
    body = render(values)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": f"public, max-age={MAX_AGE_S}",
        "ETag": etag,
        # An image, never a document: nothing in it may run or load, even opened on its own.
        "Content-Security-Policy": "default-src 'none'",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="image/svg+xml", headers=headers)


@router.get(
    "/submissions/{submission_id}/badge.svg",
    response_class=Response,
    summary="Badge of a submission",
    responses=_RESPONSES,
)
def submission_badge(submission_id: RowId, request: Request, session: SessionDep) -> Response:
    """An SVG badge "GIR | AR 0.42 · ER 0.10" of a public scored submission (404 otherwise)."""
    return _svg(request, service.submission_badge(session=session, submission_id=submission_id))


@router.get(
    "/models/{name:path}/badge.svg",
    response_class=Response,
    summary="Badge of a model (the owner's best of that name)",
    responses=_RESPONSES,
)
def model_badge(
    name: str,
    owner: Annotated[
        int, Query(ge=1, le=DB_INT_MAX, description="The owner's user id (`owner.id` in the API).")
    ],
    request: Request,
    session: SessionDep,
) -> Response:
    """The badge of the owner's best public submission named NAME on the active benchmark
    version (by AR, then ER, then mean PSNR); it follows new submissions of the same name."""
    values = service.model_badge(session=session, name=name, owner_id=owner)
    return _svg(request, values)
