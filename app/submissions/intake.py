"""Accepting an upload: quota first, then the streamed file, then the row — for the API route
and the upload page alike, so both refuse and accept exactly the same things."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.models import User
from app.settings import get_settings
from app.storage import get_storage
from app.submissions import service
from app.submissions.guard import paced, upload_slot
from app.submissions.schemas import SubmissionCreated
from app.submissions.upload import FieldCheck, check_length, receive_upload


async def accept_upload(
    request: Request,
    *,
    session: Session,
    owner: User,
    check_fields: FieldCheck = service.parse_metadata,
    extra_fields: frozenset[str] = frozenset(),
) -> SubmissionCreated:
    """Stream the model into storage and queue it; where to watch it.

    A used-up quota is refused before a byte is read (429), and so is an upload beyond the
    limits of ``app.submissions.guard`` (uploads in progress, space: 429/507), which also cuts a
    body slower than the minimum rate (408); ``check_fields`` runs as soon as
    the metadata has arrived (before the file when the form sends it first) and again at the
    end; ``extra_fields`` (e.g. ``csrf_token``) are dropped before the metadata is stored.

    Raises:
        QuotaExceeded, TooLarge, Invalid, Conflict, RateLimited, InsufficientStorage,
            TooSlow: as the API documents; whatever
            ``check_fields`` raises.
    """
    await run_in_threadpool(service.admit, session=session, owner=owner)
    max_bytes = get_settings().max_upload_mb << 20
    # 413 first: no point counting what cannot be accepted
    declared = check_length(request.headers.get("content-length"), max_bytes)
    with upload_slot(owner.id, declared) as ticket:
        upload = await receive_upload(
            request,
            storage=get_storage(),
            owner_id=owner.id,
            max_bytes=max_bytes,
            check_fields=check_fields,
            extra_fields=extra_fields,
            chunks=paced(request.stream(), ticket),
        )
    fields = {key: value for key, value in upload.fields.items() if key not in extra_fields}
    return await run_in_threadpool(
        service.create_submission,
        session=session,
        owner=owner,
        meta=service.parse_metadata(fields),
        upload=upload,
    )
