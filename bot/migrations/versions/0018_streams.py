"""The stream that shows a task's steps in its thread (`chat.startStream`): its message, when it
started, and the last step it shows, so any process can go on with it or close it.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("stream_ts", sa.String(32)))
        batch.add_column(sa.Column("stream_at", sa.Float))
        batch.add_column(sa.Column("stream_step", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("stream_step")
        batch.drop_column("stream_at")
        batch.drop_column("stream_ts")
