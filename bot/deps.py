"""What every listener gets: settings, the one Browser Use client, the in-flight work tracker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.browser_use import BrowserUseClient
from bot.config import Settings

T = TypeVar("T")


class InFlight:
    """Counts work that runs after `ack()`, so a shutdown can wait for it instead of cutting it."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        self._count += 1
        self._idle.clear()
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
    settings: Settings
    browser_use: BrowserUseClient
    inflight: InFlight = field(default_factory=InFlight)
