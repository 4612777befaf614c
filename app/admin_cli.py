"""`gir-admin`: the operator's command line.

Each command is thin: parse, call :mod:`gir_core` or a service, and turn our errors into one
sentence on stderr with exit code 2, so scripts can tell bad input from a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gir_core.errors import GirError
from gir_core.images import load_image
from gir_core.preview import contact_sheet, save_sheet
from gir_core.tasks import select_tasks

app = typer.Typer(
    name="gir-admin",
    help="Operate GIR Bench: tasks, previews, images, lines and benchmark versions.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_BAD_INPUT = 2


@app.callback()
def _root() -> None:
    """Operate GIR Bench."""


def fail(message: str) -> typer.Exit:
    """Print ``message`` on stderr and return the exit for bad input (raise it)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


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


def main() -> None:
    """Console-script entry point."""
    app()
