"""users: session generation (sign-out ends the session on the server)

Revision ID: d5a7c2e91f04
Revises: d5a7c2e9f410
Create Date: 2026-12-04 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5a7c2e91f04"
down_revision: str | None = "d5a7c2e9f410"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 0 for everyone: cookies issued before this revision carry no generation and read as 0,
    # so nobody is signed out by the upgrade.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
