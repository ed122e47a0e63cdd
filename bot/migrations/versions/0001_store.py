"""The store: tasks, thread sessions, request keys, waiting follow-ups, live processes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), unique=True),
        sa.Column("max_steps", sa.Integer),
        sa.Column("thread_session", sa.Boolean, nullable=False),
        sa.Column("status_ts", sa.String(32)),
        sa.Column("react_ts", sa.String(32)),
        sa.Column("recovered", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("reported_at", sa.Float),
        sa.Column("report_owner", sa.String(64)),
        sa.Column("report_until", sa.Float),
        sa.Column("follower", sa.String(64)),
        sa.Column("follow_until", sa.Float),
    )
    # The sweep for tasks nobody follows reads only unreported ones.
    op.create_index("tasks_unreported", "tasks", ["reported_at", "follow_until"])
    op.create_table(
        "threads",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("thread_ts", sa.String(32), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "request_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_index("request_keys_seen_at", "request_keys", ["seen_at"])
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("owner", sa.String(64)),
        sa.Column("owner_until", sa.Float),
    )
    op.create_table(
        "processes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("processes", "follow_ups", "request_keys", "threads", "tasks"):
        op.drop_table(table)
