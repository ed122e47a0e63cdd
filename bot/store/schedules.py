"""Recurring tasks: each schedule, its next run claimed once across processes, its failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    update,
)

from bot.store.base import StoreBase
from bot.store.schema import (
    schedules,
)

log = logging.getLogger(__name__)


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


_SCHEDULE_FIELDS = [f.name for f in fields(Schedule)]


class Schedules(StoreBase):
    """Recurring tasks and their runs."""

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
