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

Where each thing is kept, one module each (`ls bot/store/`): `tasks` (tasks, their follow and
report leases, progress), `slots` (per-person limits), `threads` (kept browsers, follow-ups),
`settings`, `schedules`, `logins`, `outbox`, `workspaces` (installations, keys, OAuth states,
forgetting one), `leases` (named leases, heartbeats), `housekeeping` (request keys, retention,
gauges), `audit` (the audit trail); `schema` holds the tables, `engine` the database and its
migrations, `base` what they share. `Store` is all of them over one connection pool, scoped to a
workspace by `scoped`.
"""

from __future__ import annotations

import logging

from bot.store.approvals import Approval, Approvals
from bot.store.audit import Audit, AuditEvent
from bot.store.base import StoreBase, new_owner
from bot.store.engine import (
    DEFAULT_DATABASE_URL,
    MIGRATIONS,
    StoreUnavailable,
    bring_up_to_date,
    database_url,
    describe,
    replay_migrations,
    unreachable_reason,
)
from bot.store.housekeeping import Housekeeping
from bot.store.leases import Leases
from bot.store.logins import Login, Logins
from bot.store.outbox import Outbox, Owed
from bot.store.schedules import Schedule, Schedules
from bot.store.schema import WORKSPACE_SCOPE
from bot.store.settings import SavedSettings, Settings
from bot.store.slots import Slots
from bot.store.tasks import Claim, TaskRecord, Tasks
from bot.store.threads import FollowUp, Threads
from bot.store.workspaces import Workspaces

log = logging.getLogger(__name__)


class Store(
    Tasks,
    Slots,
    Threads,
    Settings,
    Schedules,
    Logins,
    Outbox,
    Workspaces,
    Leases,
    Housekeeping,
    Audit,
    Approvals,
    StoreBase,
):
    """One per process (a workspace's view of it: `scoped`). Each method is one short
    transaction; each part is kept in its own module."""


async def main_migrate(url: str) -> None:
    """`python -m bot migrate`."""
    store = await Store.open(url)
    log.info("store.migrated url=%s", describe(url))
    await store.close()


__all__ = [
    "DEFAULT_DATABASE_URL",
    "MIGRATIONS",
    "WORKSPACE_SCOPE",
    "Approval",
    "AuditEvent",
    "Claim",
    "FollowUp",
    "Login",
    "Owed",
    "SavedSettings",
    "Schedule",
    "Store",
    "StoreUnavailable",
    "TaskRecord",
    "bring_up_to_date",
    "database_url",
    "describe",
    "main_migrate",
    "new_owner",
    "replay_migrations",
    "unreachable_reason",
]
