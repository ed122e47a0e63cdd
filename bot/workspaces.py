"""The workspaces a process serves: one (`SLACK_BOT_TOKEN`), or every workspace that installed
the app (`SLACK_CLIENT_ID`). Each has its own world: its Browser Use client (its key, its
request budget), its view of the store (its rows only), its tracker, scheduler and policy (a
`Deps`), and the Slack client its background work posts with (its bot token).

With many workspaces, a workspace's world is made the first time it is needed (a request, or
the heartbeat finding it connected), and made again when its Browser Use key changes in any
process (the store's `connected_at` says so); it is closed when the app is uninstalled or the
key disconnected. A request's world is found once, by the Bolt middleware, and kept in a
context variable for its listener and the work the listener leaves behind
(`asyncio` copies the context into each task it starts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.deps import Deps, InFlight
from bot.sealed import Sealer
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

# When a workspace installed the app (a new install brings a new token) and connected its
# Browser Use key (None: not yet): a world is made again when either changes.
Version = tuple[float | None, float | None]
# The workspace whose request this is (set by the Bolt middleware, for its listener and the
# work it leaves behind).
CURRENT: ContextVar[Workspace] = ContextVar("workspace")


@dataclass
class Workspace:
    tenant: str | None  # None: the deployment serves one workspace
    deps: Deps
    client: AsyncWebClient  # its bot token: what its background work posts with
    # What this world was made from (None: the deployment's one workspace, from its settings).
    credentials: Credentials | None = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    # The housekeeping it has to do (`Store.work`'s kinds), as of the last heartbeat; None: not
    # known, so all of it (one workspace).
    work: set[str] | None = None

    @property
    def version(self) -> Version:
        return self.credentials.version if self.credentials else (None, None)

    def has(self, kind: str) -> bool:
        return self.work is None or kind in self.work

    async def close(self, *, release: bool = True) -> None:
        """Stop its background work and its polls; its leases are handed on (`release`)."""
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.deps.tracker.close(release=release)
        await self.deps.browser_use.aclose()


@dataclass(frozen=True)
class Credentials:
    """What a workspace's world is made from (opened from the store: never logged)."""

    tenant: str
    bot_token: str = field(repr=False)
    api_key: str | None = field(repr=False)  # None: Browser Use is not connected yet
    # The stored row: who the bot is (its tokens still sealed).
    installation: dict[str, Any] = field(repr=False)

    @property
    def version(self) -> Version:
        """When the app was installed there and the key connected."""
        return self.installation["installed_at"], self.installation["connected_at"]


# Makes a workspace's world; starts its background work when `running`.
Build = Callable[[Credentials], Awaitable[Workspace]]


class Workspaces:
    """Every workspace this process serves, by tenant (the enterprise for an org-wide install,
    else the team)."""

    def __init__(
        self,
        store: Store,
        build: Build | None = None,
        credentials: Callable[[str], Awaitable[Credentials | None]] | None = None,
        one: Workspace | None = None,
        inflight: InFlight | None = None,
        settings: Settings | None = None,
        sealer: Sealer | None = None,
    ):
        self.store = store
        settings = settings or (one.deps.settings if one is not None else None)
        assert settings is not None
        self.settings = settings
        self.sealer = sealer
        # The work in flight of every workspace: what a shutdown waits for, and `/healthz` shows.
        self.inflight = one.deps.inflight if one is not None else inflight or InFlight()
        self._build = build
        self._credentials = credentials
        self._one = one
        self._by_tenant: dict[str, Workspace] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def single(cls, store: Store, workspace: Workspace) -> Workspaces:
        return cls(store, one=workspace)

    @property
    def many(self) -> bool:
        return self._one is None

    async def credentials(self, tenant: str) -> Credentials | None:
        """What the workspace's world is made from (its token and key, opened); None if the app
        is not installed there."""
        return await self._credentials(tenant) if self._credentials is not None else None

    def kept(self, tenant: str) -> Workspace | None:
        """The workspace's world as this process has it now (none made here)."""
        return self._by_tenant.get(tenant)

    def all(self) -> list[Workspace]:
        return [self._one] if self._one is not None else list(self._by_tenant.values())

    async def get(self, tenant: str | None) -> Workspace | None:
        """The workspace's world, made (or made again, when its key changed) if needed; None when
        the app is not installed there."""
        if self._one is not None:
            return self._one
        if tenant is None or self._credentials is None or self._build is None:
            return None
        # The common case, with no lock: a burst of requests from one workspace does not queue.
        found = await self._credentials(tenant)
        kept = self._by_tenant.get(tenant)
        if found is not None and kept is not None and kept.version == found.version:
            return kept
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            found = await self._credentials(tenant)  # again: another request may have made it
            kept = self._by_tenant.get(tenant)
            if found is None:
                if kept is not None:
                    await self.drop(tenant, release=False)
                return None
            if kept is not None and kept.version == found.version:
                return kept
            made = await self._build(found)
            self._by_tenant[tenant] = made
        if kept is not None:
            # Its leases are this process's still: the new world's tracker renews them.
            log.info("workspace.remade tenant=%s", tenant)
            await kept.close(release=False)
        return made

    async def drop(self, tenant: str, *, release: bool = True) -> None:
        """Stop serving the workspace in this process (uninstalled, or its key disconnected)."""
        kept = self._by_tenant.pop(tenant, None)
        if kept is not None:
            await kept.close(release=release)

    async def refresh(self, tenants: dict[str, Version]) -> None:
        """Every heartbeat, given each installed workspace and its version: the world of each
        is current (made, made again or dropped), so its tasks, schedules and outbox are looked
        after by some process. Only a change costs more than the one query."""
        if self._one is not None:
            return
        for tenant in set(self._by_tenant) - set(tenants):
            await self.drop(tenant, release=False)
        for tenant, version in tenants.items():
            kept = self._by_tenant.get(tenant)
            if kept is not None and kept.version == version:
                continue
            try:
                await self.get(tenant)
            except Exception:
                log.exception("workspace.unavailable tenant=%s", tenant)

    async def close(self) -> None:
        """At shutdown: every world stops, then this process's leases are handed on at once."""
        for workspace in self.all():
            await workspace.close(release=False)
        self._by_tenant.clear()
        try:
            await self.store.release_all()
        except StoreUnavailable as exc:
            log.error("store.unreachable error=%s: the leases run out by themselves", exc.reason)


def current() -> Deps:
    """The world of the workspace this request is for."""
    return CURRENT.get().deps


def current_client() -> AsyncWebClient:
    """The Slack client (its bot token) of the workspace this request is for."""
    return CURRENT.get().client
