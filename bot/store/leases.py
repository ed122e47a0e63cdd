"""Work one process does at a time (named leases), which processes are alive (heartbeats), and
everything a stopping process hands on.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import (
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.store.base import CLOSE_WAIT_SECONDS, StoreBase
from bot.store.schema import (
    follow_ups,
    leases,
    outbox,
    processes,
    tasks,
)

log = logging.getLogger(__name__)


# How many beats a process that stopped beating without a goodbye (killed, or stalled) is still
# counted alive for.
LATE_BEATS = 10


class Leases(StoreBase):
    """Named leases, heartbeats, and what a stopping process hands on."""

    async def release_all(self) -> None:
        """At shutdown: every lease of this process ends now (its follows, its follow-ups, the
        sweep, what it was delivering from the outbox), so the others take over at once. The
        store calls still under way end first: a poll cancelled by the stop while it claimed
        its task's lease claims it all the same (`_shielded`), and claimed after this, the
        lease held the task from the other processes for its whole length."""
        others = {c for c in self._running if c is not asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=CLOSE_WAIT_SECONDS)
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
