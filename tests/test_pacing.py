"""`handlers.pacing.SlackPace` on the test's clock: Slack's per-method limits kept whatever the
number of running threads, the latest progress of a thread sent (never an older one after it),
and a result never waiting behind progress."""

from __future__ import annotations

import asyncio

from handlers.pacing import BURST_SECONDS, PER_MINUTE, SlackPace, per_second


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        """Time is the test's: a wait moves the clock on and lets the others run."""
        self.now += seconds
        await asyncio.sleep(0)


def test_a_thousand_threads_progress_stays_within_the_limit_and_the_latest_state_is_sent() -> None:
    clock = Clock()
    sent: list[tuple[int, int]] = []  # (thread, state), as Slack received them

    async def go() -> SlackPace:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        for state in range(3):  # each thread moves three times before it can be sent
            for thread in range(1000):

                async def send(thread: int = thread, state: int = state) -> None:
                    sent.append((thread, state))

                pace.offer(("status", thread), "T1", "chat.update", send)
        while clock.now < 60.0 and pace.waiting:
            await clock.sleep(0.5)
        await pace.close()
        return pace

    pace = asyncio.run(go())
    per_minute = PER_MINUTE["chat.update"]
    assert len(sent) <= per_minute  # in a minute, its first burst included
    assert len(sent) >= per_minute / 2  # and it did send
    # Each thread sent once, at its latest state, in the order the threads first asked.
    assert sent == [(thread, 2) for thread in range(len(sent))]
    assert pace.replaced_progress == 2000


def test_a_result_goes_first_while_a_thousand_threads_progress_waits() -> None:
    clock = Clock()
    order: list[str] = []

    async def go() -> float:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        for thread in range(1000):

            async def send(thread: int = thread) -> None:
                order.append(f"progress {thread}")

            pace.offer(("status", thread), "T1", "chat.update", send)
        await asyncio.sleep(0)  # the burst's tokens go to progress
        asked = clock.now
        await pace.turn("T1", "chat.update")
        order.append("result")
        waited = clock.now - asked
        await pace.close()
        return waited

    waited = asyncio.run(go())
    rate = per_second(PER_MINUTE["chat.update"])
    assert waited <= 1 / rate + 0.01  # at most one token's wait, however much progress waits
    assert "result" in order
    assert order.index("result") <= rate * BURST_SECONDS + 1


def test_progress_of_a_task_that_ended_is_not_sent_and_never_lands_after_its_result() -> None:
    clock = Clock()
    sent: list[str] = []

    async def go() -> None:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        slow = asyncio.Event()

        async def progress() -> None:
            await slow.wait()  # Slack is slow to answer this edit
            sent.append("progress")

        pace.offer(("status", 1), "T1", "chat.update", progress)
        for _ in range(3):
            await asyncio.sleep(0)  # the edit is on its way

        async def later_progress() -> None:
            sent.append("stale progress")

        pace.offer(("status", 1), "T1", "chat.update", later_progress)
        withdrawn = asyncio.ensure_future(pace.withdraw(("status", 1)))
        await asyncio.sleep(0)
        assert not withdrawn.done()  # the result's edit waits for the edit on its way
        slow.set()
        await withdrawn
        sent.append("result")
        await clock.sleep(60)
        await pace.close()

    asyncio.run(go())
    assert sent == ["progress", "result"]


def test_processes_share_the_limit() -> None:
    clock = Clock()
    sent: list[int] = []

    async def go() -> None:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        pace.share(2)
        for thread in range(500):

            async def send(thread: int = thread) -> None:
                sent.append(thread)

            pace.offer(("thread", thread), "T1", "assistant.threads.setStatus", send)
        while clock.now < 60.0:
            await clock.sleep(0.5)
        await pace.close()

    asyncio.run(go())
    half = PER_MINUTE["assistant.threads.setStatus"] / 2
    assert half / 2 <= len(sent) <= half


def test_each_method_keeps_its_own_tier() -> None:
    """A minute of appends to a thousand streams goes at Tier 4, twice the edits' Tier 3; the
    starts at Tier 2; and none of them takes from another's limit."""
    clock = Clock()
    sent: dict[str, int] = {}

    async def go() -> None:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        for method in ("chat.appendStream", "chat.update", "chat.startStream"):
            for thread in range(1000):

                async def send(method: str = method) -> None:
                    sent[method] = sent.get(method, 0) + 1

                pace.offer((method, thread), "T1", method, send)
        while clock.now < 60.0 and pace.waiting:
            await clock.sleep(0.5)
        await pace.close()

    asyncio.run(go())
    for method, tier in (("chat.appendStream", 100), ("chat.update", 50), ("chat.startStream", 20)):
        assert tier / 2 <= sent[method] <= tier, method


def test_a_session_not_made_yet_is_sent_before_the_stream_that_would_make_it() -> None:
    clock = Clock()
    order: list[str] = []

    async def go() -> None:
        pace = SlackPace(clock=lambda: clock.now, sleep=clock.sleep)
        for thread in range(200):  # far more sessions than the limit sends at once

            async def send(thread: int = thread) -> None:
                order.append(f"session {thread}")

            pace.offer(("session", thread), "T1", "agents.sessions.setStatus", send)
        await asyncio.sleep(0)
        await pace.send_now(("session", 199))
        order.append("stream 199")
        await pace.send_now(("session", 199))  # sent: nothing more
        await pace.close()

    asyncio.run(go())
    assert order.index("session 199") < order.index("stream 199")
    assert order.count("session 199") == 1
