"""What Slack could not take while it was down, kept until it does, delivered by one process at a
time with backoff.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)

from bot.store.base import StoreBase
from bot.store.schema import (
    outbox,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owed:
    """Something the app owes a person in Slack (`outbox`): what kind, and its JSON body."""

    id: int
    kind: str
    body: dict[str, Any]
    team: str = ""
    task_id: str | None = None
    attempts: int = 0


class Outbox(StoreBase):
    """What Slack could not take yet."""

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
