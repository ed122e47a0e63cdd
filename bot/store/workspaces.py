"""Many workspaces: each installation (tokens sealed), its Browser Use key (sealed), the OAuth
states of installs under way, which workspaces have work, and forgetting one that uninstalled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    insert,
    literal,
    select,
    true,
    union,
    update,
)

from bot.store.base import StoreBase
from bot.store.schema import (
    WORKSPACE_SCOPE,
    WORKSPACE_TABLES,
    follow_ups,
    installations,
    logins,
    oauth_states,
    outbox,
    schedules,
    settings,
    tasks,
    threads,
    workspace_keys,
)
from bot.store.settings import SavedSettings

log = logging.getLogger(__name__)


class Workspaces(StoreBase):
    """Installations, keys, install states, forgetting a workspace."""

    async def save_installation(self, values: dict[str, Any]) -> None:
        """Keep (or replace) a tenant's installation; its tokens come sealed."""
        async with self._begin() as conn:
            changed = await conn.execute(
                update(installations)
                .where(installations.c.tenant == values["tenant"])
                .values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(installations).values(**values))

    async def installation(self, tenant: str) -> dict[str, Any] | None:
        async with self._connect() as conn:
            row = (
                await conn.execute(select(installations).where(installations.c.tenant == tenant))
            ).first()
        return dict(row._mapping) if row else None

    async def delete_installation(self, tenant: str) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(delete(installations).where(installations.c.tenant == tenant))
        return bool(gone.rowcount)

    @staticmethod
    def _installed(*columns: Any) -> Any:
        """`columns` of each installation and its Browser Use key (None: not connected)."""
        joined = installations.outerjoin(
            workspace_keys, workspace_keys.c.tenant == installations.c.tenant
        )
        return select(*columns).select_from(joined)

    async def tenants(self) -> dict[str, tuple[float | None, float | None]]:
        """Every workspace the app is installed in, with when it installed the app and when it
        connected its Browser Use key (None: not yet): one query, however many workspaces."""
        query = self._installed(
            installations.c.tenant, installations.c.installed_at, workspace_keys.c.connected_at
        ).order_by(installations.c.tenant)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return {str(row.tenant): (row.installed_at, row.connected_at) for row in rows}

    async def work(self) -> dict[str, set[str]]:
        """Which workspaces have housekeeping to do, and of which kind, in one query however
        many there are: unreported tasks ("tasks"), thread browsers ("threads"), follow-ups
        waiting ("follow_ups"), something owed ("outbox"), recurring tasks due ("schedules"),
        login browsers open ("logins")."""
        now = self.clock()
        kinds = [
            ("tasks", tasks, tasks.c.reported_at.is_(None)),
            ("threads", threads, true()),
            ("follow_ups", follow_ups, follow_ups.c.started_at.is_(None)),
            ("outbox", outbox, true()),
            (
                "schedules",
                schedules,
                and_(schedules.c.paused.is_(False), schedules.c.next_run_at <= now),
            ),
            ("logins", logins, logins.c.session_id.is_not(None)),
        ]
        query = union(
            *(
                select(table.c.team, literal(kind).label("kind")).where(condition)
                for kind, table, condition in kinds
            )
        )
        found: dict[str, set[str]] = {}
        async with self._connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(str(row.team), set()).add(str(row.kind))
        return found

    async def all_workspace_settings(self) -> dict[str, SavedSettings]:
        """What each workspace's admins changed in Slack, by workspace, in one query."""
        query = select(settings).where(settings.c.scope == WORKSPACE_SCOPE)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return {
            str(row.team): SavedSettings(json.loads(row.values), row.updated_by, row.updated_at)
            for row in rows
        }

    async def credentials(self, tenant: str) -> dict[str, Any] | None:
        """The workspace's installation (its tokens sealed) with its sealed Browser Use key
        (`api_key`, None: not connected) and when that was connected, in one query; None if
        the app is not installed there."""
        query = self._installed(
            installations, workspace_keys.c.api_key, workspace_keys.c.connected_at
        ).where(installations.c.tenant == tenant)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def connect_key(self, tenant: str, sealed: str, project_id: str | None, by: str) -> None:
        """Keep (or replace) the workspace's Browser Use key, sealed."""
        values = {
            "api_key": sealed,
            "project_id": project_id,
            "connected_by": by,
            "connected_at": self.clock(),
        }
        async with self._begin() as conn:
            changed = await conn.execute(
                update(workspace_keys).where(workspace_keys.c.tenant == tenant).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(workspace_keys).values(tenant=tenant, **values))

    async def workspace_key(self, tenant: str) -> dict[str, Any] | None:
        """The workspace's key row (the key still sealed), or None when none is connected."""
        async with self._connect() as conn:
            row = (
                await conn.execute(select(workspace_keys).where(workspace_keys.c.tenant == tenant))
            ).first()
        return dict(row._mapping) if row else None

    async def disconnect_key(self, tenant: str) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(workspace_keys).where(workspace_keys.c.tenant == tenant)
            )
        return bool(gone.rowcount)

    async def forget_workspace(self, tenant: str) -> int:
        """Everything the store keeps of a workspace, gone in one transaction: its installation
        (tokens), its Browser Use key, and every row of it (tasks, threads, follow-ups,
        settings, schedules, logins, the outbox). How many rows; 0 the second time."""
        gone = 0
        async with self._begin() as conn:
            for table in WORKSPACE_TABLES:
                done = await conn.execute(delete(table).where(table.c.team == tenant))
                gone += int(done.rowcount or 0)
            for table in (workspace_keys, installations):
                done = await conn.execute(delete(table).where(table.c.tenant == tenant))
                gone += int(done.rowcount or 0)
        return gone

    async def issue_state(self, state: str, seconds: float) -> None:
        now = self.clock()
        async with self._begin() as conn:
            await conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
            await conn.execute(insert(oauth_states).values(state=state, expires_at=now + seconds))

    async def consume_state(self, state: str) -> bool:
        """True once for a state issued here and not expired; it is gone after."""
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(oauth_states).where(
                    oauth_states.c.state == state, oauth_states.c.expires_at >= self.clock()
                )
            )
        return gone.rowcount == 1

    async def reseal(self, reseal: Callable[[str], str]) -> int:
        """Every sealed value, sealed again (`Sealer.reseal`: under the first key); how many."""
        done = 0
        async with self._begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        installations.c.tenant,
                        installations.c.bot_token,
                        installations.c.bot_refresh_token,
                    )
                )
            ).all()
            for row in rows:
                values = {"bot_token": reseal(row.bot_token)}
                if row.bot_refresh_token:
                    values["bot_refresh_token"] = reseal(row.bot_refresh_token)
                await conn.execute(
                    update(installations)
                    .where(installations.c.tenant == row.tenant)
                    .values(**values)
                )
                done += len(values)
            keys = (
                await conn.execute(select(workspace_keys.c.tenant, workspace_keys.c.api_key))
            ).all()
            for key in keys:
                await conn.execute(
                    update(workspace_keys)
                    .where(workspace_keys.c.tenant == key.tenant)
                    .values(api_key=reseal(key.api_key))
                )
                done += 1
        return done
