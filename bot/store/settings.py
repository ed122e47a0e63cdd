"""What people change in Slack: a channel's defaults and the workspace's admin settings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    insert,
    select,
    update,
)

from bot.store.base import StoreBase
from bot.store.schema import (
    WORKSPACE_SCOPE,
    settings,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedSettings:
    """Settings kept in Slack (a channel's defaults, or the workspace's), and who set them when."""

    values: dict[str, Any]
    updated_by: str
    updated_at: float


class Settings(StoreBase):
    """A channel's defaults and the workspace's admin settings."""

    async def channel_defaults(self, channel: str) -> SavedSettings | None:
        """A channel's defaults, read fresh each time: a change made through any process is
        seen by every process at once."""
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(settings).where(self._ours(settings), settings.c.scope == channel)
                )
            ).first()
        if row is None:
            return None
        return SavedSettings(json.loads(row.values), row.updated_by, row.updated_at)

    async def save_channel_defaults(self, channel: str, values: dict[str, Any], by: str) -> None:
        now, data = self.clock(), json.dumps(values, separators=(",", ":"))
        async with self._begin() as conn:
            changed = await conn.execute(
                update(settings)
                .where(self._ours(settings), settings.c.scope == channel)
                .values(values=data, updated_by=by, updated_at=now)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    insert(settings).values(
                        team=self._team(""),
                        scope=channel,
                        values=data,
                        updated_by=by,
                        updated_at=now,
                    )
                )

    async def workspace_settings(self) -> SavedSettings | None:
        """What an admin changed in Slack (App Home → Settings): Settings field → value."""
        return await self.channel_defaults(WORKSPACE_SCOPE)

    async def save_workspace_settings(self, values: dict[str, Any], by: str) -> None:
        await self.save_channel_defaults(WORKSPACE_SCOPE, values, by)
