"""summary: bootstrap interval of ER

Revision ID: c3e8f1a90b27
Revises: 62547b0e7125
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e8f1a90b27"
down_revision: str | None = "62547b0e7125"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: summaries computed before this revision have no ER interval until rescored.
    with op.batch_alter_table("summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("er_low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("er_high", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("summaries", schema=None) as batch_op:
        batch_op.drop_column("er_high")
        batch_op.drop_column("er_low")
