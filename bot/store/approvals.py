"""Tasks waiting for a yes: what was asked, by whom, where, why it needs approval, and how it
was decided, once across processes (`decide` is one conditional update).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from sqlalchemy import insert, select, update

from bot.store.base import StoreBase
from bot.store.schema import approvals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Approval:
    """A task that waits for an approver (see the `approvals` table)."""

    asker: str
    channel: str
    request: str  # the request as kept (no secrets)
    origin: str  # where it came from and where its answers go (JSON)
    reason: str
    expires_at: float
    state: str = "pending"
    decided_by: str | None = None
    task_id: str | None = None
    id: int = 0
    team: str = ""
    created_at: float = 0.0


_FIELDS = [f.name for f in fields(Approval)]


class Approvals(StoreBase):
    """Tasks waiting for a yes."""

    async def add_approval(self, approval: Approval) -> int:
        values = {name: getattr(approval, name) for name in _FIELDS if name != "id"}
        values.update(team=self._team(approval.team), created_at=self.clock(), state="pending")
        async with self._begin() as conn:
            added = await conn.execute(insert(approvals).values(**values))
        key = added.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def approval(self, approval_id: int) -> Approval | None:
        query = select(approvals).where(self._ours(approvals), approvals.c.id == approval_id)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Approval(**{name: getattr(row, name) for name in _FIELDS}) if row else None

    async def decide(self, approval_id: int, by: str, approved: bool) -> bool:
        """Approve or deny, once: False when it was decided already, or has expired."""
        async with self._begin() as conn:
            done = await conn.execute(
                update(approvals)
                .where(
                    self._ours(approvals),
                    approvals.c.id == approval_id,
                    approvals.c.state == "pending",
                    approvals.c.expires_at > self.clock(),
                )
                .values(state="approved" if approved else "denied", decided_by=by)
            )
        return done.rowcount == 1

    async def approval_started(self, approval_id: int, task_id: str | None) -> None:
        async with self._begin() as conn:
            await conn.execute(
                update(approvals)
                .where(approvals.c.id == approval_id)
                .values(task_id=task_id, state="started" if task_id else "not started")
            )
