"""Spend caps: each slot keeps its channel, and the cost its task reported.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        batch.add_column(sa.Column("channel", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("cost", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        batch.drop_column("cost")
        batch.drop_column("channel")
