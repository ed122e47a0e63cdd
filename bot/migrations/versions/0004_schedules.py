"""Recurring tasks: each schedule, when it runs next, and what its last run said.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("repeat", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("on_change", sa.Boolean, nullable=False),
        sa.Column("notify", sa.Boolean, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_reason", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_run_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_run_at", sa.Float),
        sa.Column("last_task_id", sa.String(64)),
        sa.Column("last_status", sa.String(16)),
        sa.Column("last_output", sa.Text),
        sa.Column("changed_at", sa.Float),
        sa.Column("unchanged_ts", sa.String(32)),
    )
    op.create_index("schedules_due", "schedules", ["paused", "next_run_at"])
    op.add_column("tasks", sa.Column("schedule_id", sa.Integer))


def downgrade() -> None:
    op.drop_column("tasks", "schedule_id")
    op.drop_index("schedules_due", "schedules")
    op.drop_table("schedules")
