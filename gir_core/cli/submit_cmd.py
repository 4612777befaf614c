"""`gir submit MODEL`: check locally, upload, and (``--wait``) follow it to its scores.

Made for CI: configuration from ``GIR_URL``/``GIR_TOKEN``, progress on stderr, results (or one
JSON object) on stdout, and exit codes a build can act on (:mod:`gir_core.client.errors`).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from gir_core.cli.client_common import (
    DEFAULT_POLL,
    DEFAULT_URL,
    JsonOpt,
    PollOpt,
    QuietOpt,
    TimeoutOpt,
    TokenOpt,
    UrlOpt,
    WaitOpt,
    echo,
    fail,
    failure_sentence,
    finish,
)
from gir_core.cli.extras import CORE_EXTRA, core_missing
from gir_core.client.api import Api, Json
from gir_core.client.errors import ClientError, Exit, exit_help
from gir_core.client.follow import follow
from gir_core.client.progress import Progress, UploadBar
from gir_core.client.render import shortfalls, summary_lines


def local_check(model: Path, size_multiple: int, tile: int | None, progress: Progress) -> None:
    """`gir check`'s fast path before the upload; skipped with a notice without ``[core]``.

    Raises:
        ClientError: ``Exit.USAGE`` when the model breaks the contract.
    """
    try:
        from gir_core.contract import check_model
        from gir_core.errors import GirError, ModelError
        from gir_core.runners import RunOptions
    except ModuleNotFoundError as error:
        if not core_missing(error):
            raise
        progress.note(
            f"notice: local contract check skipped (it needs {CORE_EXTRA}); the service checks "
            "the model"
        )
        return
    progress.show("checking the model contract locally …")
    try:
        report = check_model(model, RunOptions(size_multiple, tile))
    except ModelError as error:
        message = f"the local contract check rejected the model: {error}"
        raise ClientError(message, Exit.USAGE) from None
    except GirError as error:
        message = f"the local contract check could not run: {error}"
        raise ClientError(message, Exit.USAGE) from None
    progress.note(f"local check: OK ({report.info.format}, sha256 {report.sha256[:12]}…)")


def conclude(
    api: Api, submission: Json, minimums: dict[str, float | None], report: Json
) -> tuple[Exit, str | None, list[str]]:
    """Fill ``report`` with the ended submission's outcome; the exit code, the error and the
    summary lines to print."""
    report.update(status=submission.get("status"), summary=submission.get("summary"))
    failure = failure_sentence(submission)
    if failure is not None:
        return Exit.FAILED, failure, []
    if submission.get("status") != "scored":  # still running (no --wait): not a failure
        return Exit.OK, None, []
    rank = api.rank(int(submission["id"]), submission.get("benchmark_version"))
    report["rank"] = None if rank is None else {"rank": rank[0], "of": rank[1]}
    report["benchmark_version"] = submission.get("benchmark_version")
    missed = shortfalls(submission.get("summary") or {}, minimums)
    report["thresholds"] = {**{f"min_{k}": v for k, v in minimums.items()}, "missed": missed}
    code = Exit.BELOW_THRESHOLD if missed else Exit.OK
    return code, "; ".join(missed) or None, summary_lines(submission, rank)


def _send(api: Api, model: Path, meta: dict[str, Any], progress: Progress, report: Json) -> int:
    """Upload with a progress bar; the new submission's id, or the earlier one's (409)."""
    fields = {key: str(value) for key, value in meta.items() if value is not None}
    upload = api.upload(model, fields, UploadBar(progress, f"uploading {model.name}"))
    progress.end()
    report.update(id=upload.id, url=api.page_url(upload.id), existing=upload.existing)
    if upload.existing:
        progress.note(f"already submitted as {upload.id}; following that submission")
    return upload.id


def _arguments(
    model: Path, wait: bool, minimums: dict[str, float | None], token: str | None
) -> None:
    if not model.is_file():
        raise ClientError(f"no such model file: {model}", Exit.USAGE)
    try:
        with model.open("rb"):
            pass
    except OSError as error:
        raise ClientError(f"cannot read {model}: {error.strerror}", Exit.USAGE) from None
    if not wait and any(value is not None for value in minimums.values()):
        raise ClientError("--min-ar and --min-er need --wait (they judge the scores)", Exit.USAGE)
    if not token:
        raise ClientError("no API token: set GIR_TOKEN (or pass --token)", Exit.USAGE)


def submit(
    model: Annotated[Path, typer.Argument(help="ONNX or TorchScript file.", show_default=False)],
    name: Annotated[str | None, typer.Option(help="Public name (default: file name).")] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    visibility: Annotated[Literal["public", "private"], typer.Option()] = "public",
    size_multiple: Annotated[int, typer.Option(min=1, max=256, help="Pad inputs.")] = 1,
    tile: Annotated[int | None, typer.Option(min=16, max=4096, help="Tile size.")] = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    min_ar: Annotated[
        float | None,
        typer.Option("--min-ar", min=0.0, max=1.0, help="With --wait: exit 3 if AR is lower."),
    ] = None,
    min_er: Annotated[
        float | None,
        typer.Option("--min-er", min=0.0, max=1.0, help="With --wait: exit 3 if ER is lower."),
    ] = None,
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip the local check.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    poll: PollOpt = DEFAULT_POLL,
) -> None:
    """Upload MODEL to the service; with --wait, follow it and print its scores."""
    progress = Progress(quiet=quiet)
    minimums = {"ar": min_ar, "er": min_er}
    report: Json = {"model": str(model)}
    try:
        _arguments(model, wait, minimums, token)
        if not no_check:
            local_check(model, size_multiple, tile, progress)
        with closing(Api(url, token)) as api:
            meta = {"name": name or model.stem, "description": description,
                    "visibility": visibility, "size_multiple": size_multiple,
                    "tile_size": tile}  # fmt: skip
            submission_id = _send(api, model, meta, progress, report)
            echo(f"submission {submission_id}: {report['url']}", as_json=as_json)
            if not wait:
                report["status"] = api.submission(submission_id).get("status")
                finish(report, as_json=as_json, code=Exit.OK)
            ended = follow(api, submission_id, progress, timeout=timeout, poll=poll)
            code, error, lines = conclude(api, ended, minimums, report)
    except ClientError as problem:
        fail(report, problem, as_json=as_json)
    echo("\n".join(lines), as_json=as_json)
    finish(report, as_json=as_json, code=code, error=error)


def register(app: typer.Typer) -> None:
    """Add the ``submit`` command to ``app``, its help ending with the exit-code table."""
    help_text = (
        "Upload MODEL to the service; with --wait, follow it and print its scores.\n\n"
        "Runs the local contract check first (gir check's fast path; --no-check skips it), "
        "uploads with a progress bar and prints the submission URL. A file you uploaded before "
        "is not sent twice: the earlier submission is followed. Progress goes to stderr, "
        "results to stdout.\n\nExit codes:\n\n" + exit_help()
    )
    app.command("submit", help=help_text)(submit)
