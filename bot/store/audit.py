"""The audit trail: every start, refusal, end (with its cost), stop, take over, use of a saved
login, change of who may use one, and change of settings, with who, what, where and when; read
back by admins as CSV, filtered by person, channel and period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from sqlalchemy import insert, select

from bot.store.base import StoreBase
from bot.store.schema import audit

log = logging.getLogger(__name__)

# A detail longer than this is cut: the trail says what happened, not all of it.
DETAIL_MAX_CHARS = 300


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened (see the `audit` table)."""

    action: str
    actor: str = ""
    channel: str | None = None
    task_id: str | None = None
    login: str | None = None
    cost: float | None = None
    detail: str | None = None
    at: float = 0.0
    team: str = ""


_EVENT_FIELDS = [f.name for f in fields(AuditEvent)]


class Audit(StoreBase):
    """The audit trail: written as things happen, read by admins."""

    async def record(self, event: AuditEvent) -> None:
        values = {name: getattr(event, name) for name in _EVENT_FIELDS}
        values["team"] = self._team(event.team)
        values["at"] = event.at or self.clock()
        if values["detail"]:
            values["detail"] = str(values["detail"])[:DETAIL_MAX_CHARS]
        async with self._begin() as conn:
            await conn.execute(insert(audit).values(**values))

    async def audit_trail(
        self,
        since: float,
        until: float | None = None,
        *,
        actor: str | None = None,
        channel: str | None = None,
    ) -> list[AuditEvent]:
        """This workspace's events from `since` to `until`, oldest first, of one person or one
        channel if given."""
        query = select(audit).where(self._ours(audit), audit.c.at >= since)
        if until is not None:
            query = query.where(audit.c.at < until)
        if actor is not None:
            query = query.where(audit.c.actor == actor)
        if channel is not None:
            query = query.where(audit.c.channel == channel)
        async with self._connect() as conn:
            rows = await conn.execute(query.order_by(audit.c.at, audit.c.id))
        return [AuditEvent(**{name: getattr(row, name) for name in _EVENT_FIELDS}) for row in rows]
