"""What every part of the store stands on: the engine and the connection, one short transaction a
call, this process's name in leases, and the workspace a view is scoped to.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Table,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from bot.store.engine import _engine, _file_lock, _raise_if_unreachable, bring_up_to_date
from bot.store.schema import (
    MIGRATION_LOCK,
)

# A stop waits at most this long for store calls whose callers were cancelled.
CLOSE_WAIT_SECONDS = 5.0

S = TypeVar("S", bound="StoreBase")

log = logging.getLogger(__name__)


def new_owner() -> str:
    """This process's name in leases and heartbeats: readable in the database, and unique."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _shielded(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`method`, run to its end even when its caller is cancelled (a stop cancels the work in
    flight): cancelled mid-statement, aiosqlite's connection was left busy, and the stop's own
    writes (handing its leases on) waited out SQLite's busy timeout. The caller still stops
    waiting at once; `StoreBase.close` waits for what is left."""

    @functools.wraps(method)
    async def call(self: StoreBase, *args: Any, **kwargs: Any) -> Any:
        running = asyncio.ensure_future(method(self, *args, **kwargs))
        self._running.add(running)
        running.add_done_callback(_settled(self._running))
        return await asyncio.shield(running)

    return call


def _settled(running: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(call: asyncio.Future[Any]) -> None:
        running.discard(call)
        if not call.cancelled():
            call.exception()  # retrieved: a caller that stopped waiting does not read it

    return done


class StoreBase:
    """One per process. Each method is one short transaction, shielded from its caller's
    cancellation (`_shielded`): every public coroutine of every part of the store is."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(value):
                setattr(cls, name, _shielded(value))

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.owner = owner or new_owner()
        self.clock = clock
        # Store calls under way (shared by the workspaces' views of this store).
        self._running: set[asyncio.Future[Any]] = set()
        # Many workspaces: the one whose rows this view reads and writes (`scoped`). None: the
        # deployment serves one workspace, and every row is its.
        self.tenant: str | None = None

    def scoped(self: S, tenant: str) -> S:
        """This store as one workspace sees it: every read and write of a workspace's rows
        (tasks, threads, follow-ups, settings, schedules, logins, the outbox) is that
        workspace's, and each row it writes is marked as its. Shares the connection pool."""
        view = copy.copy(self)
        view.tenant = tenant
        return view

    def _ours(self, table: Table) -> ColumnElement[bool]:
        """The rows of this view's workspace (all of them with one workspace)."""
        return true() if self.tenant is None else table.c.team == self.tenant

    def _team(self, given: str) -> str:
        """The team a new row is marked with: this view's workspace, if it has one."""
        return given if self.tenant is None else self.tenant

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block ends; a database that cannot be reached is
        a `StoreUnavailable`."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except Exception as exc:
            _raise_if_unreachable(exc)
            raise

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read with; a database that cannot be reached is a `StoreUnavailable`."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except Exception as exc:
            _raise_if_unreachable(exc)
            raise

    @classmethod
    async def open(cls: type[S], url: str, *, migrate: bool = True, **kw: Any) -> S:
        """Connect (creating the SQLite file's folder), and bring the schema up to date."""
        engine = _engine(url)
        store = cls(engine, **kw)
        if migrate:
            await store.migrate()
        return store

    async def close(self) -> None:
        """What store calls are left finish (their callers may be gone), then the pool closes."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=CLOSE_WAIT_SECONDS)
        await self.engine.dispose()

    async def ping(self) -> None:
        """One round trip to the database (`/healthz`); `StoreUnavailable` if it is out of reach."""
        async with self._connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self) -> None:
        """Bring the schema up to date (`bring_up_to_date`). Two processes starting at once on
        PostgreSQL queue on an advisory lock; the second finds the schema current and does
        nothing."""
        if self.backend == "sqlite":
            # SQLite has no advisory lock, and its driver runs DDL outside a transaction.
            lock = Path(self.engine.url.database or "bot.db").with_suffix(".lock")
            async with _file_lock(lock), self.engine.begin() as conn:
                await conn.run_sync(bring_up_to_date)
            return
        async with self.engine.begin() as conn:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            await conn.run_sync(bring_up_to_date)
