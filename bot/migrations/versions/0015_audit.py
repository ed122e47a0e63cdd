"""The audit trail (`bot.store.audit`).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32)),
        sa.Column("task_id", sa.String(64)),
        sa.Column("login", sa.String(100)),
        sa.Column("cost", sa.Float),
        sa.Column("detail", sa.Text),
    )
    op.create_index("audit_when", "audit", ["team", "at"])


def downgrade() -> None:
    op.drop_index("audit_when", "audit")
    op.drop_table("audit")
