"""The database: its URL (Heroku's `postgres://` included), the async engine for SQLite or
PostgreSQL, what counts as the database being out of reach (`StoreUnavailable`), and bringing
the schema up to date with the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.schema import (
    DEFAULT_DATABASE_URL,
    MIGRATIONS,
    metadata,
)

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)


def database_url(raw: str | None) -> str:
    """`DATABASE_URL` as SQLAlchemy's async drivers take it. Heroku's `postgres://…?sslmode=…`
    becomes `postgresql+asyncpg://…?ssl=…`; an unset value is the SQLite file."""
    if not raw:
        return DEFAULT_DATABASE_URL
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise ValueError("DATABASE_URL must look like postgresql://user:pass@host/db")
    scheme = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(scheme, scheme)
    url = make_url(f"{scheme}://{rest}")
    if url.drivername == "postgresql+asyncpg" and "sslmode" in url.query:
        # asyncpg knows `ssl`, not libpq's `sslmode`.
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    return url.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The URL fit for a log line: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


class StoreUnavailable(Exception):
    """The database could not be used at all (refused, gone, timed out): nothing the call was
    to do was done. `reason` is the driver's error class, for the log; never a URL."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# PostgreSQL's error classes that mean the server or the database is not there to use:
# 08 connection exceptions, 57 operator intervention (shutdown), 3D000 the database is gone.
_UNREACHABLE_SQLSTATES = ("08", "57", "3D")


def unreachable_reason(exc: BaseException) -> str | None:
    """Why `exc`, raised while using the database, means it cannot be reached; None when it is
    some other failure (a broken statement, a unique key). Follows the driver's error and its
    causes (asyncpg's refused connection is not wrapped; its lost database is)."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            break
        original = getattr(current, "orig", None)
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current, OperationalError | InterfaceError)
        ):
            return type(original or current).__name__
        if isinstance(current, OSError | PoolTimeout | asyncio.TimeoutError):
            return type(current).__name__
        if str(getattr(current, "sqlstate", "") or "").startswith(_UNREACHABLE_SQLSTATES):
            return type(current).__name__
        current = original if isinstance(original, BaseException) else current.__cause__
    return None


def bring_up_to_date(connection: Any) -> None:
    """The schema at the newest migration. A database at an older one runs the migrations after
    it (Alembic's `upgrade head`); a new one gets the tables as declared here, marked as at the
    newest migration (Alembic's recipe for a database built from scratch): the same schema,
    tested, for a third of the CPU of replaying every migration since the first."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    context = MigrationContext.configure(connection)
    current = context.get_current_revision()
    if current == _scripts().get_current_head():
        return  # up to date (a restart, another process): no script to load and run
    if current is None and not set(metadata.tables) & set(inspect(connection).get_table_names()):
        metadata.create_all(connection)
        context.stamp(_scripts(), "head")
        return
    replay_migrations(connection)


def replay_migrations(connection: Any, to: str = "head") -> None:
    """Alembic's `upgrade`: every migration after the database's own, up to `to`, run from the
    scripts."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, to)


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once per process."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive lock on `path`, waited for without blocking the event loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _raise_if_unreachable(exc: Exception) -> None:
    reason = unreachable_reason(exc)
    if reason is not None:
        raise StoreUnavailable(reason) from exc


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A connection that died with its server (a failover) is noticed before it is used.
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
        # WAL lets reads go on during a write; the busy timeout waits for a write in progress.
        # In WAL mode, synchronous=NORMAL syncs at checkpoints rather than at every commit: the
        # database cannot be corrupted, and a power cut loses at most the last few lease
        # renewals, which expire anyway.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
