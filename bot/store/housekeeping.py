"""What keeps the store small and says how it is: one task per Slack request (its key), forgetting
what is past the retention period, and the gauges `/metrics` reads.
"""

from __future__ import annotations

import logging

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError

from bot.store.base import StoreBase
from bot.store.schema import (
    RETENTION_BATCH,
    approvals,
    audit,
    follow_ups,
    installations,
    oauth_states,
    outbox,
    request_keys,
    slots,
    tasks,
    threads,
    workspace_keys,
)

log = logging.getLogger(__name__)


class Housekeeping(StoreBase):
    """Request keys, retention, gauges."""

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
            "approvals": (approvals, approvals.c.created_at < now - retention),
            "audit": (audit, audit.c.at < now - retention),
            # 40 days on, a slot counts for no limit and no month's spend, unless its task
            # still runs.
            "slots": (
                slots,
                and_(
                    slots.c.taken_at < now - 40 * 86400,
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
