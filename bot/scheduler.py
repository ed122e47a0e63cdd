"""Starts each recurring task's runs when they are due: once, whichever process gets there first.

The scheduler knows the store and the clock, not Slack: what a run is (a task posted in the
channel) is the `Runs` it is given. Every process ticks; a due run is claimed by moving its
schedule on to the next run with a compare-and-swap, which exactly one process wins. A run that
was due while every process was down is started when one comes back, if it is less than one
interval late; later than that it is skipped, and the channel told, rather than made up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

from bot.schedules import Repeat
from bot.store import Schedule, Store

log = logging.getLogger(__name__)


class Runs(Protocol):
    """What a due run becomes (the Slack side implements it)."""

    async def start(self, schedule: Schedule) -> None: ...

    async def skipped(self, schedule: Schedule, due_at: float) -> None: ...


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def next_run(repeat: Repeat, due_at: float, now: float) -> float:
    """The run after the one due at `due_at`: on the schedule's own beat, never in the past."""
    following = repeat.next_after(moment(due_at))
    if following.timestamp() <= now:
        following = repeat.next_after(moment(now))
    return following.timestamp()


class Scheduler:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        self.runs: Runs | None = None

    async def tick(self) -> int:
        """Start (or skip) every run due now that no other process claimed; how many."""
        if self.runs is None:
            return 0
        now = self.clock()
        claimed: list[tuple[Schedule, bool]] = []
        for schedule in await self.store.schedules(due_by=now):
            repeat = Repeat.load(schedule.repeat)
            following = next_run(repeat, schedule.next_run_at, now)
            if not await self.store.claim_run(schedule.id, schedule.next_run_at, following):
                continue  # another process has it
            late = now - schedule.next_run_at
            claimed.append((schedule, late >= repeat.period.total_seconds()))
            log.info("schedule.due id=%s late_s=%.0f skipped=%s", schedule.id, late, claimed[-1][1])
        runs = self.runs
        outcomes = await asyncio.gather(
            *(
                runs.skipped(schedule, schedule.next_run_at) if skip else runs.start(schedule)
                for schedule, skip in claimed
            ),
            return_exceptions=True,
        )
        for (schedule, _), outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("schedule.run_failed id=%s", schedule.id, exc_info=outcome)
        return len(claimed)
