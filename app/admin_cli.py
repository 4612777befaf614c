"""`gir-admin`: the operator's command line.

Each command is thin: parse, open its own session, call :mod:`gir_core` or a service. Our errors
(a service's :class:`~app.errors.ServiceError`, gir_core's :class:`~gir_core.errors.GirError`)
become one sentence on stderr with exit code 2 in one place, :class:`_Commands`, so scripts can
tell bad input from a crash. The benchmark commands live in :mod:`app.benchmarks.cli`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from typer.core import TyperGroup

from app.auth import service as auth_service
from app.benchmarks import moderation
from app.benchmarks.cli import images_app, lines_app, tasks_app, versions_app
from app.db import new_session
from app.demo import DemoPlan, run_demo
from app.errors import Invalid, ServiceError
from app.migrate import upgrade
from app.settings import get_settings
from app.storage.cli import storage_app
from app.submissions import lifecycle
from app.submissions.status import Status
from gir_core.errors import GirError
from gir_core.images import load_image
from gir_core.preview import contact_sheet, save_sheet
from gir_core.tasks import select_tasks

EXIT_BAD_INPUT = 2


def fail(message: str) -> typer.Exit:
    """Print ``message`` on stderr and return the exit for bad input (raise it)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


class _Commands(TyperGroup):
    """The root group: turns our domain errors, raised by any sub-command, into :func:`fail`."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        try:
            return super().invoke(ctx)
        except ServiceError as error:
            raise fail(error.message) from None
        except GirError as error:
            raise fail(str(error)) from None


app = typer.Typer(
    name="gir-admin",
    cls=_Commands,
    help="Operate GIR Bench: users, images, tasks, lines, benchmark versions, submissions.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Accounts: create, promote to admin, list.")
submissions_app = typer.Typer(help="Moderation: rescore, hide, re-enqueue stale jobs.")
for _name, _sub in (
    ("users", users_app),
    ("images", images_app),
    ("tasks", tasks_app),
    ("lines", lines_app),
    ("versions", versions_app),
    ("submissions", submissions_app),
    ("storage", storage_app),
):
    app.add_typer(_sub, name=_name, no_args_is_help=True)


@app.callback()
def _root() -> None:
    """Operate GIR Bench."""


@app.command("preview")
def preview(
    image: Annotated[list[Path], typer.Option("--image", help="Clean image file (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the contact sheet PNGs.")],
    tasks: Annotated[
        str, typer.Option("--tasks", help="'representative' or a task text like 'haze + noise'.")
    ] = "representative",
    seed: Annotated[int, typer.Option(help="Benchmark seed used to degrade.")] = 0,
    max_side: Annotated[
        int, typer.Option(help="Downscale clean images to this longest side.")
    ] = 512,
) -> None:
    """Write a contact sheet PNG per image: the clean image and each task's degraded version."""
    try:
        selected = select_tasks(tasks)
        task_list = [task for _, task in selected]
        titles = [f"#{key}" if key.isdigit() else f"task {key}" for key, _ in selected]
        for path in image:
            clean = load_image(path, max_side=max_side)
            sheet = contact_sheet(clean, task_list, seed=seed, titles=titles)
            typer.echo(str(save_sheet(sheet, out, path.stem)))
    except GirError as error:
        raise fail(str(error)) from None


@app.command("demo")
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Bootstrap only, then exit.")
    ] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="API port (default: GIR_DEMO_PORT or 8000).")
    ] = None,
) -> None:
    """The embedded demo (what `make demo` runs): build what is missing, serve until Ctrl-C."""
    code = run_demo(DemoPlan(), serve=not no_serve, port=port)
    if code:
        raise typer.Exit(code)


Email = Annotated[str, typer.Option("--email", help="E-mail address (the login).")]


@app.command("init")
def init(
    email: Annotated[str | None, typer.Option("--email", help="First admin's e-mail.")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="First admin's password.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="First admin's display name.")] = "admin",
) -> None:
    """Migrate the database to the newest schema and create the first administrator."""
    settings = get_settings()
    if settings.is_sqlite:  # the embedded default lives in var/, which a fresh clone lacks
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    upgrade()
    typer.echo("database migrated to the newest schema")
    with new_session() as session:
        admins = [u for u in auth_service.list_users(session=session) if u.is_admin]
        if admins and email is None:
            typer.echo(f"an administrator exists already ({admins[0].email}); nothing to create")
            return
        email = email or typer.prompt("admin e-mail")
        password = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
        user = auth_service.create_user(
            session=session, email=email, name=name, password=password, admin=True
        )
        typer.echo(f"created administrator {user.email}")


@users_app.command("create")
def create_user(
    email: Email,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, help="Password.")
    ],
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator.")] = False,
) -> None:
    """Create an account."""
    with new_session() as session:
        user = auth_service.create_user(
            session=session, email=email, name=name, password=password, admin=admin
        )
        typer.echo(f"created {'administrator' if user.is_admin else 'user'} {user.email}")


@users_app.command("promote")
def promote(email: Annotated[str, typer.Argument(help="The account's e-mail.")]) -> None:
    """Make an account an administrator."""
    with new_session() as session:
        user = auth_service.promote(session=session, email=email)
        typer.echo(f"{user.email} is now an administrator")


@users_app.command("list")
def list_users() -> None:
    """List the accounts."""
    with new_session() as session:
        for user in auth_service.list_users(session=session):
            role = "admin" if user.is_admin else "user"
            typer.echo(f"{user.id:>6}  {role:<5}  {user.email}  {user.name}")


@submissions_app.command("rescore")
def rescore(
    submission_id: Annotated[int | None, typer.Argument(help="Submission id.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every scored or failed one.")] = False,
) -> None:
    """Score a submission again from scratch on the active version (results deleted)."""
    if (submission_id is None) == (not every):
        raise Invalid("give either a submission ID or --all")
    with new_session() as session:
        if submission_id is not None:
            moderation.rescore(session=session, submission_id=submission_id)
            ids = [submission_id]
        else:
            ids = moderation.rescore_all(session=session)
    typer.echo(f"queued {len(ids)} submission(s) for rescoring")


@submissions_app.command("hide")
def hide(
    submission_id: Annotated[int, typer.Argument(help="Submission id.")],
    undo: Annotated[bool, typer.Option("--undo", help="Show it again.")] = False,
) -> None:
    """Take a submission off the public leaderboard (--undo puts it back)."""
    with new_session() as session:
        moderation.hide(session=session, submission_id=submission_id, hidden=not undo)
    typer.echo(f"submission {submission_id} is {'visible' if undo else 'hidden'}")


@submissions_app.command("requeue-stale")
def requeue_stale() -> None:
    """Re-enqueue queued/running submissions without a recent heartbeat (what the reconciler
    does periodically); fail those that already used their attempts."""
    with new_session() as session:
        actions = lifecycle.requeue_stale(session=session, now=datetime.now(UTC))
    failed = [item.submission_id for item in actions if item.action == Status.FAILED]
    typer.echo(f"requeued {len(actions) - len(failed)}, failed {len(failed)}")
    for item in actions:
        typer.echo(f"  submission {item.submission_id}: {item.action}")


def main() -> None:
    """Console-script entry point."""
    app()
