"""Settings kept in Slack: each channel's defaults, with who changed them and when.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        # A channel ID for a channel's defaults (the workspace's own scope may follow).
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("values", sa.Text, nullable=False),  # JSON: Create Task request fields
        sa.Column("updated_by", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("settings")
