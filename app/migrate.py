"""Run Alembic from code (``gir-admin init``, ``make demo``, tests) with the same scripts."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> Config:
    """Config pointing at ``migrations/`` (or ``GIR_MIGRATIONS_DIR`` in unusual layouts)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option(
        "script_location", os.environ.get("GIR_MIGRATIONS_DIR", str(ROOT / "migrations"))
    )
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` (default: the configured one) up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


if __name__ == "__main__":
    upgrade()
