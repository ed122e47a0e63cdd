"""Slack's rate limits, kept by the app rather than learnt from `ratelimited` answers.

Slack counts most Web API calls per workspace and per method: `chat.update` and
`assistant.threads.setStatus` are Tier 3 (about 50 a minute), `chat.appendStream` Tier 4 (100
or more), `chat.postMessage` about one a second per channel (see the Slack notes). A thousand
running tasks would send far more progress than that. So what following a task sends goes
through a `SlackPace`:

- a result waits for its `turn`, ahead of any progress;
- the status edit that goes with a result is `offer`ed `final`: it goes before any progress, and
  nobody waits for it (at 1,000 running tasks, ends alone outrun `chat.update`'s limit);
- progress is `offer`ed: the latest state of a thread replaces an older one not sent yet, and it
  is sent only from what a result does not need. Progress can be late or skipped, never a result.

Several processes share the limits as they share Browser Use's: each takes `1/n` (`share`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Calls a minute per workspace, per method (and per channel for posts), until Slack says more
# (`SLACK_UPDATES_PER_MINUTE`: Tier 3's, the others' in proportion; `SLACK_POSTS_PER_MINUTE`).
# Each method at its own tier: Tier 3 (~50) for edits and statuses, Tier 4 (100+) for
# `chat.appendStream`. The tiers of `chat.startStream` (Tier 2, ~20), `chat.stopStream` and
# `agents.sessions.setStatus` (Tier 3) are third-party reports, UNCONFIRMED in Slack's docs.
TIER_3 = 50.0
TIERS = {
    "chat.update": 1.0,
    "assistant.threads.setStatus": 1.0,
    "agents.sessions.setStatus": 1.0,
    "chat.stopStream": 1.0,
    "chat.startStream": 20 / TIER_3,
    "chat.appendStream": 100 / TIER_3,
}


def limits(updates_per_minute: float, posts_per_minute: float) -> dict[str, float]:
    return {
        **{method: updates_per_minute * share for method, share in TIERS.items()},
        "chat.postMessage": posts_per_minute,
    }


PER_MINUTE = limits(TIER_3, 60.0)


# The methods a result (or how a task ended) is sent with: progress leaves them a token.
RESULT_METHODS = frozenset({"chat.update", "chat.postMessage", "chat.stopStream"})

# How many calls may go at once after a quiet spell: ten seconds' worth.
BURST_SECONDS = 10.0


def per_second(per_minute: float) -> float:
    """The pace that keeps any minute within `per_minute`, a burst included: a full bucket
    (`BURST_SECONDS` of calls) and a minute of refill add up to the limit, no more (refilled at
    `per_minute / 60`, a burst took it past: 58 status calls in a minute of Tier 3's 50)."""
    return per_minute / (60 + BURST_SECONDS)


class _Bucket:
    def __init__(self, per_minute: float, now: float):
        self.rate = per_second(per_minute)
        self.tokens = self.size = max(1.0, self.rate * BURST_SECONDS)
        self.updated = now
        self.urgent = 0  # results waiting for a token

    def refill(self, now: float, rate: float) -> float:
        self.rate = rate
        self.size = max(1.0, rate * BURST_SECONDS)
        self.tokens = min(self.size, self.tokens + (now - self.updated) * rate)
        self.updated = now
        return self.tokens


@dataclass
class _Offer:
    bucket: tuple[str, str, str]
    send: Callable[[], Awaitable[None]]
    final: bool


class SlackPace:
    def __init__(
        self,
        per_minute: dict[str, float] = PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._clock, self._sleep = clock, sleep
        self.per_minute = per_minute
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        # Unsent offers: the final ones first, then progress, oldest first.
        self._offers: OrderedDict[Hashable, _Offer] = OrderedDict()
        self._drain: asyncio.Task[None] | None = None
        # Set by each offer: a drain napping for a token reckons again (`_nap`).
        self._offered = asyncio.Event()
        # The offer being sent: its key, set once it is, and whether it is final.
        self._sending: tuple[Hashable, asyncio.Event, bool] | None = None
        self.processes = 1
        self.replaced_progress = 0  # progress a newer state replaced before it was sent

    def share(self, processes: int) -> None:
        """Take this process's share of each limit, when `processes` send for one app."""
        self.processes = max(1, processes)

    def _bucket(self, team: str, method: str, channel: str = "") -> tuple[_Bucket, float]:
        key = (team, method, channel if method == "chat.postMessage" else "")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.per_minute[method], self._clock())
        rate = per_second(self.per_minute[method]) / self.processes
        return bucket, bucket.refill(self._clock(), rate)

    async def turn(self, team: str, method: str, channel: str = "") -> None:
        """Wait until a call someone is owed (a result) may go; it goes before any progress."""
        bucket, tokens = self._bucket(team, method, channel)
        bucket.urgent += 1
        try:
            while tokens < 1:
                await self._sleep((1 - tokens) / bucket.rate)
                tokens = bucket.refill(self._clock(), bucket.rate)
            bucket.tokens -= 1
        finally:
            bucket.urgent -= 1

    def offer(
        self,
        key: Hashable,
        team: str,
        method: str,
        send: Callable[[], Awaitable[None]],
        channel: str = "",
        *,
        final: bool = False,
    ) -> None:
        """Progress to send when the limit has room: `key` names what it updates (a status
        message, a thread's status), and a newer offer for it replaces the unsent one. A
        `final` offer (how a task ended) goes before all progress."""
        self._bucket(team, method, channel)
        bucket = (team, method, channel if method == "chat.postMessage" else "")
        if key in self._offers:
            self.replaced_progress += 1  # and the newer takes the older's place in line
        self._offers[key] = _Offer(bucket, send, final)
        if final:
            self._offers.move_to_end(key, last=False)
        self._offered.set()
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_task(self._send_offers())

    async def withdraw(self, key: Hashable) -> None:
        """Progress no longer worth sending (the task ended: its result says more). Returns
        once none of it can land after what the caller sends next."""
        self._offers.pop(key, None)
        if self._sending is not None and self._sending[0] == key:
            await self._sending[1].wait()

    def has_room(self, team: str, method: str) -> bool:
        """Whether a call of `method` offered now would go at once: its bucket has a token for
        it after the offers already waiting on it."""
        _, tokens = self._bucket(team, method)
        waiting = sum(1 for offer in self._offers.values() if offer.bucket == (team, method, ""))
        return tokens - waiting >= 1

    async def send_now(self, key: Hashable) -> None:
        """What `key` names, if not sent yet, sent at once, because the call the caller makes
        next must come after it (a thread's session is made, with its title, before a stream
        makes one without). Its token is owed: its bucket's next calls wait for it."""
        offer = self._offers.pop(key, None)
        if offer is None:
            if self._sending is not None and self._sending[0] == key:
                await self._sending[1].wait()
            return
        self._buckets[offer.bucket].tokens -= 1
        try:
            await offer.send()
        except Exception:
            log.exception("slack.progress_failed")

    @property
    def waiting(self) -> int:
        """Progress not sent yet (it may be replaced, or wait a minute)."""
        return len(self._offers)

    @property
    def owed(self) -> int:
        """Final offers (how a task ended) not sent yet, the one on its way included."""
        sending = self._sending is not None and self._sending[2]
        return sum(1 for offer in self._offers.values() if offer.final) + sending

    async def _send_offers(self) -> None:
        """Send the offers in line, each when its bucket has a token to spare (progress keeps
        one for a result; none is spent while a result waits)."""
        while self._offers:
            sent = False
            for key, offer in list(self._offers.items()):
                bucket = self._buckets[offer.bucket]
                rate = per_second(self.per_minute[offer.bucket[1]]) / self.processes
                if bucket.urgent or bucket.refill(self._clock(), rate) < self._needs(offer):
                    continue
                if self._offers.get(key) is not offer:
                    continue
                del self._offers[key]
                bucket.tokens -= 1
                self._sending = (key, asyncio.Event(), offer.final)
                try:
                    await offer.send()
                except Exception:
                    log.exception("slack.progress_failed")
                finally:
                    self._sending[1].set()
                    self._sending = None
                sent = True
            if not sent:
                await self._nap(self._next_token())

    async def _nap(self, seconds: float) -> None:
        """Wait for a token, or for a new offer: its bucket may have one now (an append waited
        out the nap of a start's slower limit)."""
        self._offered.clear()
        nap = asyncio.ensure_future(self._sleep(seconds))
        offered = asyncio.ensure_future(self._offered.wait())
        try:
            await asyncio.wait({nap, offered}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            nap.cancel()
            offered.cancel()

    @staticmethod
    def _needs(offer: _Offer) -> int:
        """Tokens a bucket must have for this offer to go: progress leaves one for a result,
        in the methods that carry results (an edit saying how a task ended, a post, a stream's
        end); streams' starts and appends, and sessions' statuses, carry none."""
        if offer.final or offer.bucket[1] not in RESULT_METHODS:
            return 1
        return 2

    def _next_token(self) -> float:
        """Roughly how long until some offer's bucket can spare a token."""
        waits = []
        for offer in self._offers.values():
            bucket = self._buckets[offer.bucket]
            waits.append(max(0.05, (self._needs(offer) - bucket.tokens) / bucket.rate))
        return min(waits, default=0.05)

    async def close(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
