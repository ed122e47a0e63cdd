"""Per-person limits, counted here for both engines: a slot taken in the statement that counts the
person's slots, the task's once created, ended with its reported end.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from bot.store.base import StoreBase
from bot.store.schema import (
    SLOT_LOCK_SPACE,
    SLOT_UNUSED_SECONDS,
    slots,
)

log = logging.getLogger(__name__)


class Slots(StoreBase):
    """Per-person limits: slots taken, started, ended, given back."""

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

    def _spend(self, user_id: str, channel: str | None) -> dict[str, Any]:
        """What each spend cap counts, by its setting's name: the sum of the costs reported by
        the tasks of the person, the channel or the workspace since the UTC day or month
        began, as a scalar subquery."""
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        starts = {"day": day.timestamp(), "month": day.replace(day=1).timestamp()}
        team = slots.c.team == self._team("")
        scopes = {
            "person": and_(team, slots.c.user_id == user_id),
            "channel": and_(team, slots.c.channel == (channel or "")),
            "workspace": team,
        }
        return {
            f"max_spend_per_{who}_{span}": select(func.coalesce(func.sum(slots.c.cost), 0.0))
            .where(scope, slots.c.taken_at >= start)
            .scalar_subquery()
            for who, scope in scopes.items()
            for span, start in starts.items()
        }

    async def spend_by(self, column: str, most: int = 10) -> list[tuple[str, float]]:
        """This UTC month's spend by person (`user_id`) or by `channel`, the biggest first."""
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
        key = slots.c[column]
        total = func.sum(slots.c.cost)
        query = (
            select(key, total)
            .where(slots.c.team == self._team(""), slots.c.taken_at >= month, key != "")
            .group_by(key)
            .having(total > 0)
            .order_by(total.desc())
            .limit(most)
        )
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return [(str(who), float(amount)) for who, amount in rows]

    async def spent(self, user_id: str, channel: str | None) -> dict[str, float]:
        """What each spend cap has counted so far (see `_spend`), in US dollars."""
        sums = self._spend(user_id, channel)
        async with self._connect() as conn:
            row = (await conn.execute(select(*sums.values()))).one()
        return {name: float(value or 0.0) for name, value in zip(sums, row, strict=True)}

    async def take_slot(
        self,
        user_id: str,
        engine: str,
        *,
        running: int | None,
        hourly: int | None,
        channel: str | None = None,
        caps: dict[str, float] | None = None,
    ) -> int | None:
        """A slot for a task `user_id` is about to start, if they have fewer than `running`
        running and `hourly` started in the last hour (None: no such limit), and what was spent
        is under each of `caps` (by setting name: `_spend`); else None. The count and the
        taking are one statement (SQLite runs it alone), under the person's advisory lock on
        PostgreSQL: two starts at the same instant, in any processes, cannot both take the last
        slot."""
        now, team = self.clock(), self._team("")
        running_now, recent = self._slots_of(user_id)
        room = []
        if running is not None:
            room.append(select(func.count()).where(running_now).scalar_subquery() < running)
        if hourly is not None:
            room.append(select(func.count()).where(recent).scalar_subquery() < hourly)
        if caps:
            spend = self._spend(user_id, channel)
            room += [spend[name] < cap for name, cap in caps.items()]
        values = select(
            literal(team), literal(user_id), literal(engine), literal(channel or ""), literal(now)
        )
        taking = (
            insert(slots)
            .from_select(["team", "user_id", "engine", "channel", "taken_at"], values.where(*room))
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
