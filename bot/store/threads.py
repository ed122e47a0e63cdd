"""Threads that keep a browser (their session, its profile, its engine) and the follow-ups waiting
for a busy one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from sqlalchemy import (
    and_,
    insert,
    or_,
    select,
    update,
)

from bot.store.base import StoreBase
from bot.store.schema import (
    follow_ups,
    logins,
    tasks,
    threads,
)

log = logging.getLogger(__name__)


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


_FOLLOW_UP_FIELDS = [f.name for f in fields(FollowUp)]


class Threads(StoreBase):
    """Threads that keep a browser, and follow-ups waiting for it."""

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

    async def busy_sessions(self, since: float) -> set[str]:
        """The sessions with an unreported task of the app created after `since`: browsers at
        work, as far as the store knows (one query, rather than a read of each at Browser Use)."""
        query = (
            select(tasks.c.session_id)
            .where(self._ours(tasks), tasks.c.reported_at.is_(None), tasks.c.created_at > since)
            .distinct()
        )
        async with self._connect() as conn:
            return {str(row.session_id) for row in await conn.execute(query) if row.session_id}

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
