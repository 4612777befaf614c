"""leaderboard change counter (board_state) bumped by triggers

Revision ID: 62547b0e7125
Revises: b7c41e0d2f93
Create Date: 2026-11-29 09:00:00.000000

On PostgreSQL, statement-level triggers bump ``board_state.version`` in the same transaction as
any change to a column the leaderboard shows or filters on, so the counter (and its row's
``xmin``) is a cheap, exact "has the board changed?" key for the per-process page cache.
Triggers, not application code, because the board changes from the API, the workers, the admin
CLI and hand-written SQL alike. SQLite (the embedded demo) gets the table but no triggers: its
board is not cached, and SQLite's batch migrations would silently drop triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "62547b0e7125"
down_revision: str | None = "b7c41e0d2f93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "gir_bump_board_state"
# What the board reads from each table (app.leaderboard.service); UPDATEs of other columns,
# such as progress and heartbeats while a model is scored, leave the cache alone.
WATCHED = {
    "submissions": (
        "id, owner_id, name, format, paper_url, code_url, is_baseline, is_hidden, "
        "visibility, status, parameters, seconds_per_mp, created_at, benchmark_version_id"
    ),
    "summaries": None,  # every column is on the board
    "users": "id, name",
    "benchmark_versions": "id, name, is_active",
}


def _events(columns: str | None) -> str:
    update = "UPDATE" if columns is None else f"UPDATE OF {columns}"
    return f"INSERT OR {update} OR DELETE OR TRUNCATE"


def upgrade() -> None:
    op.create_table(
        "board_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_state")),
    )
    op.execute("INSERT INTO board_state (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name != "postgresql":
        return
    # An upsert, so the counter survives a TRUNCATE of board_state itself (the test suite
    # empties every table).
    op.execute(
        f"""
        CREATE FUNCTION {BUMP}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO board_state (id, version) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET version = board_state.version + 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table, columns in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER {table}_board_state AFTER {_events(columns)} ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {BUMP}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_board_state ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {BUMP}()")
    op.drop_table("board_state")
