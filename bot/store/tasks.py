"""Tasks the app started: where each one's thread is, the leases that say which process follows it
and which one posts its result (renewed while the result waits for Slack), and the progress
shown.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from sqlalchemy import (
    Column,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.models import Engine, SlackRoute
from bot.store.base import StoreBase
from bot.store.schema import (
    slots,
    tasks,
)

log = logging.getLogger(__name__)


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
    # Its steps' stream: its message (None: none yet; "": Slack refused, edits instead), when it
    # started (time.time()), the last step it shows.
    stream_ts: str | None = None
    stream_at: float | None = None
    stream_step: int | None = None

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
    def cost_cap(self) -> float | None:
        """The most the task may cost (`--max-cost`, USD), from its kept request."""
        if not self.request:
            return None
        cap = json.loads(self.request).get("max_cost_usd")
        return float(cap) if cap is not None else None

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


_TASK_FIELDS = [f.name for f in fields(TaskRecord)]


class Claim(Enum):
    """A claim on posting a task's result, as won: nobody held it (or this process did), or
    its holder let it run out (it died, or stalled), perhaps after posting the result."""

    HELD = "held"
    TAKEN_OVER = "taken over"


class Tasks(StoreBase):
    """Tasks: add, read, lease to a follower and to a reporter, progress."""

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

    async def set_stream(
        self, task_id: str, ts: str | None, *, at: float | None = None, step: int | None = None
    ) -> None:
        """The stream that shows the task's steps now (None: closed; "": refused)."""
        async with self._begin() as conn:
            await conn.execute(
                update(tasks)
                .where(self._ours(tasks), tasks.c.task_id == task_id)
                .values(stream_ts=ts, stream_at=at, stream_step=step)
            )

    async def latest_in_thread(self, channel: str, thread_ts: str) -> TaskRecord | None:
        """The latest task of a thread (the one running, if one is: a thread's tasks run one
        after another), if any."""
        query = (
            select(*[tasks.c[name] for name in _TASK_FIELDS])
            .where(self._ours(tasks), tasks.c.channel == channel, tasks.c.thread_ts == thread_ts)
            .order_by(tasks.c.created_at.desc())
            .limit(1)
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return TaskRecord(**row._mapping) if row else None

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
    ) -> Claim | None:
        """Take or renew a lease on an unreported task: held when nobody holds it or this
        process does already; taken over when its holder let it run out (died, or stopped
        renewing); None when the task is reported, unknown, or another holder's lease runs."""
        now = self.clock()
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
                    .values({holder: self.owner, until: now + seconds})
                )
                if result.rowcount == 1:
                    return claim
        return None

    async def claim_follow(self, task_id: str, seconds: float) -> bool:
        """Become (or stay) the one process that polls `task_id`, for `seconds`. False when the
        task is reported, unknown, or another process holds a lease that has not run out."""
        lease = await self._lease(task_id, tasks.c.follower, tasks.c.follow_until, seconds)
        return lease is not None

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

    async def thread_run(self, channel: str, thread_ts: str) -> str | None:
        """The v4 session of the latest task in a thread, if that task ran in accurate mode (a
        command's or the form's: a conversation's is the thread's kept session already)."""
        query = (
            select(tasks.c.session_id, tasks.c.engine)
            .where(self._ours(tasks), tasks.c.channel == channel, tasks.c.thread_ts == thread_ts)
            .order_by(tasks.c.created_at.desc())
            .limit(1)
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return str(row.session_id) if row is not None and row.engine == "v4" else None

    async def cost_caps(self) -> dict[str, float]:
        """The unreported tasks that have a cost cap (`--max-cost`), with it, by task ID."""
        query = select(tasks.c.task_id, tasks.c.request).where(
            self._ours(tasks),
            tasks.c.reported_at.is_(None),
            tasks.c.request.like('%"max_cost_usd"%'),
        )
        async with self._connect() as conn:
            rows = await conn.execute(query)
        caps = {}
        for row in rows:
            cap = json.loads(row.request).get("max_cost_usd")
            if cap is not None:
                caps[row.task_id] = float(cap)
        return caps

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
        return await self._lease(task_id, tasks.c.report_owner, tasks.c.report_until, seconds)

    async def reported(self, task_id: str, status: str, cost: float | None = None) -> None:
        """The task's end is posted: it is followed no more, its slot ends (the person may start
        another), and what it cost (USD, as Browser Use reported it) counts for the caps."""
        now = self.clock()
        async with self._begin() as conn:
            await conn.execute(
                update(slots)
                .where(slots.c.task_id == task_id, slots.c.ended_at.is_(None))
                .values(ended_at=now, cost=cost)
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
