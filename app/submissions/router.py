"""HTTP routes of the submissions area (thin: parse, call the service, return).

The upload route declares no body parameters on purpose: FastAPI would otherwise read (spool)
the whole multipart body before the endpoint runs. The body is streamed by
:func:`app.submissions.upload.receive_upload`; its OpenAPI shape is declared by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from app.deps import CurrentUser, OptionalUser, RowId, SessionDep
from app.storage import get_storage
from app.submissions import intake, quota, results, service
from app.submissions.schemas import (
    ErrorRead,
    QuotaRead,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionFilters,
    SubmissionPage,
    SubmissionRead,
    SubmissionResults,
)

router = APIRouter(tags=["submissions"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorRead} for code in codes}


def _upload_body() -> dict[str, Any]:
    fields = SubmissionCreate.model_json_schema()
    properties = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The model: ONNX or TorchScript (recognised from its bytes).",
        },
        **fields["properties"],
    }
    schema = {"type": "object", "required": ["file", "name"], "properties": properties}
    content = {"multipart/form-data": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/submissions",
    status_code=202,
    response_model=SubmissionCreated,
    summary="Upload a model",
    openapi_extra=_upload_body(),
    responses=_errors(401, 408, 409, 413, 422, 429, 503, 507),
)
async def create_submission(
    request: Request, response: Response, user: CurrentUser, session: SessionDep
) -> SubmissionCreated:
    """Stream a model file to storage and queue it for validation and scoring.

    The file is hashed while it streams; the size limit (`GIR_MAX_UPLOAD_MB`) is enforced on the
    way (413); the format comes from the bytes (422); the same file twice is a 409 with the
    existing submission's URL; a used-up quota is a 429 with `Retry-After`, and so are too many
    uploads in progress or too many of your bytes in flight (`GIR_UPLOADS_PER_USER`,
    `GIR_UPLOAD_SPACE_USER_MB`); a full upload space is a 507; a body slower than
    `GIR_UPLOAD_MIN_KIB_S` after `GIR_UPLOAD_GRACE_S` is cut with a 408. The answer (202)
    comes once the file is durable and the row committed.
    """
    created = await intake.accept_upload(request, session=session, owner=user)
    response.headers["Location"] = created.url
    return created


@router.get(
    "/submissions",
    response_model=SubmissionPage,
    summary="List submissions",
    responses=_errors(401, 422),
)
def list_submissions(
    session: SessionDep, user: OptionalUser, filters: Annotated[SubmissionFilters, Query()]
) -> SubmissionPage:
    """Public scored submissions, plus all of yours; administrators see everything."""
    return service.list_submissions(session=session, viewer=user, filters=filters)


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionRead,
    summary="One submission",
    responses=_errors(404),
)
def get_submission(submission_id: RowId, session: SessionDep, user: OptionalUser) -> SubmissionRead:
    """Status, progress (with queue position) and summary. Private or moderated: 404 to others."""
    return service.get_submission(session=session, viewer=user, submission_id=submission_id)


@router.delete(
    "/submissions/{submission_id}",
    response_model=SubmissionRead,
    summary="Cancel a submission",
    responses=_errors(401, 403, 404, 409),
)
def cancel_submission(
    submission_id: RowId, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Cancel while queued, validating or running (owner or admin); 409 once it has ended."""
    return service.cancel_submission(session=session, viewer=user, submission_id=submission_id)


@router.get(
    "/submissions/{submission_id}/results",
    response_model=SubmissionResults,
    summary="Per-task results",
    responses=_errors(404),
)
def submission_results(
    submission_id: RowId, session: SessionDep, user: OptionalUser
) -> SubmissionResults:
    """Per task: mean and per-image PSNR/SSIM, time, pass marks against both lines. Hidden
    tasks appear by key and order only."""
    return results.submission_results(session=session, viewer=user, submission_id=submission_id)


@router.get(
    "/submissions/{submission_id}/log",
    response_class=PlainTextResponse,
    summary="Worker log",
    responses={200: {"content": {"text/plain": {}}}, **_errors(404)},
)
def submission_log(submission_id: RowId, session: SessionDep, user: OptionalUser) -> str:
    """The validation/scoring log (owner and administrators only; 404 to anyone else)."""
    return results.submission_log(session=session, viewer=user, submission_id=submission_id)


@router.get(
    "/submissions/{submission_id}/model",
    response_class=StreamingResponse,
    summary="Download the model file",
    responses={200: {"content": {"application/octet-stream": {}}}, **_errors(404)},
)
def download_model(
    submission_id: RowId, session: SessionDep, user: OptionalUser
) -> StreamingResponse:
    """The uploaded model file, streamed from storage through the API (owner and
    administrators only; 404 to anyone else). The bucket is never public and no presigned URL
    leaves the service: access is checked here, on every download."""
    found = results.model_file(session=session, viewer=user, submission_id=submission_id)
    return StreamingResponse(
        get_storage().iter_bytes(found.key),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Content-Length": str(found.size),
        },
    )


@router.get(
    "/me/quota",
    response_model=QuotaRead,
    summary="Your submission quota",
    responses=_errors(401),
)
def my_quota(session: SessionDep, user: CurrentUser) -> QuotaRead:
    """Limits, use and when the next daily slot frees (rolling 24 hours)."""
    return quota.read_quota(session=session, owner=user)
