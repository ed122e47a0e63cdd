"""What every listener gets: settings, the one Browser Use client, the store, the tracker, and
the work in flight."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.browser_use import BrowserUseClient
from bot.config import ADMIN_SETTINGS, Settings
from bot.scheduler import Scheduler
from bot.store import SavedSettings, Store, StoreUnavailable
from bot.tracker import Tracker

T = TypeVar("T")
log = logging.getLogger(__name__)


def new_reference() -> str:
    """A short reference for an unexpected failure: in the log line and in what the person reads."""
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Failure:
    """Work behind an ack failed unexpectedly: its reference (in the log line too), and whether
    the cause was the store being out of reach (then nothing the work was to do was done)."""

    reference: str
    store_unreachable: bool = False


class InFlight:
    """Work that runs after `ack()`: started here, so a shutdown can wait for it, not cut it."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def count(self) -> int:
        return self._count

    def spawn(
        self,
        work: Callable[[], Awaitable[object]],
        on_error: Callable[[Failure], Awaitable[object]] | None = None,
    ) -> None:
        """Run `work` in the background. An unexpected failure is logged with a short reference,
        and `on_error(failure)` tells the person who is waiting, so nobody waits forever. The
        store out of reach is one line in the log, not a traceback per request."""

        async def guarded() -> None:
            try:
                await work()
            except StoreUnavailable as exc:
                failure = Failure(new_reference(), store_unreachable=True)
                log.error(
                    "store.unreachable ref=%s error=%s: the request was refused, nothing done",
                    failure.reference,
                    exc.reason,
                )
            except Exception:
                failure = Failure(new_reference())
                log.exception("background work failed ref=%s", failure.reference)
            else:
                return
            if on_error is not None:
                try:
                    await on_error(failure)
                except Exception:
                    log.exception("telling the person failed ref=%s", failure.reference)

        # Counted now, not when the task first runs: the moment a listener returns (and Slack
        # gets its ack), `/healthz` already counts the work it left behind.
        loop = asyncio.get_running_loop()
        self._begin()
        task = loop.create_task(self._finish_after(guarded))
        # The loop keeps only weak references to tasks; hold them until they finish.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _begin(self) -> None:
        self._count += 1
        self._idle.clear()

    async def _finish_after(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True when all work finished within `timeout` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


@dataclass
class Deps:
    settings: Settings  # the deployment's, as read at start-up
    browser_use: BrowserUseClient
    store: Store
    tracker: Tracker
    scheduler: Scheduler
    inflight: InFlight = field(default_factory=InFlight)
    # Many workspaces: whose world this is (its tenant), and whether it connected Browser Use
    # (until then `browser_use` has no key, and nothing may start).
    tenant: str | None = None
    connected: bool = True
    # An org-wide install (Enterprise Grid): its key and settings are the organisation's.
    org_wide: bool = False
    # Workflow steps' execution tokens, by task ID: kept in this process's memory alone, never
    # in the store (they are credentials, and expire within minutes; a step whose token is
    # gone, or was another process's, is completed with the bot token).
    execution_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    # The settings in force: the deployment's, with what an admin changed in Slack for the
    # ones the deployment left unset. Refreshed from the store every heartbeat (and at once by
    # the process that saved a change), so no request ever waits for the store to read them.
    policy: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.settings

    async def refresh_policy(self) -> Settings:
        return self.use_policy(await self.store.workspace_settings())

    def use_policy(self, changed: SavedSettings | None) -> Settings:
        """The settings in force, given what an admin changed in Slack (read by the caller)."""
        self.policy = apply_admin_settings(self.settings, changed.values if changed else {})
        return self.policy

    def may_control(self, user_id: str, owner_id: str) -> bool:
        """Stop, share or watch a task: the person who started it, or an admin."""
        return user_id == owner_id or user_id in self.settings.admin_user_ids


def apply_admin_settings(settings: Settings, changed: dict[str, Any]) -> Settings:
    """`settings` with an admin's changes, except where the deployment set the value."""
    allowed = {
        k: v
        for k, v in changed.items()
        if k in ADMIN_SETTINGS and k not in settings.from_deployment
    }
    if not allowed:
        return settings
    return Settings.model_validate({**settings.model_dump(), **allowed})
