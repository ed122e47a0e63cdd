"""A thread's browser remembers the profile it was opened with (to save a login into it).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("profile_id", sa.String(64)))


def downgrade() -> None:
    op.drop_column("threads", "profile_id")
