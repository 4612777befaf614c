"""benchmark versions: metric convention and real-world max side

Revision ID: d5e2a7c41b90
Revises: c3e8f1a90b27
Create Date: 2026-12-04 05:00:00.000000

Existing versions were scored with PSNR on RGB, outputs rounded to 8 bit and no border crop,
and their real-world inputs were downscaled to the GT max side: they get exactly that recorded,
so their scores keep their meaning. New versions default (in the application) to the authors'
convention, ``rgb,crop=4,8bit``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5e2a7c41b90"
down_revision: str | None = "c3e8f1a90b27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY = "rgb,crop=0,8bit"


def upgrade() -> None:
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "metric_convention", sa.String(40), nullable=False, server_default=LEGACY
            )
        )
        batch_op.add_column(sa.Column("real_world_max_side", sa.Integer(), nullable=True))
    op.execute("UPDATE benchmark_versions SET real_world_max_side = max_side")


def downgrade() -> None:
    with op.batch_alter_table("benchmark_versions", schema=None) as batch_op:
        batch_op.drop_column("real_world_max_side")
        batch_op.drop_column("metric_convention")
