"""Following many tasks: past its first minutes a task is followed by the sweep (one list of the
running tasks, a page of 100 at a time), not by a poll of its own; nothing is missed or doubled
whatever the list's order and however its pages shift while statuses change."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.models import SlackRoute
from bot.store import Store, TaskRecord
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.test_scaling_e2e import results, two_processes

LIST_PATH = "/api/v2/tasks"


def running_for_a_while(browser_use: FakeBrowserUse, database: str, count: int) -> list[str]:
    """`count` tasks running at Browser Use for ten minutes (past their watch), in the store."""

    async def seed() -> list[str]:
        store = await Store.open(database)
        ids = []
        for i in range(count):
            channel = f"C{i % 10}"  # Slack takes about one post a second in one channel
            route = SlackRoute(team=TEAM_ID, channel=channel, thread_ts=f"17.{i}", user="U5")
            task_id = browser_use.add_task({"slack": route.encode()})
            record = TaskRecord.from_route(
                task_id, "s", route, status_ts=f"17.{i}", created_at=time.time() - 600
            )
            await store.add_task(record)
            ids.append(task_id)
        await store.close()
        return ids

    return asyncio.run(seed())


def result_counts(slack: FakeSlack, ids: list[str]) -> dict[str, int]:
    return {task_id: len(results(slack, task_id)) for task_id in ids}


def tasks_read(browser_use: FakeBrowserUse, ids: list[str], since: int) -> list[str]:
    """Each read of one of these tasks (`GET /tasks/{id}` or its `/status`) since `since`: the
    task's ID, once per read."""
    ours = set(ids)
    paths = (path.removeprefix(LIST_PATH + "/") for _, path, _ in browser_use.requests[since:])
    return [task_id for path in paths if (task_id := path.split("/")[0]) in ours]


def reads_of(browser_use: FakeBrowserUse, ids: list[str], since: int) -> int:
    """Reads of any one of these tasks since `since`."""
    return len(tasks_read(browser_use, ids, since))


def test_tasks_past_their_first_minutes_are_swept_not_polled_and_a_lost_webhooks_end_is_seen(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/sweep.db"
    ids = running_for_a_while(browser_use, database, 150)
    with own_app(DATABASE_URL=database) as (app, sender):
        wait_for(lambda: "tracker.swept tasks=150" in app.logs(), 10, "a sweep")
        mark = len(browser_use.requests)
        time.sleep(2.0)  # a few sweeps (at least 0.5 s apart here)
        lists = [p for _, p, _ in browser_use.requests[mark:] if p == LIST_PATH]
        assert lists, "no sweep"
        assert reads_of(browser_use, ids, mark) == 0  # not one read of any one task
        # Two end, announced by no webhook (it was lost): each gets its one result.
        browser_use.finish(ids[7], output="Ended quietly")
        browser_use.finish(ids[120], "failed", output=None, is_success=False)
        wait_for(lambda: all(result_counts(slack, [ids[7], ids[120]]).values()), 10, "results")
        sender.settle()
        assert result_counts(slack, [ids[7], ids[120]]) == {ids[7]: 1, ids[120]: 1}
        # Only the two that ended are read, to learn how: once each, nearly always. In one of a
        # dozen full runs of the suite (4 workers on a shared 2-core machine) one was read a
        # second time: a harmless extra request, never a second result.
        read = tasks_read(browser_use, ids, mark)
        assert set(read) == {ids[7], ids[120]} and len(read) <= 4, read


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest first", "newest first"])
def test_the_sweep_misses_nothing_and_doubles_nothing_while_pages_shift(
    own_app: OwnApp,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    tmp_path: Path,
    newest_first: bool,
) -> None:
    """While each page of the list is read, a listed task ends (every row after it moves up a
    page: one not yet listed is skipped) and a new one starts (rows move down: one is listed
    twice). Every task that ended gets one result; none still running gets any."""
    database = f"sqlite+aiosqlite:///{tmp_path}/sweep.db"
    ids = running_for_a_while(browser_use, database, 250)
    ending = iter(ids[::9])
    ended: list[str] = []

    def statuses_change() -> None:
        task_id = next(ending, None)
        if task_id is not None:
            browser_use.finish(task_id, output=f"Ended mid-sweep {task_id}")
            ended.append(task_id)
        browser_use.add_task({"slack": "T9/C9/1.2/U9"})  # not one of this app's workspace

    browser_use.list_newest_first = newest_first
    browser_use.after_list_page = statuses_change
    # Status edits at Slack's Tier 3 pace would take half a minute for these 28 ends.
    with own_app(DATABASE_URL=database, SLACK_UPDATES_PER_MINUTE="600") as (app, sender):
        wait_for(lambda: len(ended) == len(ids[::9]), 30, "every end")
        wait_for(lambda: all(result_counts(slack, ended).values()), 15, "every result")
        browser_use.after_list_page = None
        time.sleep(1.0)  # another sweep or two, with nothing changing
        sender.settle()
        counts = result_counts(slack, ids)
    assert {t: counts[t] for t in ended} == dict.fromkeys(ended, 1)
    assert sum(counts.values()) == len(ended)  # no running task got a result
    assert "tracker.gone" not in app.logs()


def test_one_process_sweeps_for_all_and_another_takes_over_when_it_stops(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    ids = []
    with two_processes(slack, browser_use, tmp_path, database, HEARTBEAT_SECONDS="0.5") as apps:
        ids = running_for_a_while(browser_use, database, 40)
        (first, _), (second, _) = apps
        sweeper = wait_for(
            lambda: next((p for p, _ in apps if "tracker.swept" in p.logs()), None), 10, "a sweep"
        )
        other = second if sweeper is first else first
        time.sleep(1.0)
        assert "tracker.swept" not in other.logs()
        sweeper.stop()  # it hands its lease on as it stops
        wait_for(lambda: "tracker.swept" in other.logs(), 10, "the other's sweep")
        browser_use.finish(ids[0], output="Seen by the one left")
        wait_for(lambda: result_counts(slack, ids[:1])[ids[0]] == 1, 10, "the result")
    assert result_counts(slack, ids) == {t: int(t == ids[0]) for t in ids}


def test_a_swept_task_with_a_cost_cap_is_stopped_once_the_list_says_it_reached_it(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    """Past its first minutes a task is not read on its own: the list of running tasks says
    what each has cost so far, and one at its `--max-cost` is read, and stopped, from that."""
    database = f"sqlite+aiosqlite:///{tmp_path}/capped.db"

    async def seed() -> list[str]:
        store = await Store.open(database)
        ids = []
        for i, kept in enumerate(('{"task": "a", "max_cost_usd": 0.05}', '{"task": "b"}')):
            route = SlackRoute(team=TEAM_ID, channel="C1", thread_ts=f"17.{i}", user="U5")
            task_id = browser_use.add_task({"slack": route.encode()})
            record = TaskRecord.from_route(
                task_id, "s", route, status_ts=f"17.{i}", created_at=time.time() - 600,
                request=kept,
            )  # fmt: skip
            await store.add_task(record)
            ids.append(task_id)
        await store.close()
        return ids

    capped, free = asyncio.run(seed())
    for task_id in (capped, free):
        browser_use.step(task_id, "Working")
        browser_use.tasks[task_id]["cost"] = "0.0800"
    with own_app(DATABASE_URL=database) as (_, sender):
        wait_for(lambda: browser_use.stops, 10, "the capped task stopped")
        wait_for(lambda: result_counts(slack, [capped]) == {capped: 1}, 10, "its result")
        sender.settle()
    assert browser_use.stops == [capped]  # the one without a cap runs on
    notices = [c for c in slack.posts() if "I stopped this task" in c.args["text"]]
    assert len(notices) == 1 and notices[0].args["thread_ts"] == "17.0"


def test_a_burst_of_commands_reads_only_the_tasks_it_watches(
    own_app: OwnApp, browser_use: FakeBrowserUse
) -> None:
    """Each new task is watched (polled on its own), the oldest one left to the sweep once more
    than `WATCH_MOST` are: thirty commands in a burst, with nothing changing, cost no read of a
    task that was left to the sweep before its first poll (each used to be read once anyway, a
    request per command queued behind the creates: ~17 a second after a burst of 1,000)."""
    from bot.tracker import WATCH_MOST

    poll = 5.0  # no task is read within 4.5 s of its create, longer than the burst takes
    with own_app(POLL_INTERVAL_SECONDS=str(poll)) as (_, sender):
        for i in range(30):
            assert sender.command(f"Task number {i}", channel_id=f"C{i}").status_code == 200
        wait_for(lambda: len(browser_use.created) == 30, 15, "thirty tasks")
        burst = browser_use.created[-1].at - browser_use.created[0].at
        assert burst < 0.9 * poll, f"the burst took {burst:.1f} s"
        time.sleep(1.2 * poll)  # every one of them has waited out its first poll
        ids = [task.id for task in browser_use.created]
        read = set(tasks_read(browser_use, ids, 0))
    assert read and len(read) <= WATCH_MOST, f"{len(read)} of the 30 tasks read on their own"
