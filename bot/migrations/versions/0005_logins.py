"""Saved logins: a Browser Use profile per login, who owns it, who may use it, its open browser.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("start_url", sa.Text),
        sa.Column("proxy", sa.String(8)),
        sa.Column("shared", sa.String(16), nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("cookie_domains", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("saved_at", sa.Float),
        sa.Column("session_id", sa.String(64)),
        sa.Column("session_deadline", sa.Float),
        sa.Column("session_owner", sa.String(64)),
        sa.Column("session_until", sa.Float),
        sa.Column("message_channel", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
    )
    op.create_index("logins_name", "logins", ["team", "name_key"], unique=True)


def downgrade() -> None:
    op.drop_index("logins_name", "logins")
    op.drop_table("logins")
