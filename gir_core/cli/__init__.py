"""`gir`: the researcher's command line.

Commands are small modules, each with ``register(app)``, so the CLI grows one file per command.
Two kinds live here:

* the client of the service's public REST API (``submit``, ``status``, ``results``,
  ``leaderboard``): light modules, registered at import, that need only the base install
  (httpx, typer);
* the science (``tasks``, ``generality``, ``check``, ``eval``): they need the ``[core]`` extra
  (numpy, torch, onnxruntime …), so they are imported only when their command runs (or help
  lists them). Without that extra each says so in one sentence and exits 2, and the client
  commands keep working: a CI job that only submits never downloads torch.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from gir_core.cli import remote_cmd, submit_cmd
from gir_core.cli.extras import CORE_EXTRA, core_missing

SCIENCE = {
    "tasks": "tasks_cmd",
    "generality": "generality_cmd",
    "check": "check_cmd",
    "eval": "eval_cmd",
}
"""Science commands and the module under ``gir_core.cli`` that registers each."""
EXIT_NO_CORE = 2


def _missing_core(holder: typer.Typer, name: str, error: ModuleNotFoundError) -> None:
    """Register a stand-in for a science command when the ``[core]`` extra is not installed."""
    sentence = (
        f"gir {name} needs the science extra, which is not installed ({error.name} is "
        f"missing): {CORE_EXTRA}"
    )
    anything = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}

    # Typer reads help as Rich markup, where "[core]" would vanish as a tag.
    @holder.command(name, help=escape(f"(needs {CORE_EXTRA})"), context_settings=anything)
    def explain(args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None) -> None:
        typer.echo(f"error: {sentence}", err=True)
        raise typer.Exit(EXIT_NO_CORE)


def _load_science(name: str) -> Any:
    """The click command of a science command, imported now (or its stand-in)."""
    holder = typer.Typer()
    try:
        module = importlib.import_module(f"gir_core.cli.{SCIENCE[name]}")
    except ModuleNotFoundError as error:
        if not core_missing(error):
            raise
        _missing_core(holder, name, error)
    else:
        module.register(holder)
    return typer.main.get_group(holder).commands[name]


class LazyGroup(TyperGroup):
    """The ``gir`` group: science commands are imported on first use (see the module doc).

    Contexts and commands are typed ``Any``: they are Typer's click types, whichever click
    (bundled or not) the installed Typer uses.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return [*SCIENCE, *super().list_commands(ctx)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in SCIENCE and cmd_name not in self.commands:
            self.commands[cmd_name] = _load_science(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="gir",
    cls=LazyGroup,
    help="GIR Bench for researchers: submit to the service from CI, check and evaluate models "
    "locally, list tasks, compute AR/ER.",
    no_args_is_help=True,
    add_completion=False,
    # A crash must not print local variables: they would include the API token.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """GIR Bench for researchers."""


submit_cmd.register(app)
remote_cmd.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
