"""submissions: task results stored at the latest start; deaths after progress are not charged

Revision ID: d5a7c2e9f410
Revises: a61f3c9d2e57
Create Date: 2026-12-04 05:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5a7c2e9f410"
down_revision: str | None = "a61f3c9d2e57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempt_progress", sa.Integer(), nullable=False, server_default="0")
        )
    # Existing rows: as if their latest start happened with what is stored now, so the next
    # interruption is charged exactly as before this revision.
    op.execute(
        "UPDATE submissions SET attempt_progress = (SELECT count(*) FROM task_results "
        "WHERE task_results.submission_id = submissions.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("attempt_progress")
