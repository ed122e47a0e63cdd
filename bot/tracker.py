"""Follows tasks to their end: polling with backoff, webhook nudges, and recovery after a restart.

The tracker knows Browser Use, not Slack: it hands what it learns to a `TaskSink` (the Slack side
implements it). It trusts no event's status: every nudge is a prompt to read the task itself.
Every read goes through the client's shared request budget.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot.browser_use import BrowserUseClient, BrowserUseError, NotFoundError
from bot.models import SlackRoute, TaskView

log = logging.getLogger(__name__)

RESUME_RUNNING_WITHIN = timedelta(days=1)
RESUME_ENDED_WITHIN = timedelta(hours=6)
RESUME_MAX_PAGES = 10
REMEMBERED_TASKS = 5000
MAX_REPORT_TRIES = 10


class TaskSink(Protocol):
    """Where news of a task goes. Both calls must be safe to repeat."""

    def accepts(self, route: SlackRoute) -> bool: ...

    def remember_status(self, task_id: str, ref: str, react_ref: str | None = None) -> None:
        """Where the task's status is shown (a message), known when the task was started, and
        the message that asked for it, when it is to get a reaction at the end."""

    async def progress(self, task: TaskView, route: SlackRoute) -> None: ...

    async def finished(self, task: TaskView, route: SlackRoute) -> None: ...


class Tracker:
    def __init__(
        self,
        client: BrowserUseClient,
        *,
        poll_interval: float = 3.0,
        max_poll_interval: float = 15.0,
        progress_every: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.client = client
        self.sink: TaskSink | None = None
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        # How often the status message shows the agent's latest step.
        self.progress_every = progress_every or 3 * poll_interval
        self._sleep = sleep
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._reported: OrderedDict[str, None] = OrderedDict()
        self._last_progress: dict[str, tuple[str, int]] = {}

    @property
    def following(self) -> int:
        return len(self._loops)

    def follow(self, task_id: str) -> None:
        """Poll `task_id` until it ends (no-op if it is followed already or reported)."""
        if task_id in self._loops or task_id in self._reported:
            return
        loop = asyncio.get_running_loop().create_task(self._poll(task_id))
        self._loops[task_id] = loop
        loop.add_done_callback(lambda _: self._forget(task_id))

    def _forget(self, task_id: str) -> None:
        """A task no longer followed (ended, gone, or given up on) keeps no state here."""
        self._loops.pop(task_id, None)
        self._last_progress.pop(task_id, None)
        lock = self._locks.get(task_id)
        if lock is not None and not lock.locked():
            del self._locks[task_id]

    async def close(self) -> None:
        loops = list(self._loops.values())
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    async def _poll(self, task_id: str) -> None:
        """Cheap `/status` reads with backoff; the full task (for the step shown in Slack) every
        `progress_every` seconds, and as soon as the status changes."""
        interval = self.poll_interval
        since_full_read = 0.0
        last_status = ""
        tries_after_end = 0
        while task_id not in self._reported and tries_after_end < MAX_REPORT_TRIES:
            await self._sleep(interval * random.uniform(0.9, 1.1))  # noqa: S311
            since_full_read += interval
            interval = min(interval * 1.5, self.max_poll_interval)
            if since_full_read >= self.progress_every:
                since_full_read = 0.0
                await self.refresh(task_id)
                continue
            try:
                status = await self.client.get_task_status(task_id, background=True)
            except NotFoundError:
                log.warning("tracker.gone task_id=%s", task_id)
                return
            except BrowserUseError as exc:
                log.warning("tracker.poll_failed task_id=%s error=%s", task_id, exc)
                continue
            if status.ended or status.status != last_status:
                last_status, since_full_read = status.status, 0.0
                await self.refresh(task_id)
                # Reported, or the report failed and is tried again on the next round.
                tries_after_end += status.ended
        if task_id not in self._reported:
            log.error("tracker.unreported task_id=%s after %d tries", task_id, tries_after_end)

    async def refresh(self, task_id: str) -> None:
        """Read the task and pass on what changed. Safe to call from anywhere, any number of
        times: a webhook, a poll, a button, or two of them at once."""
        lock = self._locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            if task_id in self._reported or self.sink is None:
                return
            try:
                task = await self.client.get_task(task_id, background=True)
            except BrowserUseError as exc:
                log.warning("tracker.read_failed task_id=%s error=%s", task_id, exc)
                return
            route = SlackRoute.from_metadata(task.metadata)
            if route is None or not self.sink.accepts(route):
                return  # not a task this app started
            try:
                if task.ended:
                    await self.sink.finished(task, route)
                    self._remember_reported(task_id)
                    log.info(
                        "task.%s task_id=%s session_id=%s", task.status, task.id, task.session_id
                    )
                    return
                step = task.last_step.number if task.last_step else 0
                if self._last_progress.get(task_id) != (task.status, step):
                    await self.sink.progress(task, route)
                    self._last_progress[task_id] = (task.status, step)
                    log.info(
                        "task.progress task_id=%s status=%s step=%d", task_id, task.status, step
                    )
            except Exception:
                log.exception("tracker.report_failed task_id=%s", task_id)
        self.follow(task_id)

    def _remember_reported(self, task_id: str) -> None:
        # Dropping the lock while it is held is safe: a reported task is never reported again.
        self._reported[task_id] = None
        self._locks.pop(task_id, None)
        self._last_progress.pop(task_id, None)
        while len(self._reported) > REMEMBERED_TASKS:
            self._reported.popitem(last=False)

    async def resume(self) -> int:
        """After a (re)start: follow the tasks this app started that have not ended, and make sure
        the ones that ended meanwhile were reported. Returns how many tasks it looked at."""
        now = datetime.now(timezone.utc)
        seen = 0
        for statuses, within in (
            (("created", "started"), RESUME_RUNNING_WITHIN),
            (("finished", "failed", "stopped"), RESUME_ENDED_WITHIN),
        ):
            after = (now - within).strftime("%Y-%m-%dT%H:%M:%SZ")
            for status in statuses:
                for page in range(1, RESUME_MAX_PAGES + 1):
                    try:
                        listing = await self.client.list_tasks(
                            status=status, after=after, page=page, background=True
                        )
                    except BrowserUseError as exc:
                        log.warning("tracker.resume_failed status=%s error=%s", status, exc)
                        break
                    for item in listing.items:
                        route = SlackRoute.from_metadata(item.metadata)
                        if route and self.sink and self.sink.accepts(route):
                            seen += 1
                            await self.refresh(item.id)
                    if page * listing.page_size >= listing.total_items or not listing.items:
                        break
        log.info("tracker.resumed tasks=%d following=%d", seen, self.following)
        return seen
