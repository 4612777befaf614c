"""image set max_side; at most one active benchmark version

Revision ID: b7c41e0d2f93
Revises: a1d13a521e6f
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c41e0d2f93"
down_revision: str | None = "a1d13a521e6f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("image_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_side", sa.Integer(), nullable=True))
    op.create_index(
        "uq_benchmark_versions_one_active",
        "benchmark_versions",
        ["is_active"],
        unique=True,
        postgresql_where=sa.text("is_active"),
        sqlite_where=sa.text("is_active"),
    )


def downgrade() -> None:
    op.drop_index("uq_benchmark_versions_one_active", table_name="benchmark_versions")
    with op.batch_alter_table("image_sets", schema=None) as batch_op:
        batch_op.drop_column("max_side")
