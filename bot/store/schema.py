"""The store's tables (SQLAlchemy Core), each row's shape, and the constants they share; the
migrations in `bot/migrations/` build the same schema (a test compares them).
"""

from __future__ import annotations

import logging
from pathlib import Path

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
    false,
)

log = logging.getLogger(__name__)


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
# Old rows are deleted this many at a time (`forget_old`): short transactions, short locks.
RETENTION_BATCH = 500
MIGRATIONS = Path(__file__).parent.parent / "migrations"
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
    # The stream that shows its steps (`handlers.flows.following`): its message ("" when Slack
    # refused to stream: its status message is edited instead), when it started, its last step.
    Column("stream_ts", String(32)),
    Column("stream_at", Float),
    Column("stream_step", Integer),
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
    # Where the task runs, and what it cost when its end was reported (USD): the spend caps.
    Column("channel", String(32), nullable=False, default="", server_default=""),
    Column("cost", Float),
    Index("slots_person", "team", "user_id", "taken_at"),
    Index("slots_task", "task_id"),
)
# What happened that an admin may be asked about: who (the person Slack verified), did what
# (`action`), where, to which task, on which saved login, at what cost; kept for the retention
# period. `detail` is a short plain phrase (a refusal's reason, the settings changed), never a
# secret, a token or a live view.
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False, default=""),
    Column("at", Float, nullable=False),
    Column("actor", String(32), nullable=False, default=""),
    Column("action", String(32), nullable=False),
    Column("channel", String(32)),
    Column("task_id", String(64)),
    Column("login", String(100)),
    Column("cost", Float),
    Column("detail", Text),
    Index("audit_when", "team", "at"),
)

# Tasks that wait for an approver's yes (`APPROVAL_FOR`), decided once.
approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(32), nullable=False, default=""),
    Column("asker", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("request", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_by", String(32)),
    Column("task_id", String(64)),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# A slot with no task this long after it was taken is a create that never finished (a process
# died in it): it no longer counts as running.
SLOT_UNUSED_SECONDS = 600.0
# Serialises the slots of one person on PostgreSQL (`pg_advisory_xact_lock`), beside the
# migrations' lock: this app's lock space, then the person's hash.
SLOT_LOCK_SPACE = 0x534C_4F54  # "SLOT"

# The tables whose rows each belong to one workspace (`team`): what `Store.scoped` reads and
# writes, and what `forget_workspace` deletes.
WORKSPACE_TABLES = (
    tasks,
    threads,
    follow_ups,
    settings,
    schedules,
    logins,
    outbox,
    slots,
    audit,
    approvals,
)

# Work one process does for all of them at a time (the sweep of running tasks), by name.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("until", Float, nullable=False),
)
