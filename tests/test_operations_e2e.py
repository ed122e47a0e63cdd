"""What the person who runs the app sees: metrics only for whoever holds the token, counting what
happened; and the store kept to the retention period by the housekeeping."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.models import SlackRoute
from bot.store import Store, TaskRecord
from tests.app_process import LOOPBACK
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack

TOKEN = "scrape-me-7c1f0e2d9a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


def test_metrics_are_for_the_token_alone_and_count_what_happened(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, _):
        assert LOOPBACK.get(f"{process.url}/metrics").status_code == 404  # off unless set
    with own_app(METRICS_TOKEN=TOKEN) as (process, sender):
        url = f"{process.url}/metrics"
        assert LOOPBACK.get(url).status_code == 401
        wrong = {"Authorization": f"Bearer {TOKEN[:-1]}x"}
        assert LOOPBACK.get(url, headers=wrong).status_code == 401
        slack.fail_next("chat.postMessage", "ratelimited", retry_after=1)
        assert sender.command("Find the museum's opening hours").status_code == 200
        (task,) = wait_for(lambda: browser_use.created, 10, "the task")
        browser_use.finish(task.id)
        wait_for(lambda: [p for p in slack.posts() if "Finished" in p.args["text"]], 10, "result")
        sender.settle()
        answer = LOOPBACK.get(url, headers=AUTH)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    got = samples(answer.text)

    def value(name: str, **labels: str) -> float:
        return got[(f"browser_use_slack_{name}", frozenset(labels.items()))]

    assert value("tasks_started_total", engine="v2") == 1
    assert value("tasks_ended_total", engine="v2", status="finished") == 1
    assert value("browser_use_requests_total", method="POST", resource="tasks", answer="2xx") == 1
    assert value("slack_requests_total", method="chat.postMessage", answer="429") == 1
    assert value("slack_requests_total", method="chat.postMessage", answer="2xx") >= 3
    assert value("ack_seconds_count", kind="command") == 1
    assert value("ack_seconds_bucket", kind="command", le="3.0") == 1
    assert value("outbox_depth") == 0
    assert value("oldest_unreported_task_seconds") == 0
    assert value("workspaces", state="connected") == 1
    assert ("browser_use_slack_budget_wait_seconds_total", frozenset({("who", "person")})) in got
    assert TOKEN not in process.logs()


def test_tasks_past_the_retention_period_are_deleted_by_the_housekeeping(
    own_app: OwnApp, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/kept.db"

    async def seed() -> None:
        store = await Store.open(database)
        route = SlackRoute(team=TEAM_ID, channel="C1", thread_ts="17.1", user="U1")
        for task_id, age_days in (("ancient", 40), ("recent", 2)):
            when = time.time() - age_days * 86400
            await store.add_task(TaskRecord.from_route(task_id, "s", route, created_at=when))
            store.clock = lambda when=when: when
            await store.reported(task_id, "finished")
        await store.close()

    async def kept() -> list[str]:
        store = await Store.open(database, migrate=False)
        try:
            return [t for t in ("ancient", "recent") if await store.task(t) is not None]
        finally:
            await store.close()

    asyncio.run(seed())
    assert asyncio.run(kept()) == ["ancient", "recent"]
    with own_app(DATABASE_URL=database, RETENTION_DAYS="30") as (process, _):
        wait_for(lambda: "store.forgot tasks=1" in process.logs(), 10, "the housekeeping")
    assert asyncio.run(kept()) == ["recent"]
