"""Two real app processes behind one 'router', one PostgreSQL, one Slack, one Browser Use.

What a PaaS does with `web` scaled to 2: any request may reach either process, a webhook may
reach one while the other polls, and a process may be stopped at any moment.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.models import SlackRoute
from bot.store import Store, TaskRecord
from bot.tracker import WATCH_MOST
from tests.app_process import AppProcess
from tests.conftest import WEBHOOK_SECRET, app_env, wipe
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, signed_headers

# Real Slack takes 100–300 ms to answer a post: slow enough for two processes to race.
SLACK_LATENCY = {"chat.postMessage": 0.15, "chat.update": 0.15}
FAST_TAKEOVER = {"FOLLOW_LEASE_SECONDS": "3", "HEARTBEAT_SECONDS": "0.5"}

pytestmark = pytest.mark.slow  # two processes each


@contextmanager
def two_processes(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str, **env: str
) -> Iterator[list[tuple[AppProcess, SlackSender]]]:
    wipe(slack, browser_use)
    settings = {**app_env(slack, browser_use), "DATABASE_URL": database, **env}
    started: list[AppProcess] = []
    try:
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            started.append(AppProcess(settings, workdir).start())
        yield [(p, SlackSender(p.url, slack.response_url())) for p in started]
    finally:
        for process in started:
            process.stop()


def metadata_of(call: Any) -> dict[str, Any]:
    meta = call.args.get("metadata") or {}
    return json.loads(meta) if isinstance(meta, str) else meta


def messages(slack: FakeSlack, event_type: str, task_id: str) -> list[Any]:
    """Posts of one kind (status message, result) for one task, as Slack took them."""
    return [
        c
        for c in slack.succeeded("chat.postMessage")
        if metadata_of(c).get("event_type") == event_type
        and metadata_of(c).get("event_payload", {}).get("task_id") == task_id
    ]


def results(slack: FakeSlack, task_id: str) -> list[Any]:
    return messages(slack, "browser_use_result", task_id)


def every_task_has_one_result(
    slack: FakeSlack,
    apps: list[tuple[AppProcess, SlackSender]],
    task_ids: list[str],
    timeout: float,
) -> None:
    wait_for(lambda: all(results(slack, t) for t in task_ids), timeout, "every result")
    # A duplicate would come from a read of a task under way in either process (a webhook's,
    # a poll's); once none is, every read to come finds the task reported.
    for _, sender in apps:
        sender.settle()
    counts = {t: len(results(slack, t)) for t in task_ids}
    assert set(counts.values()) == {1}, counts


def test_a_webhook_to_both_processes_and_racing_a_poll_gives_one_result(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    with two_processes(slack, browser_use, tmp_path, database) as apps:
        slack.delays.update(SLACK_LATENCY)
        for i, (_, sender) in zip(range(8), itertools.cycle(apps)):
            sender.command(f"Check price number {i}")
        created = wait_for(lambda: browser_use.created[7:] and browser_use.created, 10, "tasks")
        ids = [task.id for task in created]
        wait_for(lambda: all(messages(slack, "browser_use_task", t) for t in ids), 10, "statuses")
        with ThreadPoolExecutor(16) as pool:
            for task_id in ids:
                browser_use.finish(task_id)
                event = browser_use.status_event(browser_use.task(task_id))
                # The same webhook delivered to both processes at once, while both may poll.
                for process, _ in apps:
                    url = f"{process.url}/browser-use/webhook"
                    pool.submit(browser_use.send_webhook, url, WEBHOOK_SECRET, event)
        every_task_has_one_result(slack, apps, ids, 10)


def test_commands_spread_over_both_processes_get_one_of_everything(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    # Budgets that never hold them back: what is tested here is that nothing is doubled.
    env = {"BROWSER_USE_REQUESTS_PER_SECOND": "200", "SLACK_UPDATES_PER_MINUTE": "1000"}
    with two_processes(slack, browser_use, tmp_path, database, **env) as apps:
        slack.delays.update(SLACK_LATENCY)
        with ThreadPoolExecutor(8) as pool:
            for i, (_, sender) in zip(range(40), itertools.cycle(apps)):
                # In eight channels: Slack takes about a post a second in one.
                body = sender.command_body(
                    f"Find flight number {i}", user_id=f"U{i}", channel_id=f"C{i % 8}"
                )
                headers = signed_headers(body)
                # Every fourth command reaches both processes (a router retrying, say).
                targets = [s for _, s in apps] if i % 4 == 0 else [sender]
                for target in targets:
                    pool.submit(target.post, body, headers)
        created = wait_for(lambda: browser_use.created[39:] and browser_use.created, 15, "tasks")
        ids = [task.id for task in created]
        wait_for(lambda: all(messages(slack, "browser_use_task", t) for t in ids), 10, "statuses")
        for task_id in ids:
            browser_use.finish(task_id)
        every_task_has_one_result(slack, apps, ids, 15)
    assert browser_use.create_calls == 40
    parents = [c for c in slack.posts() if "asked the browser" in c.args["text"]]
    assert len(parents) == 40
    assert sorted(len(messages(slack, "browser_use_task", t)) for t in ids) == [1] * 40


def test_many_running_tasks_keep_both_processes_within_one_budget(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    """A hundred new tasks: each process watches as many as it may (polled on their own), the
    one holding the sweep's lease lists the rest; together they stay within the one budget."""
    rate, window = 40, 2.0
    env = {"BROWSER_USE_REQUESTS_PER_SECOND": str(rate), "POLL_INTERVAL_SECONDS": "0.1"}
    # A heartbeat a second: the housekeeping picks the tasks up at once.
    env |= {"FOLLOW_LEASE_SECONDS": "3", "HEARTBEAT_SECONDS": "1"}
    with two_processes(slack, browser_use, tmp_path, database, **env) as apps:
        ids = asyncio.run(running_tasks(browser_use, database, 100))
        started = time.monotonic()
        watched = 2 * WATCH_MOST
        shared = wait_for(lambda: shared_out(database, watched), 10, "the tasks shared out")
        time.sleep(2 * window)  # both processes keep polling them, and one sweeps
        shares = [line for p, _ in apps for line in p.logs().splitlines() if "budget.share" in line]
        swept = [p for p, _ in apps if "tracker.swept tasks=" in p.logs()]
    assert len(shared) == 2, shared
    assert len(swept) == 1  # the lease: one process lists the running tasks for both
    ours = set(ids)
    times = sorted(
        at
        for _, path, at in browser_use.requests
        if at >= started and (path == "/api/v2/tasks" or any(task_id in path for task_id in ours))
    )
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    # Each process takes half of the budget: together at most (1 + window) x rate in any window
    # (a bucket of `rate` tokens refilled at `rate`/s), plus one or two crossing loopback.
    # Browser Use counts 5 s windows; the bucket's bound holds for a window of any length.
    bound = (1 + window) * rate + 2
    assert busiest <= bound, f"{busiest} in {window} s with a budget of {rate}/s; {shares}"
    assert len(times) > 3 * rate  # and they did keep polling


def shared_out(database: str, count: int) -> dict[str, int] | None:
    """How many tasks each process follows, once all `count` are followed by both."""
    followers = asyncio.run(followers_of(database))
    followers.pop("None", None)
    return followers if len(followers) == 2 and sum(followers.values()) == count else None


async def followers_of(database: str) -> dict[str, int]:
    """How many tasks each process follows."""
    from sqlalchemy import func, select

    from bot.store.schema import tasks

    store = await Store.open(database, migrate=False)
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(tasks.c.follower, func.count()).group_by(tasks.c.follower))
        counts = {str(follower): int(n) for follower, n in rows}
    await store.close()
    return counts


async def running_tasks(browser_use: FakeBrowserUse, database: str, count: int) -> list[str]:
    """`count` tasks running at Browser Use that the store knows and nobody follows yet."""
    store = await Store.open(database, migrate=False)
    ids = []
    for i in range(count):
        route = SlackRoute(team=TEAM_ID, channel="C9", thread_ts=f"17.{i}", user="U9")
        task_id = browser_use.add_task({"slack": route.encode()})
        await store.add_task(TaskRecord.from_route(task_id, "s", route, status_ts=f"17.{i}"))
        ids.append(task_id)
    await store.close()
    return ids


def six_tasks(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, text: str
) -> list[str]:
    """Six commands (`text` and a number): their task IDs, once each has its status message."""
    for i in range(6):
        sender.command(f"{text} {i}")
    created = wait_for(lambda: browser_use.created[5:] and browser_use.created, 10, "tasks")
    ids = [task.id for task in created]
    wait_for(lambda: all(messages(slack, "browser_use_task", t) for t in ids), 10, "statuses")
    return ids


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_stopped_process_hands_its_tasks_to_the_other(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str, how: str
) -> None:
    with two_processes(slack, browser_use, tmp_path, database, **FAST_TAKEOVER) as apps:
        (first, first_sender), (second, _) = apps
        ids = six_tasks(first_sender, slack, browser_use, "Watch the queue number")
        assert first.proc is not None
        (first.proc.terminate if how == "SIGTERM" else first.proc.kill)()
        first.proc.wait(10)
        stopped = time.monotonic()
        for task_id in ids:
            browser_use.finish(task_id)
        # Taken over within the lease (3 s) and a sweep (0.5 s), then polled and reported.
        every_task_has_one_result(slack, apps, ids, 10)
        took = max(results(slack, t)[0].at for t in ids) - stopped
        assert took < 3 + 0.5 + 3, f"the results took {took:.1f} s after the stop"
        assert "tracker.resumed" in second.logs() or "task.finished" in second.logs()


# A busy channel: each process may post a result there every 3 s (Slack's pace, shared), so the
# last of six results waits far longer than a claim on posting it lasts unless renewed; and the
# follow leases run out as fast, so the other process reads the same ended tasks meanwhile.
BUSY_CHANNEL = {
    "SLACK_POSTS_PER_MINUTE": "40",
    "REPORT_LEASE_SECONDS": "1.5",
    "FOLLOW_LEASE_SECONDS": "1.5",
    "HEARTBEAT_SECONDS": "0.3",
}


@pytest.mark.parametrize("how", ["no restart", "SIGTERM", "SIGKILL"])
def test_results_waiting_their_turn_in_a_busy_channel_are_posted_once(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database_url: str, how: str
) -> None:
    """Results queued behind Slack's pace stay their process's until posted (a deploy, or a busy
    channel, doubles nothing); one stopped with results queued hands them to the other, which
    posts each once; killed, its claims run out and the other posts each result it finds missing
    from the thread (those it was posting at that instant are there already)."""
    with two_processes(slack, browser_use, tmp_path, database_url, **BUSY_CHANNEL) as apps:
        (first, first_sender), (second, _) = apps
        ids = six_tasks(first_sender, slack, browser_use, "Compare offer number")
        for task_id in ids:
            browser_use.finish(task_id)
        if how != "no restart":
            # The first results are out: the rest are claimed and wait in line.
            wait_for(lambda: sum(bool(results(slack, t)) for t in ids) >= 2, 10, "two results")
            assert first.proc is not None
            (first.proc.terminate if how == "SIGTERM" else first.proc.kill)()
            first.proc.wait(10)
        wait_for(lambda: all(results(slack, t) for t in ids), 40, "every result")
        time.sleep(2 * float(BUSY_CHANNEL["REPORT_LEASE_SECONDS"]))  # any claim left runs out
        for _, sender in apps:
            sender.settle()  # a stopped one has nothing to settle
    assert [len(results(slack, t)) for t in ids] == [1] * len(ids)
    if how != "no restart":  # what the first had claimed, the second posted
        assert any(f"task.finished task_id={t}" in second.logs() for t in ids), second.logs()
