"""What `/healthz` says of the store: reachable or not, learnt by one cheap query at most every
few seconds (however often the platform asks), never waiting on a slow database for long.

A process whose store is out of reach can start nothing and report nothing: the platform is told
(503) so it routes elsewhere, or restarts it; it says 200 again at the first check that works.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

# A check is kept this long; one taking longer than the timeout counts as a failure.
CHECK_EVERY_SECONDS = 3.0
CHECK_TIMEOUT_SECONDS = 2.0


class StoreHealth:
    def __init__(
        self,
        store: Store,
        *,
        every: float = CHECK_EVERY_SECONDS,
        timeout: float = CHECK_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.every = every
        self.timeout = timeout
        self._clock = clock
        self._ok = True
        self._checked_at: float | None = None
        self._check: asyncio.Task[bool] | None = None

    async def ok(self) -> bool:
        """Whether the store answered its last check (made now, if the last is too old). Those
        who ask while a check runs share it."""
        fresh = self._checked_at is not None and self._clock() - self._checked_at < self.every
        if fresh:
            return self._ok
        if self._check is None:
            self._check = asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(self._check)

    async def _run(self) -> bool:
        reason = None
        try:
            await asyncio.wait_for(self.store.ping(), self.timeout)
        except StoreUnavailable as exc:
            reason = exc.reason
        except asyncio.TimeoutError:
            reason = f"no answer in {self.timeout:g} s"
        except Exception as exc:
            reason = type(exc).__name__
        finally:
            self._check = None
        ok = reason is None
        if ok != self._ok:
            if ok:
                log.info("store.health ok=true: the store answers again")
            else:
                log.error("store.health ok=false reason=%s: /healthz answers 503", reason)
        self._ok, self._checked_at = ok, self._clock()
        return ok
