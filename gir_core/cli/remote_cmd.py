"""`gir status`, `gir results`, `gir leaderboard`: read the service's public REST API.

A token is optional here (public submissions and the board need none); with one, your private
submissions are readable too.
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Annotated

import typer

from gir_core.cli import client_common as common
from gir_core.cli.submit_cmd import conclude
from gir_core.client.api import Api, Json
from gir_core.client.errors import ClientError, Exit
from gir_core.client.follow import ENDED, Eta, describe, follow
from gir_core.client.progress import Progress
from gir_core.client.render import leaderboard_text, results_csv, results_text

IdArg = Annotated[int, typer.Argument(min=1, help="Submission id.", show_default=False)]


def status(
    submission_id: IdArg,
    wait: common.WaitOpt = False,
    timeout: common.TimeoutOpt = None,
    as_json: common.JsonOpt = False,
    quiet: common.QuietOpt = False,
    url: common.UrlOpt = common.DEFAULT_URL,
    token: common.TokenOpt = None,
    poll: common.PollOpt = common.DEFAULT_POLL,
) -> None:
    """Show a submission's status; once scored, its summary (exit codes as gir submit)."""
    report: Json = {"id": submission_id}
    try:
        with closing(Api(url, token)) as api:
            report["url"] = api.page_url(submission_id)
            if wait:
                current = follow(
                    api, submission_id, Progress(quiet=quiet), timeout=timeout, poll=poll
                )
            else:
                current = api.submission(submission_id)
            code, error, lines = conclude(api, current, {}, report)
    except ClientError as problem:
        common.fail(report, problem, as_json=as_json)
    if current.get("status") not in ENDED:
        report["progress"] = current.get("progress")
        lines = [f"submission {submission_id}: {describe(current, Eta())}"]
    common.echo("\n".join(lines), as_json=as_json)
    common.finish(report, as_json=as_json, code=code, error=error)


def results(
    submission_id: IdArg,
    as_json: common.JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Public tasks as CSV.")] = False,
    url: common.UrlOpt = common.DEFAULT_URL,
    token: common.TokenOpt = None,
) -> None:
    """Per-task results of public tasks (hidden tasks count in the summary only)."""
    if as_json and as_csv:
        common.finish({}, as_json=False, code=Exit.USAGE, error="choose one of --json and --csv")
    try:
        with closing(Api(url, token)) as api:
            body = api.results(submission_id)
    except ClientError as error:
        common.fail({"id": submission_id}, error, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(body, indent=2))
    elif as_csv:
        typer.echo(results_csv(body), nl=False)
    else:
        typer.echo(results_text(body))


def leaderboard(
    version: Annotated[
        str | None, typer.Option(help="Benchmark version (default: active).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")] = 50,
    as_json: common.JsonOpt = False,
    url: common.UrlOpt = common.DEFAULT_URL,
    token: common.TokenOpt = None,
) -> None:
    """The public leaderboard of a benchmark version, best first."""
    try:
        with closing(Api(url, token)) as api:
            board = api.leaderboard(version, limit)
    except ClientError as error:
        common.fail({"version": version}, error, as_json=as_json)
    typer.echo(json.dumps(board, indent=2) if as_json else leaderboard_text(board))


def register(app: typer.Typer) -> None:
    """Add ``status``, ``results`` and ``leaderboard`` to ``app``."""
    app.command("status")(status)
    app.command("results")(results)
    app.command("leaderboard")(leaderboard)
