"""What the client commands share: connection options, output switches, how they end.

Every client command ends through :func:`finish`: the sentence of a failure on stderr, with
``--json`` one JSON object on stdout (also on failure, so a CI step can always parse it), and the
exit code of :mod:`gir_core.client.errors`.
"""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer

from gir_core.client.api import Json
from gir_core.client.errors import ClientError, Exit
from gir_core.client.follow import POLL_S

DEFAULT_URL = "http://127.0.0.1:8000"

UrlOpt = Annotated[
    str,
    typer.Option("--url", envvar="GIR_URL", help="The service's root URL.", show_envvar=True),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="GIR_TOKEN",
        help="API token (prefer the GIR_TOKEN variable: a command line shows up in process "
        "lists and shell history). Never printed.",
        show_default=False,
        show_envvar=True,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Follow the submission until it ends.")]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", min=0, help="With --wait: give up after SECONDS (exit 5)."),
]
PollOpt = Annotated[
    float, typer.Option("--poll", min=0.1, hidden=True, help="Seconds between status reads.")
]
DEFAULT_POLL = POLL_S


def finish(report: Json, *, as_json: bool, code: Exit, error: str | None = None) -> NoReturn:
    """End the command: the error sentence on stderr, the JSON object on stdout, the code."""
    if error is not None:
        typer.echo(f"error: {error}", err=True)
    if as_json:
        typer.echo(json.dumps({**report, "exit_code": int(code), "error": error}, indent=2))
    raise typer.Exit(int(code))


def fail(report: Json, error: ClientError, *, as_json: bool) -> NoReturn:
    """End the command on a :class:`ClientError`."""
    finish(report, as_json=as_json, code=error.code, error=error.message)


def failure_sentence(submission: Json) -> str | None:
    """Why an ended submission did not score (the service's sentence), or None."""
    status = submission.get("status")
    if status == "cancelled":
        return f"submission {submission.get('id')} was cancelled"
    if status != "failed":
        return None
    reason = submission.get("error_message") or "no reason was given"
    code = submission.get("error_code")
    return (
        f"submission {submission.get('id')} failed"
        + (f" ({code})" if code else "")
        + (f": {reason}")
    )


def echo(text: str, *, as_json: bool) -> None:
    """Results on stdout, unless the one JSON object will say it all."""
    if not as_json:
        typer.echo(text)
