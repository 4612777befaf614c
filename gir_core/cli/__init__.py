"""`gir`: the researcher's command line (no server needed).

Commands are small modules, each with ``register(app)``, so the CLI grows one file per command.
"""

from __future__ import annotations

import typer

from gir_core.cli import generality_cmd, tasks_cmd

app = typer.Typer(
    name="gir",
    help="GIR Bench for researchers: inspect the public tasks and compute generality metrics.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """GIR Bench for researchers."""


tasks_cmd.register(app)
generality_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
