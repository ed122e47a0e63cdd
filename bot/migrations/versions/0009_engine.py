"""Each task says which agent runs it: "v2" (a task) or "v4" (a run, accurate mode).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("engine", sa.String(8), nullable=False, server_default="v2"))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("engine")
