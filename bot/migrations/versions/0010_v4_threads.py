"""Accurate mode in threads: a thread's session may be a v4 conversation, and a follow-up may
be a message queued with Browser Use.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("engine", sa.String(8), nullable=False, server_default="v2"))
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("queued_id", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_column("queued_id")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("engine")
