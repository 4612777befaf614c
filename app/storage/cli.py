"""`gir-admin storage`: where storage is and whether it works; prepare a bucket; move a store.

Errors (unreachable storage, a bad URL, a failed copy) become one sentence and exit code 2 in
:mod:`app.admin_cli`'s command group.
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.settings import get_settings
from app.storage import admin as storage_admin
from app.storage import get_storage, open_storage

storage_app = typer.Typer(help="Storage: check it, prepare a bucket, migrate a folder to S3.")


@storage_app.command("check")
def check() -> None:
    """Print where storage is, whether it can be read and written, and the worker cache."""
    for line in storage_admin.check_lines(get_storage()):
        typer.echo(line)


@storage_app.command("init")
def init() -> None:
    """Create the configured bucket if missing and set its incomplete-upload lifecycle rule."""
    typer.echo(storage_admin.init(get_storage()))


@storage_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="Target: s3://bucket/prefix or a folder.")],
    verbose: Annotated[bool, typer.Option("--verbose", help="Print every key.")] = False,
) -> None:
    """Copy the configured store into another (idempotent, resumable, hash-verified)."""
    settings = get_settings()
    target = open_storage(
        to, cache_dir=settings.cache_dir, cache_max_bytes=settings.cache_max_bytes
    )
    source = get_storage()
    typer.echo(f"migrating {source.describe()} → {target.describe()}")

    def show(key: str, outcome: str) -> None:
        if verbose:
            typer.echo(f"  {outcome} {key}")

    done = storage_admin.migrate(source, target, progress=show)
    typer.echo(f"copied {done.copied}, already there {done.skipped}: every key verified")
    typer.echo(f"now set GIR_STORAGE_URL={to} on every machine")
