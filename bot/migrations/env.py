"""Alembic's entry point. Migrations run from `bot.store.Store.migrate` on a connection it opens
(at every start, and by `python -m bot migrate`), never from an alembic.ini."""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it; Alembic's batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
