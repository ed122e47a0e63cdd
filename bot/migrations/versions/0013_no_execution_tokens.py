"""Workflow steps' execution tokens are no longer kept in the store (a credential, in plain
text): those kept by earlier versions are forgotten. A step they belonged to is completed with
the bot token, as one whose token expired.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tasks = sa.table("tasks", sa.column("execution_token", sa.String(255)))
    op.execute(
        tasks.update().where(tasks.c.execution_token.is_not(None)).values(execution_token=None)
    )


def downgrade() -> None:
    pass  # nothing to bring back
