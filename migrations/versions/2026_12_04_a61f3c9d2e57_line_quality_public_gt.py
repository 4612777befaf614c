"""line quality and public ground truth: input PSNR next to the lines, gt_public on versions

Revision ID: a61f3c9d2e57
Revises: e81f3c9d2a64
Create Date: 2026-12-04 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a61f3c9d2e57"
down_revision: str | None = "e81f3c9d2a64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable input PSNR: lines stored before this revision were measured without it; the
    # line-quality rule then checks only the excellence-acceptance spread for them.
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_psnr", sa.Float(), nullable=True))
    with op.batch_alter_table("version_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_psnr", sa.Float(), nullable=True))
    # Existing versions keep today's behaviour: no public-GT banner.
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gt_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.drop_column("gt_public")
    with op.batch_alter_table("version_tasks", schema=None) as batch_op:
        batch_op.drop_column("input_psnr")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("input_psnr")
