"""The app's store: what it knows of its tasks, threads and requests, shared by every process.

SQLite in a file by default (one process, nothing to install), PostgreSQL when `DATABASE_URL` is
set (what several processes share). Every promise that spans processes is decided by the
database, never by one process's memory:

- one task per Slack request: a unique key (`first`);
- one result per task, and one follower per task: conditional updates that only one process wins
  (`claim_report`, `claim_follow`), held as leases that expire, so the work of a process that
  died is taken over once its lease runs out;
- one request budget: each live process (a heartbeat row) takes its share of it (`heartbeat`).

Times are Unix seconds (floats): the same on both backends, and compared in SQL as numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import functools
import json
import logging
import os
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    event,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    union,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import ColumnElement

from bot.models import Engine, SlackRoute

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
# Old rows are deleted this many at a time (`forget_old`): short transactions, short locks.
RETENTION_BATCH = 500
MIGRATIONS = Path(__file__).parent / "migrations"
# The `settings` row of the workspace's own settings (the others are channels, by their ID).
WORKSPACE_SCOPE = "workspace"
# Any number will do, as long as it is this app's alone: serialises migrations across processes.
MIGRATION_LOCK = 0x42_55_53_4C  # "BUSL"

metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("team", String(32), nullable=False, default=""),
    Column("channel", String(32), nullable=False),
    Column("thread_ts", String(32)),
    Column("user_id", String(32), nullable=False),
    # Unique per Slack request: a second create for one request cannot be recorded.
    Column("request_id", String(32), unique=True),
    Column("max_steps", Integer),
    # True when the task runs in the browser session the app opened for its thread.
    Column("thread_session", Boolean, nullable=False, default=False),
    Column("status_ts", String(32)),  # the status message, edited in place
    Column("react_ts", String(32)),  # the message that gets ✅ or ❌ at the end
    # Learned from Browser Use after the store was lost: its thread may hold a result already.
    Column("recovered", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False, default="created"),
    Column("progress", String(64)),  # the last step shown: "status:step"
    Column("created_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("reported_at", Float),
    # Leases: who reports the result, and who polls the task, until when.
    Column("report_owner", String(64)),
    Column("report_until", Float),
    Column("follower", String(64)),
    Column("follow_until", Float),
    # Started by the Workflow Builder step: the execution to complete when the task ends.
    Column("execution_id", String(64)),
    # Unused since 0013 (the token is kept in the process's memory alone): always NULL.
    Column("execution_token", String(255)),
    # Nobody to mention. Its server default is the one migration 0002 gave the rows before it.
    Column("quiet", Boolean, nullable=False, default=False, server_default=false()),
    Column("request", Text),  # the request as set, secrets left out: for "Run again"
    Column("schedule_id", Integer),  # a run of a recurring task
    # The agent: "v2" (a task), or "v4" (a run, accurate mode: polled, never swept).
    Column("engine", String(8), nullable=False, default="v2", server_default="v2"),
    Index("tasks_unreported", "reported_at", "follow_until"),
)

threads = Table(
    "threads",
    metadata,
    # The workspace ("" with one): a Slack Connect channel has one ID in every workspace.
    Column("team", String(32), primary_key=True, default="", server_default=""),
    Column("channel", String(32), primary_key=True),
    Column("thread_ts", String(32), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
    # The browser profile the thread's browser was opened with, if any (a saved login's): what
    # "Save the login" after a take over saves into.
    Column("profile_id", String(64)),
    # "v4": the session is a v4 conversation (accurate mode), made by its first run.
    Column("engine", String(8), nullable=False, default="v2", server_default="v2"),
)

request_keys = Table(
    "request_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("seen_at", Float, nullable=False),
    Index("request_keys_seen_at", "seen_at"),
)

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False, default=""),
    Column("channel", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("ts", String(32), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("owner", String(64)),
    Column("owner_until", Float),
    # Accurate mode: the message Browser Use queued in the session (`POST /sessions/{id}/queue`);
    # its run is found once it starts.
    Column("queued_id", String(32)),
)

settings = Table(
    "settings",
    metadata,
    Column("team", String(32), primary_key=True, default="", server_default=""),
    Column("scope", String(32), primary_key=True),  # a channel ID: that channel's defaults
    Column("values", Text, nullable=False),  # JSON: Create Task request fields
    Column("updated_by", String(32), nullable=False),
    Column("updated_at", Float, nullable=False),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False),
    Column("channel", String(32), nullable=False),  # where each run is posted
    Column("user_id", String(32), nullable=False),  # whose it is
    Column("repeat", Text, nullable=False),  # JSON: `bot.schedules.Repeat`
    Column("request", Text, nullable=False),  # JSON: the request, as kept for Run again
    Column("on_change", Boolean, nullable=False),  # post only when the result changed
    Column("notify", Boolean, nullable=False),  # mention the owner at every run
    Column("paused", Boolean, nullable=False),
    Column("paused_reason", Text),
    Column("failures", Integer, nullable=False),  # runs failed in a row
    # The one value each run is claimed by: moved on by a compare-and-swap.
    Column("next_run_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_run_at", Float),
    Column("last_task_id", String(64)),
    Column("last_status", String(16)),
    Column("last_output", Text),  # what the next run is compared with (`on_change`)
    Column("changed_at", Float),  # when that output was first seen
    Column("unchanged_ts", String(32)),  # the "no change since" line, edited in place
    Index("schedules_due", "paused", "next_run_at"),
)

# A saved login: a Browser Use profile a person logged in to through a browser the app opened,
# with who owns it and who may use it. Never a password, a cookie or a live view URL.
logins = Table(
    "logins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False),  # the name folded: unique per workspace
    Column("owner", String(32), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("start_url", Text),  # the login page
    # The proxy country its browser logged in from, which the tasks that use it keep ("none":
    # no proxy; NULL: Browser Use's default).
    Column("proxy", String(8)),
    Column("shared", String(16), nullable=False),  # "me", "channels" or "workspace"
    Column("channels", Text, nullable=False),  # JSON: the channels it is shared with
    Column("cookie_domains", Text, nullable=False),  # JSON: the sites it holds cookies for
    Column("created_at", Float, nullable=False),
    Column("saved_at", Float),  # the last "I'm logged in"
    # The login browser open for it (one at a time), until when, and the process watching it
    # (a lease, renewed with the process's heartbeat), and the private message that has it.
    Column("session_id", String(64)),
    Column("session_deadline", Float),
    Column("session_owner", String(64)),
    Column("session_until", Float),
    Column("message_channel", String(32)),
    Column("message_ts", String(32)),
    Index("logins_name", "team", "name_key", unique=True),
)

processes = Table(
    "processes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False),
)

# What the app owes people in Slack and could not deliver yet (Slack was down): kept until Slack
# takes it, tried again with backoff by any process. `body` is what Slack would show (JSON),
# and how far delivery got (a parent posted); never a token.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False, default=""),
    Column("kind", String(16), nullable=False),
    Column("task_id", String(64)),  # its result waits until this is delivered
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("owner", String(64)),
    Column("owner_until", Float),
    Index("outbox_task", "task_id"),
)

# Many workspaces (`SLACK_CLIENT_ID`): each installation of the app, by its tenant (the
# enterprise for an org-wide install, else the team). Tokens are sealed (`bot.sealed`).
installations = Table(
    "installations",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("enterprise_id", String(32)),
    Column("team_id", String(32)),
    Column("is_enterprise_install", Boolean, nullable=False, default=False),
    Column("app_id", String(32)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", Text),
    Column("bot_token", Text, nullable=False),  # sealed
    Column("bot_refresh_token", Text),  # sealed
    Column("bot_token_expires_at", Float),
    Column("installer", String(32)),
    Column("installed_at", Float, nullable=False),
)

# Many workspaces: the Browser Use key each workspace pays with (sealed), and what Home shows of
# it. Never the key in the clear.
workspace_keys = Table(
    "workspace_keys",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("api_key", Text, nullable=False),  # sealed
    Column("project_id", String(64)),
    Column("connected_by", String(32), nullable=False),
    Column("connected_at", Float, nullable=False),
)

# The OAuth flow's states: each good once, until it expires.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
)

# Per-person limits (`MAX_RUNNING_TASKS_PER_USER`, `MAX_TASKS_PER_HOUR_PER_USER`), counted here
# for both engines: a slot is taken before a task is created, in the statement that counts the
# person's slots (`take_slot`); it becomes the task's once created, ends when the task's end is
# reported, and is given back (deleted) if the task never started.
slots = Table(
    "slots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False, default=""),
    Column("user_id", String(32), nullable=False),
    Column("engine", String(8), nullable=False, default="v2"),
    Column("task_id", String(64)),
    Column("taken_at", Float, nullable=False),
    Column("ended_at", Float),
    Index("slots_person", "team", "user_id", "taken_at"),
    Index("slots_task", "task_id"),
)
# A slot with no task this long after it was taken is a create that never finished (a process
# died in it): it no longer counts as running.
SLOT_UNUSED_SECONDS = 600.0
# Serialises the slots of one person on PostgreSQL (`pg_advisory_xact_lock`), beside the
# migrations' lock: this app's lock space, then the person's hash.
SLOT_LOCK_SPACE = 0x534C_4F54  # "SLOT"

# The tables whose rows each belong to one workspace (`team`): what `Store.scoped` reads and
# writes, and what `forget_workspace` deletes.
WORKSPACE_TABLES = (tasks, threads, follow_ups, settings, schedules, logins, outbox, slots)

# Work one process does for all of them at a time (the sweep of running tasks), by name.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("until", Float, nullable=False),
)


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


@dataclass(frozen=True)
class TaskRecord:
    """A task the app started (or found again at Browser Use), and where its thread is."""

    task_id: str
    session_id: str
    channel: str
    user_id: str
    team: str = ""
    thread_ts: str | None = None
    request_id: str | None = None
    max_steps: int | None = None
    thread_session: bool = False
    status_ts: str | None = None
    react_ts: str | None = None
    recovered: bool = False
    status: str = "created"
    created_at: float = 0.0
    reported_at: float | None = None
    execution_id: str | None = None
    execution_token: str | None = field(default=None, repr=False)  # a secret while it lasts
    quiet: bool = False
    request: str | None = None  # JSON (`bot.models.CreateTaskRequest.to_kept`)
    schedule_id: int | None = None
    engine: Engine = "v2"

    @classmethod
    def from_route(
        cls, task_id: str, session_id: str, route: SlackRoute, **extra: Any
    ) -> TaskRecord:
        return cls(
            task_id=task_id,
            session_id=session_id,
            channel=route.channel,
            user_id=route.user,
            team=route.team,
            thread_ts=route.thread_ts,
            request_id=route.request_id,
            max_steps=route.max_steps,
            **extra,
        )

    @property
    def route(self) -> SlackRoute:
        return SlackRoute(
            team=self.team,
            channel=self.channel,
            thread_ts=self.thread_ts,
            user=self.user_id,
            max_steps=self.max_steps,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class FollowUp:
    """A follow-up waiting for its thread's browser to be free."""

    channel: str
    thread_ts: str
    user_id: str
    text: str
    ts: str
    session_id: str
    team: str = ""
    id: int | None = None
    created_at: float = 0.0
    queued_id: str | None = None


@dataclass(frozen=True)
class SavedSettings:
    """Settings kept in Slack (a channel's defaults, or the workspace's), and who set them when."""

    values: dict[str, Any]
    updated_by: str
    updated_at: float


@dataclass(frozen=True)
class Schedule:
    """A recurring task: what it runs (a kept request), when, where, and how its last run went."""

    team: str
    channel: str
    user_id: str
    repeat: str  # JSON (`bot.schedules.Repeat.dump`)
    request: str  # JSON (`bot.models.CreateTaskRequest.to_kept`)
    next_run_at: float
    on_change: bool = False
    notify: bool = False
    paused: bool = False
    paused_reason: str | None = None
    failures: int = 0
    id: int = 0
    created_at: float = 0.0
    last_run_at: float | None = None
    last_task_id: str | None = None
    last_status: str | None = None
    last_output: str | None = None
    changed_at: float | None = None
    unchanged_ts: str | None = None


@dataclass(frozen=True)
class Login:
    """A saved login (see the `logins` table)."""

    team: str
    name: str
    owner: str
    profile_id: str
    shared: str = "me"
    channels: tuple[str, ...] = ()
    start_url: str | None = None
    proxy: str | None = None
    cookie_domains: tuple[str, ...] = ()
    id: int = 0
    created_at: float = 0.0
    saved_at: float | None = None
    session_id: str | None = None
    session_deadline: float | None = None
    session_owner: str | None = None
    session_until: float | None = None
    message_channel: str | None = None
    message_ts: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Login:
        values = dict(row._mapping)
        values.pop("name_key", None)
        values["channels"] = tuple(json.loads(values["channels"]))
        values["cookie_domains"] = tuple(json.loads(values["cookie_domains"]))
        return cls(**values)


_TASK_FIELDS = [f.name for f in fields(TaskRecord)]
_SCHEDULE_FIELDS = [f.name for f in fields(Schedule)]
_FOLLOW_UP_FIELDS = [f.name for f in fields(FollowUp)]


@dataclass(frozen=True)
class Owed:
    """Something the app owes a person in Slack (`outbox`): what kind, and its JSON body."""

    id: int
    kind: str
    body: dict[str, Any]
    team: str = ""
    task_id: str | None = None
    attempts: int = 0


class Claim(Enum):
    """A claim on posting a task's result, as won: nobody held it (or this process did), or
    its holder let it run out (it died, or stalled), perhaps after posting the result."""

    HELD = "held"
    TAKEN_OVER = "taken over"


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


def new_owner() -> str:
    """This process's name in leases and heartbeats: readable in the database, and unique."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Store:
    """One per process. Each method is one short transaction."""

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
        # Many workspaces: the one whose rows this view reads and writes (`scoped`). None: the
        # deployment serves one workspace, and every row is its.
        self.tenant: str | None = None

    def scoped(self, tenant: str) -> Store:
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
    async def open(cls, url: str, *, migrate: bool = True, **kw: Any) -> Store:
        """Connect (creating the SQLite file's folder), and bring the schema up to date."""
        engine = _engine(url)
        store = cls(engine, **kw)
        if migrate:
            await store.migrate()
        return store

    async def close(self) -> None:
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

    # --- requests ----------------------------------------------------------------------------

    async def first(self, key: str) -> bool:
        """True only the first time any process asks about `key` (a Slack request's ID)."""
        try:
            async with self._begin() as conn:
                await conn.execute(insert(request_keys).values(key=key[:255], seen_at=self.clock()))
        except IntegrityError:
            return False
        return True

    async def prune(self, older_than: float) -> int:
        """Forget request keys and ended follow-ups older than `older_than` seconds."""
        cutoff = self.clock() - older_than
        async with self._begin() as conn:
            gone = await conn.execute(delete(request_keys).where(request_keys.c.seen_at < cutoff))
            await conn.execute(
                delete(follow_ups).where(
                    follow_ups.c.created_at < cutoff, follow_ups.c.started_at.is_not(None)
                )
            )
        return int(gone.rowcount or 0)

    async def forget_old(self, retention: float, batch: int = RETENTION_BATCH) -> dict[str, int]:
        """The retention period (`RETENTION_DAYS`): tasks reported more than `retention` seconds
        ago, threads untouched as long, and expired OAuth states, deleted (every workspace's:
        one process does it for all). In batches of `batch` rows, each its own short
        transaction, so no write waits long behind it. How many rows of each went."""
        now = self.clock()
        doomed = {
            "tasks": (tasks, tasks.c.reported_at < now - retention),
            # A thread's browser closed long since (`SESSION_IDLE_MINUTES`): a reply there now
            # opens a new one, as it would anyway.
            "threads": (threads, threads.c.updated_at < now - retention),
            "oauth_states": (oauth_states, oauth_states.c.expires_at < now),
            # A day on, a slot counts for no limit, unless its task still runs.
            "slots": (
                slots,
                and_(
                    slots.c.taken_at < now - 86400,
                    or_(slots.c.ended_at.is_not(None), slots.c.task_id.is_(None)),
                ),
            ),
        }
        gone = dict.fromkeys(doomed, 0)
        for name, (table, old) in doomed.items():
            key = tuple_(*table.primary_key.columns)
            while True:
                async with self._begin() as conn:
                    chosen = select(*table.primary_key.columns).where(old).limit(batch)
                    done = await conn.execute(delete(table).where(key.in_(chosen)))
                gone[name] += int(done.rowcount or 0)
                if (done.rowcount or 0) < batch:
                    break
        return gone

    async def gauges(self) -> dict[str, float]:
        """What `/metrics` shows of the whole deployment: messages owed to Slack, when the
        oldest unreported task was created (0: none), workspaces installed and connected."""
        async with self._connect() as conn:
            outbox_depth = (await conn.execute(select(func.count()).select_from(outbox))).scalar()
            oldest = (
                await conn.execute(
                    select(func.min(tasks.c.created_at)).where(tasks.c.reported_at.is_(None))
                )
            ).scalar()
            installed = (
                await conn.execute(select(func.count()).select_from(installations))
            ).scalar()
            connected = (
                await conn.execute(select(func.count()).select_from(workspace_keys))
            ).scalar()
        return {
            "outbox": float(outbox_depth or 0),
            "oldest_unreported_at": float(oldest or 0.0),
            "installed": float(installed or 0),
            "connected": float(connected or 0),
        }

    # --- installations (many workspaces) ---------------------------------------------------------

    async def save_installation(self, values: dict[str, Any]) -> None:
        """Keep (or replace) a tenant's installation; its tokens come sealed."""
        async with self._begin() as conn:
            changed = await conn.execute(
                update(installations)
                .where(installations.c.tenant == values["tenant"])
                .values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(installations).values(**values))

    async def installation(self, tenant: str) -> dict[str, Any] | None:
        async with self._connect() as conn:
            row = (
                await conn.execute(select(installations).where(installations.c.tenant == tenant))
            ).first()
        return dict(row._mapping) if row else None

    async def delete_installation(self, tenant: str) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(delete(installations).where(installations.c.tenant == tenant))
        return bool(gone.rowcount)

    @staticmethod
    def _installed(*columns: Any) -> Any:
        """`columns` of each installation and its Browser Use key (None: not connected)."""
        joined = installations.outerjoin(
            workspace_keys, workspace_keys.c.tenant == installations.c.tenant
        )
        return select(*columns).select_from(joined)

    async def tenants(self) -> dict[str, tuple[float | None, float | None]]:
        """Every workspace the app is installed in, with when it installed the app and when it
        connected its Browser Use key (None: not yet): one query, however many workspaces."""
        query = self._installed(
            installations.c.tenant, installations.c.installed_at, workspace_keys.c.connected_at
        ).order_by(installations.c.tenant)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return {str(row.tenant): (row.installed_at, row.connected_at) for row in rows}

    async def work(self) -> dict[str, set[str]]:
        """Which workspaces have housekeeping to do, and of which kind, in one query however
        many there are: unreported tasks ("tasks"), thread browsers ("threads"), follow-ups
        waiting ("follow_ups"), something owed ("outbox"), recurring tasks due ("schedules"),
        login browsers open ("logins")."""
        now = self.clock()
        kinds = [
            ("tasks", tasks, tasks.c.reported_at.is_(None)),
            ("threads", threads, true()),
            ("follow_ups", follow_ups, follow_ups.c.started_at.is_(None)),
            ("outbox", outbox, true()),
            (
                "schedules",
                schedules,
                and_(schedules.c.paused.is_(False), schedules.c.next_run_at <= now),
            ),
            ("logins", logins, logins.c.session_id.is_not(None)),
        ]
        query = union(
            *(
                select(table.c.team, literal(kind).label("kind")).where(condition)
                for kind, table, condition in kinds
            )
        )
        found: dict[str, set[str]] = {}
        async with self._connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(str(row.team), set()).add(str(row.kind))
        return found

    async def all_workspace_settings(self) -> dict[str, SavedSettings]:
        """What each workspace's admins changed in Slack, by workspace, in one query."""
        query = select(settings).where(settings.c.scope == WORKSPACE_SCOPE)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return {
            str(row.team): SavedSettings(json.loads(row.values), row.updated_by, row.updated_at)
            for row in rows
        }

    async def credentials(self, tenant: str) -> dict[str, Any] | None:
        """The workspace's installation (its tokens sealed) with its sealed Browser Use key
        (`api_key`, None: not connected) and when that was connected, in one query; None if
        the app is not installed there."""
        query = self._installed(
            installations, workspace_keys.c.api_key, workspace_keys.c.connected_at
        ).where(installations.c.tenant == tenant)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def connect_key(self, tenant: str, sealed: str, project_id: str | None, by: str) -> None:
        """Keep (or replace) the workspace's Browser Use key, sealed."""
        values = {
            "api_key": sealed,
            "project_id": project_id,
            "connected_by": by,
            "connected_at": self.clock(),
        }
        async with self._begin() as conn:
            changed = await conn.execute(
                update(workspace_keys).where(workspace_keys.c.tenant == tenant).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(workspace_keys).values(tenant=tenant, **values))

    async def workspace_key(self, tenant: str) -> dict[str, Any] | None:
        """The workspace's key row (the key still sealed), or None when none is connected."""
        async with self._connect() as conn:
            row = (
                await conn.execute(select(workspace_keys).where(workspace_keys.c.tenant == tenant))
            ).first()
        return dict(row._mapping) if row else None

    async def disconnect_key(self, tenant: str) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(workspace_keys).where(workspace_keys.c.tenant == tenant)
            )
        return bool(gone.rowcount)

    async def forget_workspace(self, tenant: str) -> int:
        """Everything the store keeps of a workspace, gone in one transaction: its installation
        (tokens), its Browser Use key, and every row of it (tasks, threads, follow-ups,
        settings, schedules, logins, the outbox). How many rows; 0 the second time."""
        gone = 0
        async with self._begin() as conn:
            for table in WORKSPACE_TABLES:
                done = await conn.execute(delete(table).where(table.c.team == tenant))
                gone += int(done.rowcount or 0)
            for table in (workspace_keys, installations):
                done = await conn.execute(delete(table).where(table.c.tenant == tenant))
                gone += int(done.rowcount or 0)
        return gone

    async def issue_state(self, state: str, seconds: float) -> None:
        now = self.clock()
        async with self._begin() as conn:
            await conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
            await conn.execute(insert(oauth_states).values(state=state, expires_at=now + seconds))

    async def consume_state(self, state: str) -> bool:
        """True once for a state issued here and not expired; it is gone after."""
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(oauth_states).where(
                    oauth_states.c.state == state, oauth_states.c.expires_at >= self.clock()
                )
            )
        return gone.rowcount == 1

    async def reseal(self, reseal: Callable[[str], str]) -> int:
        """Every sealed value, sealed again (`Sealer.reseal`: under the first key); how many."""
        done = 0
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        installations.c.tenant,
                        installations.c.bot_token,
                        installations.c.bot_refresh_token,
                    )
                )
            ).all()
            for row in rows:
                values = {"bot_token": reseal(row.bot_token)}
                if row.bot_refresh_token:
                    values["bot_refresh_token"] = reseal(row.bot_refresh_token)
                await conn.execute(
                    update(installations)
                    .where(installations.c.tenant == row.tenant)
                    .values(**values)
                )
                done += len(values)
            keys = (
                await conn.execute(select(workspace_keys.c.tenant, workspace_keys.c.api_key))
            ).all()
            for key in keys:
                await conn.execute(
                    update(workspace_keys)
                    .where(workspace_keys.c.tenant == key.tenant)
                    .values(api_key=reseal(key.api_key))
                )
                done += 1
        return done

    # --- the outbox ----------------------------------------------------------------------------

    async def owe(
        self,
        kind: str,
        body: dict[str, Any],
        *,
        team: str = "",
        task_id: str | None = None,
        after: float = 0.0,
    ) -> int:
        """Keep what is owed a person until it is delivered (`paid`); first tried `after` s."""
        now = self.clock()
        values = {
            "team": self._team(team),
            "kind": kind,
            "task_id": task_id,
            "body": json.dumps(body),
            "created_at": now,
            "next_at": now + after,
        }
        async with self._begin() as conn:
            added = await conn.execute(insert(outbox).values(**values))
        key = added.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def claim_owed(self, seconds: float, limit: int = 50) -> list[Owed]:
        """What is due and nobody is delivering, oldest first: this process's for `seconds`."""
        now = self.clock()
        free = and_(
            self._ours(outbox),
            outbox.c.next_at <= now,
            or_(outbox.c.owner.is_(None), outbox.c.owner_until < now),
        )
        claimed = []
        async with self._begin() as conn:
            rows = (
                await conn.execute(select(outbox).where(free).order_by(outbox.c.id).limit(limit))
            ).all()
            for row in rows:
                won = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id, free)
                    .values(owner=self.owner, owner_until=now + seconds)
                )
                if won.rowcount == 1:
                    claimed.append(
                        Owed(
                            row.id,
                            row.kind,
                            json.loads(row.body),
                            row.team,
                            row.task_id,
                            row.attempts,
                        )
                    )
        return claimed

    async def owed_so_far(self, owed_id: int, body: dict[str, Any]) -> None:
        """How far delivery got (say, the parent is posted): a retry goes on from there."""
        async with self._begin() as conn:
            await conn.execute(
                update(outbox).where(outbox.c.id == owed_id).values(body=json.dumps(body))
            )

    async def paid(self, owed_id: int) -> None:
        async with self._begin() as conn:
            await conn.execute(delete(outbox).where(outbox.c.id == owed_id))

    async def owed_later(self, owed_id: int, wait: float) -> None:
        """Not delivered this time: tried again in `wait` seconds, by any process."""
        async with self._begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == owed_id)
                .values(
                    attempts=outbox.c.attempts + 1,
                    next_at=self.clock() + wait,
                    owner=None,
                    owner_until=None,
                )
            )

    async def owes_task(self, task_id: str) -> bool:
        """True while something about `task_id` (its thread) is not delivered yet."""
        async with self._connect() as conn:
            found = await conn.execute(
                select(outbox.c.id).where(self._ours(outbox), outbox.c.task_id == task_id).limit(1)
            )
        return found.first() is not None

    # --- tasks -------------------------------------------------------------------------------

    async def add_task(self, record: TaskRecord) -> bool:
        """Record a task; False when it is known already (another process found it first)."""
        values = {name: getattr(record, name) for name in _TASK_FIELDS}
        values["team"] = self._team(record.team)
        values["created_at"] = record.created_at or self.clock()
        try:
            async with self._begin() as conn:
                await conn.execute(insert(tasks).values(**values))
        except IntegrityError:
            return False
        return True

    async def task(self, task_id: str) -> TaskRecord | None:
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(*[tasks.c[name] for name in _TASK_FIELDS]).where(
                        self._ours(tasks), tasks.c.task_id == task_id
                    )
                )
            ).first()
        return TaskRecord(**row._mapping) if row else None

    async def has_tasks(self) -> bool:
        async with self._connect() as conn:
            found = await conn.execute(select(tasks.c.task_id).where(self._ours(tasks)).limit(1))
            return found.first() is not None

    async def set_status_message(self, task_id: str, status_ts: str, react_ts: str | None) -> bool:
        """Remember the task's status message; True if its report was claimed (or made) before
        it was known: the report could not edit it, so the caller does."""
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    update(tasks)
                    .where(self._ours(tasks), tasks.c.task_id == task_id)
                    .values(status_ts=status_ts, react_ts=react_ts)
                    .returning(tasks.c.report_owner, tasks.c.reported_at)
                )
            ).first()
        return row is not None and (row.report_owner is not None or row.reported_at is not None)

    async def set_thread(self, task_id: str, thread_ts: str) -> None:
        """The thread a task's result was posted in, when it had none while it ran."""
        async with self._begin() as conn:
            await conn.execute(
                update(tasks)
                .where(self._ours(tasks), tasks.c.task_id == task_id)
                .values(thread_ts=thread_ts)
            )

    async def _lease(
        self, task_id: str, holder: Column[Any], until: Column[Any], seconds: float
    ) -> bool:
        """Take or renew a lease on an unreported task: won when nobody holds it, this process
        holds it already, or its holder let it run out (died, or stopped renewing)."""
        now = self.clock()
        async with self._begin() as conn:
            result = await conn.execute(
                update(tasks)
                .where(
                    self._ours(tasks),
                    tasks.c.task_id == task_id,
                    tasks.c.reported_at.is_(None),
                    or_(holder.is_(None), holder == self.owner, until < now),
                )
                .values({holder: self.owner, until: now + seconds})
            )
        return result.rowcount == 1

    async def claim_follow(self, task_id: str, seconds: float) -> bool:
        """Become (or stay) the one process that polls `task_id`, for `seconds`. False when the
        task is reported, unknown, or another process holds a lease that has not run out."""
        return await self._lease(task_id, tasks.c.follower, tasks.c.follow_until, seconds)

    async def release_all(self) -> None:
        """At shutdown: every lease of this process ends now (its follows, its follow-ups, the
        sweep, what it was delivering from the outbox), so the others take over at once."""
        async with self._begin() as conn:
            await conn.execute(
                update(tasks)
                .where(tasks.c.follower == self.owner)
                .values(follower=None, follow_until=None)
            )
            await conn.execute(
                update(follow_ups).where(follow_ups.c.owner == self.owner).values(owner_until=0.0)
            )
            await conn.execute(delete(leases).where(leases.c.owner == self.owner))
            await conn.execute(
                update(outbox)
                .where(outbox.c.owner == self.owner)
                .values(owner=None, owner_until=None)
            )
            await conn.execute(delete(processes).where(processes.c.id == self.owner))

    async def release_follow(self, task_id: str) -> None:
        """This process stops polling `task_id` on its own (the sweep follows it from now)."""
        async with self._begin() as conn:
            await conn.execute(
                update(tasks)
                .where(tasks.c.task_id == task_id, tasks.c.follower == self.owner)
                .values(follower=None, follow_until=None)
            )

    async def unreported(
        self,
        *,
        unfollowed: bool = False,
        created_after: float | None = None,
        created_before: float | None = None,
        engine: str | None = None,
        limit: int | None = 500,
    ) -> list[str]:
        """Tasks whose result is not posted yet, oldest first: only those nobody polls, if
        `unfollowed`; only those created in the window, and of the `engine`, if given."""
        query = select(tasks.c.task_id).where(self._ours(tasks), tasks.c.reported_at.is_(None))
        if engine is not None:
            query = query.where(tasks.c.engine == engine)
        if unfollowed:
            query = query.where(
                or_(tasks.c.follower.is_(None), tasks.c.follow_until < self.clock())
            )
        if created_after is not None:
            query = query.where(tasks.c.created_at > created_after)
        if created_before is not None:
            query = query.where(tasks.c.created_at < created_before)
        async with self._connect() as conn:
            rows = await conn.execute(query.order_by(tasks.c.created_at).limit(limit))
        return [row.task_id for row in rows]

    def _slots_of(self, user_id: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """(the person's running slots, their slots of the last hour), as conditions."""
        now = self.clock()
        mine = and_(slots.c.team == self._team(""), slots.c.user_id == user_id)
        running = and_(
            mine,
            slots.c.ended_at.is_(None),
            or_(slots.c.task_id.is_not(None), slots.c.taken_at > now - SLOT_UNUSED_SECONDS),
        )
        return running, and_(mine, slots.c.taken_at > now - 3600)

    async def slots_in_use(self, user_id: str) -> tuple[int, int]:
        """(running, started in the last hour): a person's slots, both engines."""
        running, recent = self._slots_of(user_id)
        async with self._connect() as conn:
            counts = await conn.execute(
                select(
                    select(func.count()).where(running).scalar_subquery(),
                    select(func.count()).where(recent).scalar_subquery(),
                )
            )
            row = counts.one()
        return int(row[0]), int(row[1])

    async def take_slot(
        self, user_id: str, engine: str, *, running: int | None, hourly: int | None
    ) -> int | None:
        """A slot for a task `user_id` is about to start, if they have fewer than `running`
        running and `hourly` started in the last hour (None: no such limit); else None. The
        count and the taking are one statement (SQLite runs it alone), under the person's
        advisory lock on PostgreSQL: two starts at the same instant, in any processes, cannot
        both take the last slot."""
        now, team = self.clock(), self._team("")
        running_now, recent = self._slots_of(user_id)
        room = []
        if running is not None:
            room.append(select(func.count()).where(running_now).scalar_subquery() < running)
        if hourly is not None:
            room.append(select(func.count()).where(recent).scalar_subquery() < hourly)
        values = select(literal(team), literal(user_id), literal(engine), literal(now))
        taking = (
            insert(slots)
            .from_select(["team", "user_id", "engine", "taken_at"], values.where(*room))
            .returning(slots.c.id)
        )
        async with self._begin() as conn:
            if self.backend != "sqlite":
                person = zlib.crc32(f"{team}:{user_id}".encode())
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:space, :person)"),
                    {"space": SLOT_LOCK_SPACE, "person": person - 2**31},
                )
            taken = (await conn.execute(taking)).first()
        return int(taken[0]) if taken else None

    async def slot_started(self, slot_id: int, task_id: str) -> None:
        """The slot is the task's now: it runs until its end is reported."""
        async with self._begin() as conn:
            await conn.execute(update(slots).where(slots.c.id == slot_id).values(task_id=task_id))

    async def give_back_slot(self, slot_id: int) -> None:
        """The task never started: its slot counts for nothing."""
        async with self._begin() as conn:
            await conn.execute(delete(slots).where(slots.c.id == slot_id))

    async def count_tasks(self, user_id: str, *, engine: str, since: float) -> int:
        """How many tasks of `engine` `user_id` started since `since` (a time.time())."""
        async with self._connect() as conn:
            found = await conn.execute(
                select(func.count())
                .select_from(tasks)
                .where(
                    self._ours(tasks),
                    tasks.c.user_id == user_id,
                    tasks.c.engine == engine,
                    tasks.c.created_at >= since,
                )
            )
        return int(found.scalar_one())

    async def claim_lease(self, name: str, seconds: float) -> bool:
        """Become (or stay) the one process doing `name` for `seconds`: won when nobody holds
        it, this process does, or its holder let it run out."""
        now = self.clock()
        if self.tenant is not None:
            name = f"{name}:{self.tenant}"  # each workspace's sweep is its own
        async with self._begin() as conn:
            taken = await conn.execute(
                update(leases)
                .where(
                    leases.c.name == name,
                    or_(leases.c.owner == self.owner, leases.c.until < now),
                )
                .values(owner=self.owner, until=now + seconds)
            )
        if taken.rowcount == 1:
            return True
        try:
            async with self._begin() as conn:
                await conn.execute(
                    insert(leases).values(name=name, owner=self.owner, until=now + seconds)
                )
        except IntegrityError:
            return False  # held by another process
        return True

    async def show_progress(self, task_id: str, step: str, period: int) -> bool | None:
        """Which process passes on this task's progress, and what: None when there is nothing
        new (or another process just did it); else whether the step itself is new (True) or
        only the refresh `period` turned (False). A compare-and-swap on one column."""
        wanted = f"{step}@{period}"
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    select(tasks.c.progress).where(
                        self._ours(tasks), tasks.c.task_id == task_id, tasks.c.reported_at.is_(None)
                    )
                )
            ).first()
            if row is None or row.progress == wanted:
                return None
            seen = (
                tasks.c.progress.is_(None)
                if row.progress is None
                else (tasks.c.progress == row.progress)
            )
            result = await conn.execute(
                update(tasks).where(tasks.c.task_id == task_id, seen).values(progress=wanted)
            )
        if result.rowcount != 1:
            return None
        return (row.progress or "").split("@")[0] != step

    async def claim_report(self, task_id: str, seconds: float) -> Claim | None:
        """Become (or stay) the one process that posts `task_id`'s result, for `seconds`; None
        when the task is reported, unknown, or another process's claim has not run out. The
        claim is a lease: if this process dies before `reported`, another takes it over once
        `seconds` have passed (`Claim.TAKEN_OVER`: the result may be posted already)."""
        now = self.clock()
        holder, until = tasks.c.report_owner, tasks.c.report_until
        claims = (
            (Claim.HELD, or_(holder.is_(None), holder == self.owner)),
            (Claim.TAKEN_OVER, until < now),
        )
        async with self._begin() as conn:
            for claim, free in claims:
                result = await conn.execute(
                    update(tasks)
                    .where(
                        self._ours(tasks),
                        tasks.c.task_id == task_id,
                        tasks.c.reported_at.is_(None),
                        free,
                    )
                    .values(report_owner=self.owner, report_until=now + seconds)
                )
                if result.rowcount == 1:
                    return claim
        return None

    async def reported(self, task_id: str, status: str) -> None:
        now = self.clock()
        async with self._begin() as conn:
            # Its slot ends with it: the person may start another.
            await conn.execute(
                update(slots)
                .where(slots.c.task_id == task_id, slots.c.ended_at.is_(None))
                .values(ended_at=now)
            )
            await conn.execute(
                update(tasks)
                .where(self._ours(tasks), tasks.c.task_id == task_id)
                .values(
                    reported_at=now,
                    ended_at=now,
                    status=status,
                    follower=None,
                    follow_until=None,
                    execution_token=None,  # the step is completed: its token is not kept
                )
            )

    async def release_report(self, task_id: str) -> None:
        """The report failed: let the next try (here or elsewhere) claim it at once."""
        async with self._begin() as conn:
            await conn.execute(
                update(tasks)
                .where(tasks.c.task_id == task_id, tasks.c.report_owner == self.owner)
                .values(report_owner=None, report_until=None)
            )

    # --- threads -----------------------------------------------------------------------------

    async def thread_session(self, channel: str, thread_ts: str) -> str | None:
        kept = await self.thread_kept(channel, thread_ts)
        return kept[0] if kept else None

    async def thread_kept(self, channel: str, thread_ts: str) -> tuple[str, str] | None:
        """The session kept for the thread and its engine ("v2", or "v4": accurate mode)."""
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(threads.c.session_id, threads.c.engine).where(
                        self._ours(threads),
                        threads.c.channel == channel,
                        threads.c.thread_ts == thread_ts,
                    )
                )
            ).first()
        return (str(row.session_id), str(row.engine)) if row else None

    async def session_busy(self, session_id: str) -> str | None:
        """An unreported task of the app in `session_id` (its ID), if there is one."""
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(tasks.c.task_id)
                    .where(
                        self._ours(tasks),
                        tasks.c.session_id == session_id,
                        tasks.c.reported_at.is_(None),
                    )
                    .limit(1)
                )
            ).first()
        return str(row.task_id) if row else None

    async def set_thread_session(
        self,
        channel: str,
        thread_ts: str,
        session_id: str,
        profile_id: str | None = None,
        engine: str = "v2",
    ) -> None:
        now = self.clock()
        values = {
            "session_id": session_id,
            "updated_at": now,
            "profile_id": profile_id,
            "engine": engine,
        }
        async with self._begin() as conn:
            changed = await conn.execute(
                update(threads)
                .where(
                    self._ours(threads),
                    threads.c.channel == channel,
                    threads.c.thread_ts == thread_ts,
                )
                .values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    insert(threads).values(
                        team=self._team(""), channel=channel, thread_ts=thread_ts, **values
                    )
                )

    async def kept_sessions(self) -> list[str]:
        """The browsers the app keeps open: the threads' sessions and the login browsers."""
        threads_kept = select(threads.c.session_id).where(self._ours(threads))
        login_browsers = select(logins.c.session_id).where(
            self._ours(logins), logins.c.session_id.is_not(None), logins.c.session_id != ""
        )
        async with self._connect() as conn:
            rows = await conn.execute(threads_kept.union(login_browsers))
        return [str(row[0]) for row in rows]

    async def session_profile(self, session_id: str) -> str | None:
        """The profile a thread's browser was opened with, by the browser's session ID."""
        query = select(threads.c.profile_id).where(
            self._ours(threads), threads.c.session_id == session_id
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return row.profile_id if row else None

    async def login_with_profile(self, profile_id: str) -> Login | None:
        query = select(logins).where(self._ours(logins), logins.c.profile_id == profile_id)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    # --- follow-ups waiting for a busy browser ------------------------------------------------

    async def queue_follow_up(self, follow_up: FollowUp, seconds: float) -> int:
        """Keep a follow-up until its thread's browser is free; this process waits for it."""
        now = self.clock()
        values = {name: getattr(follow_up, name) for name in _FOLLOW_UP_FIELDS if name != "id"}
        values["team"] = self._team(follow_up.team)
        values.update(created_at=now, owner=self.owner, owner_until=now + seconds)
        async with self._begin() as conn:
            result = await conn.execute(insert(follow_ups).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def claim_follow_ups(self, seconds: float) -> list[FollowUp]:
        """Waiting follow-ups whose process is gone, now this process's to wait for."""
        now = self.clock()
        waiting = and_(
            self._ours(follow_ups),
            follow_ups.c.started_at.is_(None),
            or_(follow_ups.c.owner.is_(None), follow_ups.c.owner_until < now),
        )
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(*[follow_ups.c[name] for name in _FOLLOW_UP_FIELDS]).where(waiting)
                )
            ).all()
            claimed = []
            for row in rows:
                won = await conn.execute(
                    update(follow_ups)
                    .where(follow_ups.c.id == row.id, waiting)
                    .values(owner=self.owner, owner_until=now + seconds)
                )
                if won.rowcount == 1:
                    claimed.append(FollowUp(**row._mapping))
        return claimed

    async def hold_follow_up(self, follow_up_id: int, seconds: float) -> bool:
        """Renew this process's hold on a waiting follow-up; False if it is no longer ours."""
        async with self._begin() as conn:
            result = await conn.execute(
                update(follow_ups)
                .where(
                    follow_ups.c.id == follow_up_id,
                    follow_ups.c.owner == self.owner,
                    follow_ups.c.started_at.is_(None),
                )
                .values(owner_until=self.clock() + seconds)
            )
        return result.rowcount == 1

    async def start_follow_up(self, follow_up_id: int) -> bool:
        """True for the one process that gets to start it."""
        async with self._begin() as conn:
            result = await conn.execute(
                update(follow_ups)
                .where(follow_ups.c.id == follow_up_id, follow_ups.c.started_at.is_(None))
                .values(started_at=self.clock())
            )
        return result.rowcount == 1

    # --- settings kept in Slack -----------------------------------------------------------------

    async def channel_defaults(self, channel: str) -> SavedSettings | None:
        """A channel's defaults, read fresh each time: a change made through any process is
        seen by every process at once."""
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(settings).where(self._ours(settings), settings.c.scope == channel)
                )
            ).first()
        if row is None:
            return None
        return SavedSettings(json.loads(row.values), row.updated_by, row.updated_at)

    async def save_channel_defaults(self, channel: str, values: dict[str, Any], by: str) -> None:
        now, data = self.clock(), json.dumps(values, separators=(",", ":"))
        async with self._begin() as conn:
            changed = await conn.execute(
                update(settings)
                .where(self._ours(settings), settings.c.scope == channel)
                .values(values=data, updated_by=by, updated_at=now)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    insert(settings).values(
                        team=self._team(""),
                        scope=channel,
                        values=data,
                        updated_by=by,
                        updated_at=now,
                    )
                )

    async def workspace_settings(self) -> SavedSettings | None:
        """What an admin changed in Slack (App Home → Settings): Settings field → value."""
        return await self.channel_defaults(WORKSPACE_SCOPE)

    async def save_workspace_settings(self, values: dict[str, Any], by: str) -> None:
        await self.save_channel_defaults(WORKSPACE_SCOPE, values, by)

    # --- recurring tasks -------------------------------------------------------------------------

    async def add_schedule(self, schedule: Schedule, per_person: int | None) -> int | None:
        """Keep a new schedule; its ID, or None when its owner has `per_person` already."""
        values = {name: getattr(schedule, name) for name in _SCHEDULE_FIELDS if name != "id"}
        values["team"] = self._team(schedule.team)
        values["created_at"] = self.clock()
        async with self._begin() as conn:
            if per_person is not None:
                owned = await conn.execute(
                    select(func.count())
                    .select_from(schedules)
                    .where(self._ours(schedules), schedules.c.user_id == schedule.user_id)
                )
                if int(owned.scalar_one()) >= per_person:
                    return None
            result = await conn.execute(insert(schedules).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def schedules(
        self, *, channel: str | None = None, user: str | None = None, due_by: float | None = None
    ) -> list[Schedule]:
        """A channel's schedules, a person's, or (`due_by`) every unpaused one due by then."""
        query = select(*[schedules.c[name] for name in _SCHEDULE_FIELDS]).where(
            self._ours(schedules)
        )
        if channel is not None:
            query = query.where(schedules.c.channel == channel)
        if user is not None:
            query = query.where(schedules.c.user_id == user)
        if due_by is not None:
            query = query.where(schedules.c.paused.is_(False), schedules.c.next_run_at <= due_by)
        async with self._connect() as conn:
            rows = await conn.execute(query.order_by(schedules.c.id))
        return [Schedule(**row._mapping) for row in rows]

    async def schedule(self, schedule_id: int) -> Schedule | None:
        query = select(*[schedules.c[name] for name in _SCHEDULE_FIELDS]).where(
            self._ours(schedules), schedules.c.id == schedule_id
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Schedule(**row._mapping) if row else None

    async def claim_run(self, schedule_id: int, due_at: float, next_at: float) -> bool:
        """Move a due schedule on to its next run: True for the one process that did (and so
        starts, or skips, the run that was due)."""
        async with self._begin() as conn:
            result = await conn.execute(
                update(schedules)
                .where(
                    self._ours(schedules),
                    schedules.c.id == schedule_id,
                    schedules.c.next_run_at == due_at,
                    schedules.c.paused.is_(False),
                )
                .values(next_run_at=next_at)
            )
        return result.rowcount == 1

    async def update_schedule(
        self, schedule_id: int, *, latest_task: str | None = None, **values: Any
    ) -> bool:
        """Set some of a schedule's columns; False when it is gone (or, with `latest_task`, when
        that task's run is no longer its latest: a conditional update, one statement)."""
        unknown = set(values) - set(_SCHEDULE_FIELDS)
        assert not unknown, unknown
        async with self._begin() as conn:
            result = await conn.execute(
                update(schedules).where(*self._schedule(schedule_id, latest_task)).values(**values)
            )
        return result.rowcount == 1

    async def run_failed(self, schedule_id: int, *, latest_task: str | None = None) -> int:
        """Count a failed run; how many have failed in a row now (0 when the schedule is gone,
        or, with `latest_task`, when that task's run is no longer its latest)."""
        async with self._begin() as conn:
            result = await conn.execute(
                update(schedules)
                .where(*self._schedule(schedule_id, latest_task))
                .values(failures=schedules.c.failures + 1, last_status="failed")
            )
            if result.rowcount != 1:
                return 0
            row = (
                await conn.execute(
                    select(schedules.c.failures).where(*self._schedule(schedule_id, None))
                )
            ).first()
        return int(row.failures) if row else 0

    def _schedule(self, schedule_id: int, latest_task: str | None) -> list[Any]:
        where = [self._ours(schedules), schedules.c.id == schedule_id]
        if latest_task is not None:
            where.append(schedules.c.last_task_id == latest_task)
        return where

    async def delete_schedule(self, schedule_id: int) -> bool:
        async with self._begin() as conn:
            result = await conn.execute(delete(schedules).where(*self._schedule(schedule_id, None)))
        return result.rowcount == 1

    # --- processes ---------------------------------------------------------------------------

    # --- logins ------------------------------------------------------------------------------

    async def add_login(self, login: Login) -> int | None:
        """Keep a new login; its ID, or None when the workspace has one of that name already."""
        values = {
            "team": self._team(login.team),
            "name": login.name,
            "name_key": login.name.casefold(),
            "owner": login.owner,
            "profile_id": login.profile_id,
            "start_url": login.start_url,
            "proxy": login.proxy,
            "shared": login.shared,
            "channels": json.dumps(list(login.channels)),
            "cookie_domains": "[]",
            "created_at": self.clock(),
        }
        try:
            async with self._begin() as conn:
                result = await conn.execute(insert(logins).values(**values))
        except IntegrityError:
            return None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def login(self, login_id: int, *, team: str | None = None) -> Login | None:
        query = select(logins).where(self._ours(logins), logins.c.id == login_id)
        if team is not None:
            query = query.where(logins.c.team == team)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    async def login_named(self, team: str, name: str) -> Login | None:
        query = select(logins).where(
            self._ours(logins),
            logins.c.team == self._team(team),
            logins.c.name_key == name.casefold(),
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    async def logins(self, team: str | None = None, *, owner: str | None = None) -> list[Login]:
        """A workspace's logins, or a person's."""
        query = select(logins).where(self._ours(logins)).order_by(logins.c.name_key)
        if team is not None:
            query = query.where(logins.c.team == self._team(team))
        if owner is not None:
            query = query.where(logins.c.owner == owner)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return [Login.from_row(row) for row in rows]

    async def change_login(self, login_id: int, **values: Any) -> None:
        """Set the login's name, sharing or cookie domains (lists kept as JSON)."""
        if "name" in values:
            values["name_key"] = values["name"].casefold()
        for name in ("channels", "cookie_domains"):
            if name in values:
                values[name] = json.dumps(list(values[name]))
        async with self._begin() as conn:
            await conn.execute(
                update(logins).where(self._ours(logins), logins.c.id == login_id).values(**values)
            )

    async def reserve_login_session(self, login_id: int, deadline: float, lease: float) -> bool:
        """Hold the login's browser slot for this process while its browser opens (no session ID
        yet); False when one is open already (one login browser per profile at a time)."""
        async with self._begin() as conn:
            done = await conn.execute(
                update(logins)
                .where(self._ours(logins), logins.c.id == login_id, logins.c.session_id.is_(None))
                .values(
                    session_id="",
                    session_deadline=deadline,
                    session_owner=self.owner,
                    session_until=self.clock() + lease,
                    message_channel=None,
                    message_ts=None,
                )
            )
        return bool(done.rowcount)

    async def set_login_session(self, login_id: int, session_id: str) -> bool:
        """The browser this process reserved is open (kept at once: if this process dies now,
        another one stops it). False when the reservation was closed meanwhile (then that
        browser must be stopped)."""
        async with self._begin() as conn:
            done = await conn.execute(
                update(logins)
                .where(
                    logins.c.id == login_id,
                    logins.c.session_owner == self.owner,
                    logins.c.session_id == "",
                )
                .values(session_id=session_id)
            )
        return bool(done.rowcount)

    async def set_login_message(
        self, login_id: int, session_id: str, channel: str, ts: str
    ) -> None:
        """The private message that holds the login browser (edited when it closes)."""
        async with self._begin() as conn:
            await conn.execute(
                update(logins)
                .where(
                    self._ours(logins), logins.c.id == login_id, logins.c.session_id == session_id
                )
                .values(message_channel=channel, message_ts=ts)
            )

    async def close_login_session(
        self, login_id: int, *, overdue_only: bool = False
    ) -> Login | None:
        """Take the login's open browser off the row, once, whichever process asks first: the
        login as it was (to stop its browser and tell its owner), or None when there was none
        (or, with `overdue_only`, when its deadline and its watcher's lease both still hold)."""
        now = self.clock()
        condition = [self._ours(logins), logins.c.id == login_id, logins.c.session_id.is_not(None)]
        if overdue_only:
            condition.append(or_(logins.c.session_deadline < now, logins.c.session_until < now))
        async with self._begin() as conn:
            row = (await conn.execute(select(logins).where(*condition))).first()
            if row is None:
                return None
            done = await conn.execute(
                update(logins)
                .where(*condition, logins.c.session_id == row.session_id)
                .values(
                    session_id=None,
                    session_deadline=None,
                    session_owner=None,
                    session_until=None,
                )
            )
        return Login.from_row(row) if done.rowcount else None

    async def overdue_logins(self) -> list[int]:
        """Logins whose browser is past its deadline, or whose watcher stopped renewing."""
        now = self.clock()
        query = select(logins.c.id).where(
            self._ours(logins),
            logins.c.session_id.is_not(None),
            or_(logins.c.session_deadline < now, logins.c.session_until < now),
        )
        async with self._connect() as conn:
            return [int(row.id) for row in await conn.execute(query)]

    async def own_login_sessions(self) -> list[int]:
        """The logins whose browser this process watches."""
        query = select(logins.c.id).where(self._ours(logins), logins.c.session_owner == self.owner)
        async with self._connect() as conn:
            return [int(row.id) for row in await conn.execute(query)]

    async def renew_login_sessions(self, lease: float) -> None:
        async with self._begin() as conn:
            await conn.execute(
                update(logins)
                .where(logins.c.session_owner == self.owner)
                .values(session_until=self.clock() + lease)
            )

    async def delete_login(self, login_id: int) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(logins).where(self._ours(logins), logins.c.id == login_id)
            )
        return bool(gone.rowcount)

    async def heartbeat(self, every: float) -> int:
        """Say this process is alive (it says so `every` seconds); how many processes are, this
        one included. One that stopped cleanly said so (`release_all`) and is gone at once; one
        that only stopped beating counts for `LATE_BEATS` more beats, so a process slowed down
        for a while (a busy machine, a long pause) never leaves the others thinking they are
        alone: they would take its share of the request budget on top of its own."""
        alive_within = LATE_BEATS * every
        now = self.clock()
        async with self._begin() as conn:
            changed = await conn.execute(
                update(processes).where(processes.c.id == self.owner).values(seen_at=now)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(processes).values(id=self.owner, seen_at=now))
            await conn.execute(
                delete(processes).where(processes.c.seen_at < now - 10 * alive_within)
            )
            live = await conn.execute(
                select(func.count())
                .select_from(processes)
                .where(processes.c.seen_at >= now - alive_within)
            )
        return max(1, int(live.scalar_one()))


# How many beats a process that stopped beating without a goodbye (killed, or stalled) is still
# counted alive for.
LATE_BEATS = 10


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


async def main_migrate(url: str) -> None:
    """`python -m bot migrate`."""
    store = await Store.open(url)
    log.info("store.migrated url=%s", describe(url))
    await store.close()
