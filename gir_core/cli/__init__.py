"""`gir`: the researcher's command line (no server needed).

Commands are small modules, each with ``register(app)``, so the CLI grows one file per command.
"""

from __future__ import annotations

import typer

from gir_core.cli import check_cmd, eval_cmd, generality_cmd, tasks_cmd

app = typer.Typer(
    name="gir",
    help="GIR Bench for researchers: check and evaluate models locally, list tasks, compute AR/ER.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """GIR Bench for researchers."""


tasks_cmd.register(app)
generality_cmd.register(app)
check_cmd.register(app)
eval_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
