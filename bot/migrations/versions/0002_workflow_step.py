"""What a task needs after it starts: its Workflow Builder step, and its request (Run again).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("execution_id", sa.String(64)))
        # The execution's own token (it expires; the bot token is the fallback). Cleared once
        # the step is completed.
        batch.add_column(sa.Column("execution_token", sa.String(255)))
        # No person asked (a workflow with nobody to notify): the result mentions nobody.
        batch.add_column(sa.Column("quiet", sa.Boolean, nullable=False, server_default=sa.false()))
        # The Create Task request as the person set it, secrets left out (they are typed again).
        batch.add_column(sa.Column("request", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("request")
        batch.drop_column("quiet")
        batch.drop_column("execution_token")
        batch.drop_column("execution_id")
