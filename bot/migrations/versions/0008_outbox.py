"""The outbox: what the app owes people in Slack while Slack is down.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(64)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("owner_until", sa.Float),
    )
    op.create_index("outbox_task", "outbox", ["task_id"])


def downgrade() -> None:
    op.drop_index("outbox_task", "outbox")
    op.drop_table("outbox")
