"""line provenance: line_records, the records a version froze, foreign-line marks

Revision ID: e81f3c9d2a64
Revises: d5e2a7c41b90
Create Date: 2026-12-04 05:10:00.000000

Lines stored before this revision have no record: their provenance is unknown and stays so
(versions frozen from them show none); nothing about their values or scores changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "e81f3c9d2a64"
down_revision: str | None = "d5e2a7c41b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "task_id", sa.Integer(), sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("psnr", sa.Float(), nullable=False),
        sa.Column("gt_hash", sa.String(64), nullable=True),
        sa.Column("degradation_version", sa.String(16), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("metric_convention", sa.String(40), nullable=True),
        sa.Column("network", sa.String(120), nullable=True),
        sa.Column("profile", sa.String(40), nullable=True),
        sa.Column("iterations", sa.Integer(), nullable=True),
        sa.Column("train_set_hash", sa.String(64), nullable=True),
        sa.Column("train_seed", sa.Integer(), nullable=True),
        sa.Column("code_version", sa.String(40), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(120), nullable=False, server_default=""),
        sa.Column("foreign_reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_line_records_task_id", "line_records", ["task_id"])
    with op.batch_alter_table("version_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acceptance_record_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("excellence_record_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_version_tasks_acceptance_record", "line_records", ["acceptance_record_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_version_tasks_excellence_record", "line_records", ["excellence_record_id"], ["id"]
        )
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("foreign_lines", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.drop_column("foreign_lines")
    with op.batch_alter_table("version_tasks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_version_tasks_excellence_record", type_="foreignkey")
        batch_op.drop_constraint("fk_version_tasks_acceptance_record", type_="foreignkey")
        batch_op.drop_column("excellence_record_id")
        batch_op.drop_column("acceptance_record_id")
    op.drop_index("ix_line_records_task_id", table_name="line_records")
    op.drop_table("line_records")
