"""`gir tasks`: list the public representative tasks with their canonical text.

``gir tasks --hidden --seed SECRET`` prints the stratified hidden set drawn from an operator's
secret (:func:`gir_core.hidden.hidden_tasks`, the function ``gir-admin tasks sample-hidden``
uses): an operator tool, since whoever knows the secret knows the hidden tasks.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gir_core.errors import GirError
from gir_core.hidden import DEFAULT_PER_ORDER, hidden_tasks
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


def hidden_listing(secret: int, per_order: int) -> list[dict[str, object]]:
    """The stratified hidden set of ``secret``: number (1-based), order, canonical text, id."""
    try:
        tasks = hidden_tasks(secret, per_order)
    except GirError as error:
        raise typer.BadParameter(str(error)) from None
    return [
        {"number": number, "order": task.order, "text": str(task), "id": task.id}
        for number, task in enumerate(tasks, start=1)
    ]


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command to ``app``."""

    @app.command("tasks")
    def tasks(
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
        hidden: Annotated[
            bool,
            typer.Option("--hidden", help="Print the hidden set drawn from --seed (operators)."),
        ] = False,
        seed: Annotated[
            int | None,
            typer.Option("--seed", min=0, help="The operator's secret (GIR_HIDDEN_SEED)."),
        ] = None,
        per_order: Annotated[
            int, typer.Option("--per-order", min=1, help="Hidden tasks per order k = 1..5.")
        ] = DEFAULT_PER_ORDER,
    ) -> None:
        """List the 50 representative tasks (id, order k, canonical text), or the hidden set."""
        if hidden != (seed is not None):
            raise typer.BadParameter("--hidden and --seed go together: --hidden --seed SECRET")
        rows = hidden_listing(seed, per_order) if seed is not None else tasks_listing()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        typer.echo(f"{'id':>3}  {'k':>1}  task")
        for row in rows:
            text = row["text"] if hidden else row["task"]
            typer.echo(f"{row['number']:>3}  {row['order']:>1}  {text}")
