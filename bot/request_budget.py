"""The request budget every Browser Use call of a process waits for: a token bucket under Browser
Use's rate limit, shared out between processes, where a person's requests go first and
background reads wait by priority."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum

from bot import metrics

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Which of the reads waiting for the request budget goes first (lower first). Creates and
    what a person just clicked do not wait here at all: they go before every read."""

    WEBHOOK = 1  # a read a webhook asked for: its result is seconds away
    CHANGED = 2  # a read of a task seen to change (by its own poll, or missing from the sweep)
    SWEEP = 3  # a page of the list of running tasks (the safety net for every task followed)
    POLL = 4  # a watched task's status poll, or the periodic read of its progress


class RequestBudget:
    """A token bucket shared by every call of the process, kept under Browser Use's rate limit.

    Browser Use allows about 25 requests a second per project, counted over 5-second windows
    (125 a window). A bucket of `rate` tokens refilled at `rate` a second lets through at most
    6 x rate in any window: 120 at the default 20. Requests someone waits for (creates, clicks)
    go first, in order. Background reads go one at a time by `Priority`, then in the order they
    asked, while no such request waits; polls only when half the bucket is spare (they pause
    under a stream of creates rather than push them into a queue), higher priorities as soon as
    a token is. With several processes on one API key, each takes `1/n` of the rate (`share`),
    so together they stay within it.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.total_rate = self.rate = rate
        self._clock, self._sleep = clock, sleep
        self._tokens = rate
        self._updated = clock()
        self._lock = asyncio.Lock()
        # Background reads waiting: (priority, arrival, the event that wakes it when it leads).
        self._waiting: list[tuple[int, int, asyncio.Event]] = []
        self._arrivals = itertools.count()
        self.urgent_waiting = 0

    def share(self, processes: int) -> None:
        """Take this process's share of the budget, when `processes` share one API key."""
        rate = self.total_rate / max(1, processes)
        if rate != self.rate:
            log.info("budget.share processes=%d rate=%.2f", processes, rate)
            self.rate = rate
            self._tokens = min(self._tokens, rate)

    def expected_wait(self) -> float:
        """Roughly how long a request someone waits for would wait if it asked now, in seconds."""
        return max(0.0, (self.urgent_waiting + 1 - self._available()) / self.rate)

    def _available(self) -> float:
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(
        self, *, background: bool = False, priority: Priority = Priority.POLL
    ) -> None:
        began = self._clock()
        try:
            if background:
                await self._background(priority)
                return
            self.urgent_waiting += 1
            try:
                await self._take()
            finally:
                self.urgent_waiting -= 1
        finally:
            waited = self._clock() - began
            if waited > 0:
                metrics.BUDGET_WAIT.labels("background" if background else "person").inc(waited)

    async def _background(self, priority: Priority) -> None:
        """Wait asleep until this read leads the queue (by priority, then arrival), then look at
        the bucket every 1/rate s until it may go: only the leader wakes, not every waiter (a
        hundred running tasks at 20/s: 2,000 wake-ups a second for nothing)."""
        entry = (int(priority), next(self._arrivals), asyncio.Event())
        heapq.heappush(self._waiting, entry)
        if self._waiting[0] is entry:
            entry[2].set()
        floor = self.rate / 2 if priority >= Priority.POLL else 1.0
        try:
            while True:
                await entry[2].wait()
                while self._waiting and self._waiting[0] is entry:
                    if not self.urgent_waiting and self._available() >= floor:
                        heapq.heappop(self._waiting)
                        await self._take()
                        return
                    await self._sleep(1 / self.rate)
                entry[2].clear()  # a read of a higher priority came first: wait to lead again
        finally:
            if entry in self._waiting:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
            if self._waiting:
                self._waiting[0][2].set()

    async def _take(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
