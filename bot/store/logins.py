"""Saved logins: each login's profile and who it is shared with, and the login browser open for it,
leased to the process watching it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.store.base import StoreBase
from bot.store.schema import (
    logins,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Login:
    """A saved login (see the `logins` table)."""

    team: str
    name: str
    owner: str
    profile_id: str
    shared: str = "me"
    channels: tuple[str, ...] = ()
    start_url: str | None = None
    proxy: str | None = None
    cookie_domains: tuple[str, ...] = ()
    id: int = 0
    created_at: float = 0.0
    saved_at: float | None = None
    session_id: str | None = None
    session_deadline: float | None = None
    session_owner: str | None = None
    session_until: float | None = None
    message_channel: str | None = None
    message_ts: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Login:
        values = dict(row._mapping)
        values.pop("name_key", None)
        values["channels"] = tuple(json.loads(values["channels"]))
        values["cookie_domains"] = tuple(json.loads(values["cookie_domains"]))
        return cls(**values)


class Logins(StoreBase):
    """Saved logins and their login browsers."""

    async def login_with_profile(self, profile_id: str) -> Login | None:
        query = select(logins).where(self._ours(logins), logins.c.profile_id == profile_id)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    async def add_login(self, login: Login) -> int | None:
        """Keep a new login; its ID, or None when the workspace has one of that name already."""
        values = {
            "team": self._team(login.team),
            "name": login.name,
            "name_key": login.name.casefold(),
            "owner": login.owner,
            "profile_id": login.profile_id,
            "start_url": login.start_url,
            "proxy": login.proxy,
            "shared": login.shared,
            "channels": json.dumps(list(login.channels)),
            "cookie_domains": "[]",
            "created_at": self.clock(),
        }
        try:
            async with self._begin() as conn:
                result = await conn.execute(insert(logins).values(**values))
        except IntegrityError:
            return None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def login(self, login_id: int, *, team: str | None = None) -> Login | None:
        query = select(logins).where(self._ours(logins), logins.c.id == login_id)
        if team is not None:
            query = query.where(logins.c.team == team)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    async def login_named(self, team: str, name: str) -> Login | None:
        query = select(logins).where(
            self._ours(logins),
            logins.c.team == self._team(team),
            logins.c.name_key == name.casefold(),
        )
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Login.from_row(row) if row else None

    async def logins(self, team: str | None = None, *, owner: str | None = None) -> list[Login]:
        """A workspace's logins, or a person's."""
        query = select(logins).where(self._ours(logins)).order_by(logins.c.name_key)
        if team is not None:
            query = query.where(logins.c.team == self._team(team))
        if owner is not None:
            query = query.where(logins.c.owner == owner)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return [Login.from_row(row) for row in rows]

    async def change_login(self, login_id: int, **values: Any) -> None:
        """Set the login's name, sharing or cookie domains (lists kept as JSON)."""
        if "name" in values:
            values["name_key"] = values["name"].casefold()
        for name in ("channels", "cookie_domains"):
            if name in values:
                values[name] = json.dumps(list(values[name]))
        async with self._begin() as conn:
            await conn.execute(
                update(logins).where(self._ours(logins), logins.c.id == login_id).values(**values)
            )

    async def reserve_login_session(self, login_id: int, deadline: float, lease: float) -> bool:
        """Hold the login's browser slot for this process while its browser opens (no session ID
        yet); False when one is open already (one login browser per profile at a time)."""
        async with self._begin() as conn:
            done = await conn.execute(
                update(logins)
                .where(self._ours(logins), logins.c.id == login_id, logins.c.session_id.is_(None))
                .values(
                    session_id="",
                    session_deadline=deadline,
                    session_owner=self.owner,
                    session_until=self.clock() + lease,
                    message_channel=None,
                    message_ts=None,
                )
            )
        return bool(done.rowcount)

    async def set_login_session(self, login_id: int, session_id: str) -> bool:
        """The browser this process reserved is open (kept at once: if this process dies now,
        another one stops it). False when the reservation was closed meanwhile (then that
        browser must be stopped)."""
        async with self._begin() as conn:
            done = await conn.execute(
                update(logins)
                .where(
                    logins.c.id == login_id,
                    logins.c.session_owner == self.owner,
                    logins.c.session_id == "",
                )
                .values(session_id=session_id)
            )
        return bool(done.rowcount)

    async def set_login_message(
        self, login_id: int, session_id: str, channel: str, ts: str
    ) -> None:
        """The private message that holds the login browser (edited when it closes)."""
        async with self._begin() as conn:
            await conn.execute(
                update(logins)
                .where(
                    self._ours(logins), logins.c.id == login_id, logins.c.session_id == session_id
                )
                .values(message_channel=channel, message_ts=ts)
            )

    async def close_login_session(
        self, login_id: int, *, overdue_only: bool = False
    ) -> Login | None:
        """Take the login's open browser off the row, once, whichever process asks first: the
        login as it was (to stop its browser and tell its owner), or None when there was none
        (or, with `overdue_only`, when its deadline and its watcher's lease both still hold)."""
        now = self.clock()
        condition = [self._ours(logins), logins.c.id == login_id, logins.c.session_id.is_not(None)]
        if overdue_only:
            condition.append(or_(logins.c.session_deadline < now, logins.c.session_until < now))
        async with self._begin() as conn:
            row = (await conn.execute(select(logins).where(*condition))).first()
            if row is None:
                return None
            done = await conn.execute(
                update(logins)
                .where(*condition, logins.c.session_id == row.session_id)
                .values(
                    session_id=None,
                    session_deadline=None,
                    session_owner=None,
                    session_until=None,
                )
            )
        return Login.from_row(row) if done.rowcount else None

    async def overdue_logins(self) -> list[int]:
        """Logins whose browser is past its deadline, or whose watcher stopped renewing."""
        now = self.clock()
        query = select(logins.c.id).where(
            self._ours(logins),
            logins.c.session_id.is_not(None),
            or_(logins.c.session_deadline < now, logins.c.session_until < now),
        )
        async with self._connect() as conn:
            return [int(row.id) for row in await conn.execute(query)]

    async def own_login_sessions(self) -> list[int]:
        """The logins whose browser this process watches."""
        query = select(logins.c.id).where(self._ours(logins), logins.c.session_owner == self.owner)
        async with self._connect() as conn:
            return [int(row.id) for row in await conn.execute(query)]

    async def renew_login_sessions(self, lease: float) -> None:
        async with self._begin() as conn:
            await conn.execute(
                update(logins)
                .where(logins.c.session_owner == self.owner)
                .values(session_until=self.clock() + lease)
            )

    async def delete_login(self, login_id: int) -> bool:
        async with self._begin() as conn:
            gone = await conn.execute(
                delete(logins).where(self._ours(logins), logins.c.id == login_id)
            )
        return bool(gone.rowcount)
