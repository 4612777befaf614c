"""The model page (``/submissions/{id}``), its example crops, and the owner's cancel button.

Reads go through the submissions services (visibility included: a private or moderated
submission is a 404 page to everyone but its owner and administrators).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.badges.service import snippet
from app.deps import CurrentUser, OptionalUser, RowId, SessionDep
from app.pages import model_view
from app.pages.templating import render
from app.submissions import examples, results, service
from app.submissions.status import Status

router = APIRouter(include_in_schema=False)
Part = Literal["input", "output", "gt"]


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(
    submission_id: RowId, request: Request, session: SessionDep, viewer: OptionalUser
) -> HTMLResponse:
    """Metadata, live progress while active, and results, charts and examples once scored."""
    submission = service.get_submission(session=session, viewer=viewer, submission_id=submission_id)
    found = results.submission_results(session=session, viewer=viewer, submission_id=submission_id)
    scored = submission.status == Status.SCORED
    public = scored and submission.visibility == "public" and not submission.is_hidden
    badge = (
        snippet(submission_id=submission.id, name=submission.name, owner_id=submission.owner.id)
        if public and not submission.is_baseline
        else None
    )
    task_chart, bias_chart = model_view.charts_for(submission, found) if scored else ("", "")
    context = {
        "submission": submission,
        "results": found,
        "badge": badge,
        "live": model_view.live(submission),
        "manages": service.manages(viewer, submission.owner.id),
        "passes": model_view.passes(found.tasks),
        "pass_class": model_view.pass_class,
        "pass_text": model_view.pass_text,
        "task_chart": task_chart,
        "bias_chart": bias_chart,
        "has_bias": bool(model_view.bias_items(submission)),
        "examples": examples.list_examples(
            session=session, viewer=viewer, submission_id=submission_id
        )
        if scored
        else [],
    }
    return render(request, "submission.html", context, viewer=viewer)


@router.get("/submissions/{submission_id}/examples/{task_key}/{part}.png")
async def example_image(
    submission_id: RowId, task_key: str, part: Part, session: SessionDep, viewer: OptionalUser
) -> Response:
    """One crop (degraded input, the model's output, or ground truth) of a public task."""
    data = await run_in_threadpool(
        examples.example_png,
        session=session,
        viewer=viewer,
        submission_id=submission_id,
        task_key=task_key,
        part=part,
    )
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.post("/submissions/{submission_id}/cancel")
def cancel(submission_id: RowId, session: SessionDep, viewer: CurrentUser) -> RedirectResponse:
    """Cancel from the page (owner or admin; the CSRF token comes in the form)."""
    service.cancel_submission(session=session, viewer=viewer, submission_id=submission_id)
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)
