"""Many workspaces: each workspace's Browser Use key (sealed), and the workspace in the key of
the two tables that had none (a thread's session, the settings).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _team() -> sa.Column:
    return sa.Column("team", sa.String(32), primary_key=True, server_default="")


# The tables whose primary key gains the workspace: their columns before the change.
REKEYED = {
    "threads": lambda: [
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("thread_ts", sa.String(32), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("profile_id", sa.String(64)),
        sa.Column("engine", sa.String(8), nullable=False, server_default="v2"),
    ],
    "settings": lambda: [
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("values", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    ],
}


def _rekey(name: str, columns: list[sa.Column], *, with_team: bool) -> None:
    """Copy `name` into a table with `columns`, then put it in its place: a primary key
    changes the same way on SQLite and PostgreSQL."""
    op.create_table(f"{name}_new", *columns)
    kept = [c.name for c in columns if c.name != "team"]
    listed = ", ".join(f'"{c}"' for c in kept)
    into = f'"team", {listed}' if with_team else listed
    pick = f"'', {listed}" if with_team else listed
    # Names from this file only, never from input.
    op.execute(f"INSERT INTO {name}_new ({into}) SELECT {pick} FROM {name}")  # noqa: S608
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)


def upgrade() -> None:
    op.create_table(
        "workspace_keys",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("api_key", sa.Text, nullable=False),
        sa.Column("project_id", sa.String(64)),
        sa.Column("connected_by", sa.String(32), nullable=False),
        sa.Column("connected_at", sa.Float, nullable=False),
    )
    for name, columns in REKEYED.items():
        _rekey(name, [_team(), *columns()], with_team=True)


def downgrade() -> None:
    for name, columns in REKEYED.items():
        _rekey(name, columns(), with_team=False)
    op.drop_table("workspace_keys")
