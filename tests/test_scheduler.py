"""Recurring tasks' runs, on both backends, with a clock the test moves (no real waiting): each
due run starts once across processes, a missed run is started or skipped, paused ones wait."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.models import CreateTaskRequest
from bot.scheduler import Scheduler
from bot.schedules import Repeat
from bot.store import Schedule, Store
from tests.test_store import Clock, run

HOUR = 3600.0


class Recorder:
    """The runs the schedulers asked for, as the Slack side would get them."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.skips: list[tuple[int, float]] = []

    async def start(self, schedule: Schedule) -> None:
        await asyncio.sleep(0)  # a run takes a moment: other ticks go on meanwhile
        self.started.append(schedule.id)

    async def skipped(self, schedule: Schedule, due_at: float) -> None:
        self.skips.append((schedule.id, due_at))


def schedulers(one: Store, two: Store, clock: Clock) -> tuple[list[Scheduler], Recorder]:
    recorder = Recorder()
    found = []
    for store in (one, two):
        scheduler = Scheduler(store, clock=clock)
        scheduler.runs = recorder
        found.append(scheduler)
    return found, recorder


async def add(store: Store, repeat: Repeat, first_at: float, **extra: object) -> int:
    schedule = Schedule(
        team="T1",
        channel="C1",
        user_id="U1",
        repeat=repeat.dump(),
        request=CreateTaskRequest(task="Check the price").to_kept(),
        next_run_at=first_at,
        **extra,  # type: ignore[arg-type]
    )
    found = await store.add_schedule(schedule, None)
    assert found is not None
    return found


def test_each_due_run_starts_once_across_two_processes(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        (a, b), recorder = schedulers(one, two, clock)
        hourly = Repeat("interval", every=3600)
        ids = [await add(one, hourly, clock.now + HOUR) for _ in range(5)]
        assert await asyncio.gather(a.tick(), b.tick()) == [0, 0]  # not due yet
        assert recorder.started == []
        clock.now += HOUR
        counts = await asyncio.gather(*(s.tick() for s in [a, b, a, b, a, b]))
        assert sum(counts) == 5
        assert sorted(recorder.started) == ids
        # The next run is on the schedule's own beat, an hour after the one that ran.
        for schedule_id in ids:
            found = await one.schedule(schedule_id)
            assert found is not None and found.next_run_at == clock.now + HOUR
        clock.now += HOUR
        await asyncio.gather(a.tick(), b.tick())
        assert len(recorder.started) == 10

    run(database_url, test)


def test_a_run_missed_while_down_is_started_once_or_skipped_when_an_interval_late(
    database_url: str,
) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        (a, b), recorder = schedulers(one, two, clock)
        due = clock.now + HOUR
        late = await add(one, Repeat("interval", every=int(4 * HOUR)), due)
        too_late = await add(one, Repeat("interval", every=int(2 * HOUR)), due)
        clock.now = due + 3 * HOUR  # every process was down for three hours
        await asyncio.gather(a.tick(), b.tick())
        assert recorder.started == [late]  # 3 h late on a 4-hour beat: started, once
        assert recorder.skips == [(too_late, due)]  # 3 h late on a 2-hour beat: skipped
        skipped = await one.schedule(too_late)
        assert skipped is not None and skipped.next_run_at > clock.now  # in the future again
        await asyncio.gather(a.tick(), b.tick())
        assert recorder.started == [late] and len(recorder.skips) == 1  # nothing made up

    run(database_url, test)


def test_a_paused_schedule_does_not_run_until_resumed(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        (a, _), recorder = schedulers(one, two, clock)
        schedule_id = await add(one, Repeat("interval", every=3600), clock.now + 60, paused=True)
        clock.now += 2 * HOUR
        assert await a.tick() == 0
        await one.update_schedule(schedule_id, paused=False, next_run_at=clock.now)
        assert await a.tick() == 1 and recorder.started == [schedule_id]

    run(database_url, test)


def test_a_daily_run_follows_the_wall_clock_of_its_time_zone(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        (a, _), recorder = schedulers(one, two, clock)
        nine = Repeat("daily", tz="Europe/Berlin", hour=9)
        # 2027-03-27 09:00 Berlin is 08:00 UTC; the next day's 09:00 (summer time) is 07:00 UTC.
        due = datetime(2027, 3, 27, 8, tzinfo=timezone.utc).timestamp()
        schedule_id = await add(one, nine, due)
        clock.now = due + 5
        assert await a.tick() == 1
        found = await one.schedule(schedule_id)
        assert found is not None
        assert found.next_run_at == datetime(2027, 3, 28, 7, tzinfo=timezone.utc).timestamp()
        assert recorder.started == [schedule_id]

    run(database_url, test)


def test_a_person_keeps_at_most_the_admins_number_of_schedules(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        hourly = Repeat("interval", every=3600).dump()
        mine = Schedule("T1", "C1", "U1", hourly, "{}", next_run_at=clock.now)
        assert await one.add_schedule(mine, 2) is not None
        assert await two.add_schedule(mine, 2) is not None
        assert await one.add_schedule(mine, 2) is None  # the third is refused
        theirs = Schedule("T1", "C1", "U2", hourly, "{}", next_run_at=clock.now)
        assert await one.add_schedule(theirs, 2) is not None  # per person
        assert len(await two.schedules(channel="C1")) == 3
        assert [s.user_id for s in await two.schedules(user="U2")] == ["U2"]

    run(database_url, test)


def test_failed_runs_are_counted_in_a_row(database_url: str) -> None:
    async def test(one: Store, two: Store, clock: Clock) -> None:
        schedule_id = await add(one, Repeat("interval", every=3600), clock.now)
        counts = await asyncio.gather(one.run_failed(schedule_id), two.run_failed(schedule_id))
        assert sorted(counts) == [1, 2]  # two processes' failures both counted
        await one.update_schedule(schedule_id, failures=0)  # a run that went well
        assert await two.run_failed(schedule_id) == 1
        # A run's result counts only while it is the latest run, checked in the same statement.
        await one.update_schedule(schedule_id, last_task_id="t2")
        assert await two.run_failed(schedule_id, latest_task="t1") == 0
        assert not await two.update_schedule(schedule_id, latest_task="t1", failures=0)
        assert (await one.schedule(schedule_id)).failures == 1  # type: ignore[union-attr]
        assert await two.run_failed(schedule_id, latest_task="t2") == 2
        assert await one.delete_schedule(schedule_id)
        assert await two.run_failed(schedule_id) == 0

    run(database_url, test)
