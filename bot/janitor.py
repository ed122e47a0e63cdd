"""Closes the browser sessions the app opened for threads once they sit idle, so nobody pays for
a browser left open. It reads everything from Browser Use (no memory of its own), so it works
after a restart and with several processes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from bot.answers import SessionView
from bot.browser_use import BrowserUseClient, BrowserUseError
from bot.models import SESSION_METADATA_KEY, SlackRoute, parse_time

log = logging.getLogger(__name__)

OnClosed = Callable[[SessionView, SlackRoute], Awaitable[None]]
# The sessions the store says are at work (an unreported task created after the time given).
Busy = Callable[[float], Awaitable[set[str]]]
# A task unreported for longer than this is not taken to keep its browser at work: a task whose
# result could never be posted must not keep a browser open for ever.
BUSY_AT_MOST = timedelta(hours=6)
# Pages of 100 open browsers read a sweep at most (all of them are listed before any closes, so
# closing one does not shift a page under the sweep).
MAX_PAGES = 100


async def _nothing_busy(_: float) -> set[str]:
    return set()


class SessionJanitor:
    def __init__(
        self,
        client: BrowserUseClient,
        idle_seconds: float,
        on_closed: OnClosed,
        *,
        busy: Busy = _nothing_busy,
        floor: float = 1.0,
    ):
        self.client = client
        self.idle_seconds = idle_seconds
        self.on_closed = on_closed
        self.busy = busy
        # A third of the idle time, between `floor` (Timers.janitor_floor) and a minute.
        self.interval = max(floor, min(60.0, idle_seconds / 3))
        # Open browsers read once and found to be someone else's (tasks, none of them a thread's
        # of this app): a browser the app opens for a thread has its task first, so these never
        # become the app's, and are not read again while they stay open. The team's key pays
        # for the rest of what it runs on Browser Use; read every sweep, they cost a read each.
        self._foreign: set[str] = set()

    async def run(self, has_sessions: Callable[[], bool] = lambda: True) -> None:
        """Forever: a sweep every `interval`, while `has_sessions()` says there may be thread
        browsers to look at."""
        while True:
            await asyncio.sleep(self.interval)
            if not has_sessions():
                continue
            try:
                await self.sweep()
            except BrowserUseError as exc:
                log.warning("janitor.sweep_failed: %s", exc)
            except Exception:
                log.exception("janitor.sweep crashed")

    async def sweep(self, now: datetime | None = None) -> int:
        """Close every idle thread session; returns how many it closed."""
        now = now or datetime.now(timezone.utc)
        closed = 0
        listed = []
        for page in range(1, MAX_PAGES + 1):
            listing = await self.client.list_sessions(status="active", page=page)
            listed += listing.items
            if not listing.items or page * listing.page_size >= listing.total_items:
                break
        # A browser whose task is still running is not idle: it is not read. With a thousand
        # tasks running, reading each session cost a thousand requests a sweep.
        busy = await self.busy((now - BUSY_AT_MOST).timestamp())
        self._foreign &= {item.id for item in listed}  # those closed since are forgotten
        for item in listed:
            if item.id in busy or item.id in self._foreign:
                continue
            session = await self.client.get_session(item.id, background=True)
            ours = [t for t in session.tasks if t.metadata.get(SESSION_METADATA_KEY) == session.id]
            if session.tasks and not ours:
                self._foreign.add(session.id)
            if not ours or session.busy or not session.active:
                continue  # not a thread session the app opened, or still working
            ends = [end for t in session.tasks if (end := parse_time(t.finished_at))]
            last = max(ends, default=None) or parse_time(session.started_at)
            if last is None or (now - last).total_seconds() < self.idle_seconds:
                continue
            await self.client.stop_session(session.id)
            closed += 1
            log.info("session.closed_idle session_id=%s", session.id)
            route = SlackRoute.from_metadata(ours[-1].metadata)
            if route is not None:
                await self.on_closed(session, route)
        return closed
