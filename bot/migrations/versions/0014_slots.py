"""Per-person limits counted by the app, for both engines: a slot per task, taken before it is
created (`bot.store.slots`).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("engine", sa.String(8), nullable=False),
        sa.Column("task_id", sa.String(64)),
        sa.Column("taken_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
    )
    op.create_index("slots_person", "slots", ["team", "user_id", "taken_at"])
    op.create_index("slots_task", "slots", ["task_id"])


def downgrade() -> None:
    op.drop_index("slots_task", "slots")
    op.drop_index("slots_person", "slots")
    op.drop_table("slots")
