"""Submissions: admit an upload, read them as a given viewer, cancel them.

Who sees what is decided here, in SQL, never by the router: anonymous visitors and other users
see public, unmoderated submissions (listed only once scored); the owner and administrators see
everything of theirs, including failure details. A submission the viewer may not see is a 404
indistinguishable from one that does not exist.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.exceptions import KombuError
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, aliased

from app import queue
from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, VersionTask
from app.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, first_problem
from app.settings import get_settings
from app.storage import get_storage
from app.submissions import lifecycle, quota
from app.submissions.models import Submission, Summary
from app.submissions.schemas import (
    OwnerRead,
    ProgressRead,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionFilters,
    SubmissionPage,
    SubmissionRead,
    SummaryRead,
)
from app.submissions.status import Status
from app.submissions.upload import ReceivedUpload

log = logging.getLogger(__name__)
API_PATH = "/api/v1/submissions"


def submission_url(submission_id: int) -> str:
    """The absolute API URL of a submission (``GIR_PUBLIC_URL`` + path)."""
    return f"{get_settings().public_url.rstrip('/')}{API_PATH}/{submission_id}"


def parse_metadata(fields: dict[str, str]) -> SubmissionCreate:
    """Validate the upload's form fields, or 422 naming the first bad one."""
    try:
        return SubmissionCreate.model_validate(fields)
    except ValidationError as error:
        raise Invalid(first_problem(error.errors())) from None


def admit(*, session: Session, owner: User) -> None:
    """Refuse early (429) when the quota is already used up, before any byte is streamed.

    The commit ends the transaction so no connection is held while a large file streams in;
    :func:`create_submission` checks again under the owner's lock.
    """
    quota.enforce(session=session, owner=owner)
    session.commit()


def create_submission(
    *, session: Session, owner: User, meta: SubmissionCreate, upload: ReceivedUpload
) -> SubmissionCreated:
    """Record a stored upload and queue its validation; the file is deleted on any refusal.

    Order matters for "nothing lost": the file is already durable, the row is committed under the
    owner's quota lock, and only then is the job sent. A broker failure after the commit is only
    logged — the row says ``queued`` and the reconciler sends the job again.

    Raises:
        Conflict: the owner already uploaded this file (the body has the existing URL).
        QuotaExceeded: no slot left (429).
        Unavailable: the database is unreachable (503); the file was removed.
    """
    try:
        submission = _insert(session, owner, meta, upload)
    except IntegrityError:  # a concurrent identical upload slipped past the lock
        session.rollback()
        get_storage().delete(upload.key)
        raise _duplicate(session, owner.id, upload.sha256) from None
    except (OperationalError, InterfaceError):
        get_storage().delete(upload.key)
        raise Unavailable(
            "the database is unavailable; the upload was discarded, please try again"
        ) from None
    except BaseException:
        session.rollback()
        get_storage().delete(upload.key)
        raise
    try:
        queue.enqueue_validation(submission.id)
    except (KombuError, RedisError, OSError) as error:
        log.warning("submission %s committed, not sent: %s (reconciler)", submission.id, error)
    return SubmissionCreated(
        id=submission.id, url=submission_url(submission.id), status=Status.QUEUED
    )


def _duplicate(session: Session, owner_id: int, sha256: str) -> Conflict:
    existing = session.scalar(
        select(Submission.id).where(Submission.owner_id == owner_id, Submission.sha256 == sha256)
    )
    url = submission_url(existing) if existing is not None else None
    return Conflict(
        f"you already uploaded this file (SHA-256 {sha256[:12]}…) as submission {existing}",
        id=existing,
        url=url,
    )


def _insert(
    session: Session, owner: User, meta: SubmissionCreate, upload: ReceivedUpload
) -> Submission:
    quota.lock_owner(session=session, owner_id=owner.id)
    if session.scalar(
        select(Submission.id).where(
            Submission.owner_id == owner.id, Submission.sha256 == upload.sha256
        )
    ):
        raise _duplicate(session, owner.id, upload.sha256)
    quota.enforce(session=session, owner=owner)
    version_id = session.scalar(select(BenchmarkVersion.id).where(BenchmarkVersion.is_active))
    total = 0
    if version_id is not None:
        count = select(func.count()).where(VersionTask.version_id == version_id)
        total = session.scalar(count) or 0
    submission = Submission(
        owner_id=owner.id,
        **meta.model_dump(),
        format=upload.format,
        sha256=upload.sha256,
        size_bytes=upload.size,
        storage_key=upload.key,
        benchmark_version_id=version_id,
        progress_total=total,
    )
    session.add(submission)
    session.commit()
    return submission


def _visible(viewer: User | None) -> ColumnElement[bool]:
    public = and_(Submission.visibility == "public", Submission.is_hidden.is_(False))
    if viewer is None:
        return public
    return true() if viewer.is_admin else or_(public, Submission.owner_id == viewer.id)


def on_public_board() -> ColumnElement[bool]:
    """Whether a submission is on the public leaderboard: scored, public and not hidden. The
    board, the listing and the badges show only these (a badge shows nothing the board hides)."""
    return and_(
        Submission.visibility == "public",
        Submission.is_hidden.is_(False),
        Submission.status == Status.SCORED,
    )


def _listed(viewer: User | None) -> ColumnElement[bool]:
    public = on_public_board()
    if viewer is None:
        return public
    return true() if viewer.is_admin else or_(public, Submission.owner_id == viewer.id)


def manages(viewer: User | None, owner_id: int) -> bool:
    """Whether ``viewer`` owns the submission of ``owner_id`` or is an administrator."""
    return viewer is not None and (viewer.is_admin or viewer.id == owner_id)


def _read_query() -> Select[Any]:
    """Submission, owner name, version name, summary and queue position in one statement."""
    earlier = aliased(Submission)
    ahead = (
        select(func.count())
        .select_from(earlier)
        .where(earlier.status == Status.QUEUED, earlier.id < Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )
    position = case((Submission.status == Status.QUEUED, ahead), else_=None)
    return (
        select(Submission, User.name, BenchmarkVersion.name, Summary, position)
        .join(User, User.id == Submission.owner_id)
        .outerjoin(BenchmarkVersion, BenchmarkVersion.id == Submission.benchmark_version_id)
        .outerjoin(Summary, Summary.submission_id == Submission.id)
    )


def _to_read(row: Any, viewer: User | None) -> SubmissionRead:
    submission, owner_name, version_name, summary, position = row
    private = manages(viewer, submission.owner_id)
    done, total = submission.progress_done, submission.progress_total
    return SubmissionRead(
        id=submission.id,
        url=submission_url(submission.id),
        name=submission.name,
        description=submission.description,
        paper_url=submission.paper_url,
        code_url=submission.code_url,
        owner=OwnerRead(id=submission.owner_id, name=owner_name),
        format=submission.format,
        sha256=submission.sha256,
        size_bytes=submission.size_bytes,
        size_multiple=submission.size_multiple,
        tile_size=submission.tile_size,
        visibility=submission.visibility,
        is_baseline=submission.is_baseline,
        is_hidden=submission.is_hidden,
        status=submission.status,
        progress=ProgressRead(
            done=done,
            total=total,
            fraction=done / total if total else 0.0,
            queue_position=position,
            current_task=submission.current_task,
        ),
        error_code=submission.error_code if private else "",
        error_message=submission.error_message if private else "",
        benchmark_version=version_name,
        parameters=submission.parameters,
        seconds_per_mp=submission.seconds_per_mp,
        created_at=submission.created_at,
        started_at=submission.started_at,
        finished_at=submission.finished_at,
        summary=SummaryRead.model_validate(summary) if summary is not None else None,
    )


def visible_submission(*, session: Session, viewer: User | None, submission_id: int) -> Submission:
    """The submission if ``viewer`` may see it, else NotFound (same as a missing one)."""
    found = session.scalar(
        select(Submission).where(Submission.id == submission_id, _visible(viewer))
    )
    if found is None:
        raise NotFound(f"there is no submission {submission_id}")
    return found


def get_submission(*, session: Session, viewer: User | None, submission_id: int) -> SubmissionRead:
    """One submission as ``viewer`` sees it.

    Raises:
        NotFound: missing, or private/hidden and ``viewer`` is not its owner or an admin.
    """
    query = _read_query().where(Submission.id == submission_id, _visible(viewer))
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"there is no submission {submission_id}")
    return _to_read(row, viewer)


def list_submissions(
    *, session: Session, viewer: User | None, filters: SubmissionFilters
) -> SubmissionPage:
    """A page of the submissions ``viewer`` may list, newest first, with the total count."""
    conditions = [_listed(viewer)]
    if filters.owner == "me":
        if viewer is None:
            raise Invalid("owner=me needs you to sign in or send an API token")
        conditions.append(Submission.owner_id == viewer.id)
    if filters.status is not None:
        conditions.append(Submission.status == filters.status)
    if filters.format is not None:
        conditions.append(Submission.format == filters.format)
    if filters.baseline is not None:
        conditions.append(Submission.is_baseline.is_(filters.baseline))
    total = session.scalar(select(func.count()).select_from(Submission).where(*conditions)) or 0
    query = (
        _read_query()
        .where(*conditions)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    )
    items = [_to_read(row, viewer) for row in session.execute(query)]
    return SubmissionPage(items=items, total=total, limit=filters.limit, offset=filters.offset)


def cancel_submission(*, session: Session, viewer: User, submission_id: int) -> SubmissionRead:
    """Cancel a queued, validating or running submission (its owner or an admin).

    The row is locked so a worker's concurrent status change cannot be overwritten; workers see
    ``cancelled`` at their next check and stop.

    Raises:
        NotFound: not visible to ``viewer``.
        Forbidden: visible (public) but someone else's.
        Conflict: already scored, failed or cancelled.
    """
    submission = session.scalar(
        select(Submission).where(Submission.id == submission_id, _visible(viewer)).with_for_update()
    )
    if submission is None:
        raise NotFound(f"there is no submission {submission_id}")
    if not manages(viewer, submission.owner_id):
        raise Forbidden("only the owner or an administrator can cancel a submission")
    lifecycle.cancel(session=session, submission=submission)
    return get_submission(session=session, viewer=viewer, submission_id=submission_id)
