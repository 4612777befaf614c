"""`gir tasks`: list the public representative tasks with their canonical text."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gir_core.paper import paper_lines
from gir_core.tasks import Task


def tasks_listing() -> list[dict[str, object]]:
    """Table C.1's representative tasks: number, order, canonical text, id and paper lines."""
    rows: list[dict[str, object]] = []
    for line in paper_lines():
        if line.text is None:
            continue
        task = Task.parse(line.text)
        rows.append(
            {
                "number": line.number,
                "order": task.order,
                "task": str(task),
                "id": task.id,
                "acceptance_psnr": line.acceptance_psnr,
                "excellence_psnr": line.excellence_psnr,
            }
        )
    return rows


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command to ``app``."""

    @app.command("tasks")
    def tasks(
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
    ) -> None:
        """List the 50 representative tasks (id, order k, canonical text)."""
        rows = tasks_listing()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        typer.echo(f"{'id':>3}  {'k':>1}  task")
        for row in rows:
            typer.echo(f"{row['number']:>3}  {row['order']:>1}  {row['task']}")
