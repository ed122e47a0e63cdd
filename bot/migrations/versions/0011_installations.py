"""Many workspaces: each installation of the app (its tokens sealed), and the OAuth states.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False),
        sa.Column("app_id", sa.String(32)),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.Text),
        sa.Column("bot_token", sa.Text, nullable=False),
        sa.Column("bot_refresh_token", sa.Text),
        sa.Column("bot_token_expires_at", sa.Float),
        sa.Column("installer", sa.String(32)),
        sa.Column("installed_at", sa.Float, nullable=False),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")
    op.drop_table("installations")
