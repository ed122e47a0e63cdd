"""Recurring tasks through the real app: set up by command and by form, each run an ordinary task
in its channel, `--on-change`, the buttons (and who may use them), the pause after three
failures, and a run missed while the app was down.

Time passes without waiting: the test moves a schedule's next run to now in the app's own
database, and the app (which looks for due runs every 0.2 s here) starts it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.models import CreateTaskRequest
from bot.schedules import Repeat
from bot.store import Schedule, Store
from tests.app_process import AppProcess
from tests.conftest import OwnApp, app_env, wiped
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_channel_defaults_e2e import opened
from tests.test_conversations_e2e import created_count, new_ts

T = TypeVar("T")
FAST = {"HEARTBEAT_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def recurring_app(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppProcess, str]]:
    workdir = tmp_path_factory.mktemp("recurring")
    url = f"sqlite+aiosqlite:///{workdir}/bot.db"
    env = {**app_env(slack, browser_use), **FAST, "DATABASE_URL": url}
    process = AppProcess(env, workdir).start()
    yield process, url
    process.stop()


@pytest.fixture
def app(
    recurring_app: tuple[AppProcess, str], slack: FakeSlack, browser_use: FakeBrowserUse
) -> AppProcess:
    return wiped(recurring_app[0], slack, browser_use)


@pytest.fixture
def db(recurring_app: tuple[AppProcess, str]) -> str:
    return recurring_app[1]


def in_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Read or change the app's own database, as another process would."""

    async def main() -> T:
        store = await Store.open(url, migrate=False)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


def schedules_in(url: str, channel: str) -> list[Schedule]:
    return in_store(url, lambda store: store.schedules(channel=channel))


def make_due(url: str, schedule_id: int, late: float = 1.0) -> None:
    """Time passes: the schedule's next run is now (`late` seconds ago)."""
    in_store(url, lambda store: store.update_schedule(schedule_id, next_run_at=time.time() - late))


def posts_in(slack: FakeSlack, channel: str) -> list[Any]:
    """Top-level messages the app posted in `channel`."""
    return [
        c
        for c in slack.posts()
        if c.args.get("channel") == channel and not c.args.get("thread_ts") and c.answer.get("ok")
    ]


def shown(call: Any) -> str:
    blocks = call.args.get("blocks")
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks)


def set_up(sender: SlackSender, slack: FakeSlack, url: str, text: str, channel: str) -> Schedule:
    before = len(posts_in(slack, channel))
    answer = sender.command(text, user_id="U1", channel_id=channel)
    assert answer.status_code == 200 and answer.text == ""
    wait_for(lambda: len(posts_in(slack, channel)) > before, 5, "the announcement")
    (schedule,) = schedules_in(url, channel)
    return schedule


def result_in(slack: FakeSlack, thread_ts: str) -> Any:
    (found,) = wait_for(
        lambda: [
            c
            for c in slack.in_thread(thread_ts)
            if (c.args.get("metadata") or {}).get("event_type") == "browser_use_result"
        ],
        5,
        "the result",
    )
    return found


def test_a_schedule_set_up_by_command_runs_as_an_ordinary_task_in_its_channel(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    slack.time_zones["U1"] = "Europe/Berlin"
    schedule = set_up(
        sender,
        slack,
        db,
        "every weekday at 9:00 Check the price of the Sony WH-1000XM5 on amazon.com "
        "--model gpt-4.1 --max-steps 20",
        "CREC1",
    )
    (announcement,) = posts_in(slack, "CREC1")
    # In the person's own time zone, and said so.
    assert "every weekday at 09:00 (Europe/Berlin)" in shown(announcement)
    assert "Times are in <@U1>'s time zone, Europe/Berlin" in shown(announcement)
    weekdays = Repeat("weekdays", tz="Europe/Berlin", hour=9)
    created = datetime.fromtimestamp(schedule.created_at, timezone.utc)
    assert schedule.next_run_at == weekdays.next_after(created).timestamp()
    assert browser_use.created == []  # nothing runs before it is due

    make_due(db, schedule.id)
    (task,) = created_count(browser_use, 1)
    assert task.body["task"] == "Check the price of the Sony WH-1000XM5 on amazon.com"
    assert task.body["llm"] == "gpt-4.1" and task.body["maxSteps"] == 20
    parent = wait_for(lambda: posts_in(slack, "CREC1")[1:], 5, "the run's thread")[0]
    assert ":repeat: Recurring task (every weekday at 09:00 (Europe/Berlin))" in shown(parent)
    assert "<@U1>" not in shown(parent)  # not asked to be mentioned
    browser_use.finish(task.id, output="$348")
    result = result_in(slack, parent.answer["ts"])
    assert "$348" in shown(result) and "<@U1>" not in shown(result)
    # The report notes the run after posting its result.
    (later,) = wait_for(
        lambda: [s for s in schedules_in(db, "CREC1") if s.last_status == "finished"], 5, "noted"
    )
    assert later.next_run_at > time.time()  # on to the next weekday
    time.sleep(0.6)  # three more looks for due runs: none starts it again
    assert len(browser_use.created) == 1

    make_due(db, schedule.id)  # the next run fails: the owner is mentioned
    failing = created_count(browser_use, 2)[1]
    browser_use.finish(failing.id, status="failed", output=None, is_success=False)
    thread = wait_for(lambda: posts_in(slack, "CREC1")[2:], 5, "the second run")[0]
    assert "<@U1>" in shown(result_in(slack, thread.answer["ts"]))


def test_on_change_posts_the_first_result_edits_one_line_while_unchanged_and_posts_a_change(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    schedule = set_up(
        sender,
        slack,
        db,
        "every 2 hours --on-change Is anything degraded on the status page?",
        "CREC2",
    )

    def run(n: int, output: str) -> None:
        make_due(db, schedule.id)
        task = created_count(browser_use, n)[n - 1]
        assert task.body["task"] == "Is anything degraded on the status page?"
        browser_use.finish(task.id, output=output)

    run(1, "All systems operational.")
    first = wait_for(lambda: posts_in(slack, "CREC2")[1:], 5, "the first result")[0]
    assert "the first run" in shown(first)
    assert "All systems operational." in shown(result_in(slack, first.answer["ts"]))

    run(2, "  All systems operational.\n")  # the same, once trimmed
    line = wait_for(lambda: posts_in(slack, "CREC2")[2:], 5, "the no-change line")[0]
    assert "No change since" in shown(line) and slack.in_thread(line.answer["ts"]) == []
    run(3, "All systems operational.")
    wait_for(
        lambda: [c for c in slack.calls_to("chat.update") if c.args["ts"] == line.answer["ts"]],
        5,
        "the line edited",
    )
    assert len(posts_in(slack, "CREC2")) == 3  # no new thread for an unchanged result

    run(4, "Degraded performance: API.")
    changed = wait_for(lambda: posts_in(slack, "CREC2")[3:], 5, "the changed result")[0]
    assert "the result changed" in shown(changed)
    result_in(slack, changed.answer["ts"])
    (diff,) = wait_for(
        lambda: [c for c in slack.in_thread(changed.answer["ts"]) if "What changed" in shown(c)],
        5,
    )
    assert "-All systems operational." in shown(diff)
    assert "+Degraded performance: API." in shown(diff)


def test_a_run_that_ends_after_a_later_one_leaves_the_later_ones_failure_counted(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    schedule = set_up(sender, slack, db, "every 30 minutes Check the queue", "CREC12")
    make_due(db, schedule.id)
    (slow,) = created_count(browser_use, 1)
    make_due(db, schedule.id)  # the next run starts while the first still runs
    later = created_count(browser_use, 2)[1]
    browser_use.finish(later.id, status="failed", output=None, is_success=False)
    wait_for(lambda: schedules_in(db, "CREC12")[0].failures == 1, 5, "the failure counted")
    browser_use.finish(slow.id, output="All fine")
    # The announcement, then each run's thread: the first run's result is posted as usual.
    _, first_run, _ = wait_for(
        lambda: posts_in(slack, "CREC12")[2:] and posts_in(slack, "CREC12"), 5
    )
    assert "All fine" in shown(result_in(slack, first_run.answer["ts"]))
    sender.settle()  # its report's bookkeeping follows the post, in the same read of the task
    (now,) = schedules_in(db, "CREC12")
    assert (now.failures, now.last_status) == (1, "failed")


def list_buttons(response: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(action ID, schedule ID) → value, of a list's buttons."""
    return {
        (e["action_id"], e["value"]): e["value"]
        for b in response["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def click(sender: SlackSender, action_id: str, schedule_id: int, user: str, channel: str) -> None:
    answer = sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "channel": {"id": channel},
            "container": {"type": "message", "is_ephemeral": True},
            "response_url": sender.response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "value": str(schedule_id),
                    "type": "button",
                    "action_ts": new_ts(),
                }
            ],
        }
    )
    assert answer.status_code == 200


def test_the_channels_list_and_its_buttons_for_the_owner_and_the_admins_only(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    schedule = set_up(sender, slack, db, "every day at 8am Read the headlines", "CREC3")
    sender.command("schedules", user_id="U2", channel_id="CREC3")
    listing = wait_for(lambda: slack.responses, 5, "the list")[-1].args
    assert "Read the headlines" in json.dumps(listing)
    assert ("schedule_pause", str(schedule.id)) in list_buttons(listing)

    def answered(n: int) -> str:
        return json.dumps(wait_for(lambda: slack.responses[n:], 5, "the answer")[0].args)

    click(sender, "schedule_pause", schedule.id, "U2", "CREC3")  # not theirs
    assert "Only <@U1>" in answered(1)
    assert not schedules_in(db, "CREC3")[0].paused

    click(sender, "schedule_pause", schedule.id, "U1", "CREC3")
    assert "Paused" in answered(2)
    assert schedules_in(db, "CREC3")[0].paused
    make_due(db, schedule.id)
    time.sleep(0.6)  # three looks for due runs: a paused schedule does not run
    assert browser_use.created == []

    click(sender, "schedule_resume", schedule.id, "UADMIN", "CREC3")  # an admin may
    assert "Resumed" in answered(3)
    resumed = schedules_in(db, "CREC3")[0]
    assert not resumed.paused and resumed.next_run_at > time.time()

    click(sender, "schedule_run_now", schedule.id, "U1", "CREC3")
    assert "Running it now" in answered(4)
    (task,) = created_count(browser_use, 1)
    assert task.body["task"] == "Read the headlines"
    assert schedules_in(db, "CREC3")[0].next_run_at == resumed.next_run_at  # its beat kept

    click(sender, "schedule_delete", schedule.id, "U1", "CREC3")
    assert "Deleted" in answered(5)
    assert schedules_in(db, "CREC3") == []
    click(sender, "schedule_pause", schedule.id, "U1", "CREC3")
    assert "was deleted" in answered(6)


def test_a_schedule_set_up_in_the_form(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    slack.time_zones["U1"] = "Asia/Tokyo"
    sender.command("", user_id="U1", channel_id="CREC4")
    wait_for(lambda: slack.calls_to("views.open"), 5, "the form")
    form = opened(slack, "task_form")
    refused = sender.interactive(
        view_submission(form, {"task": "Check the slots", "repeat": "weekdays"}, user_id="U1")
    )
    assert refused.json()["errors"] == {"repeat_at": "Choose the time it runs at."}
    entered = {
        "task": "Check the appointment slots",
        "start_url": "https://example.com/slots",
        "repeat": "weekly:0",
        "repeat_at": "07:45",
        "repeat_switches": ["on_change", "notify"],
    }
    assert sender.interactive(view_submission(form, entered, user_id="U1")).status_code == 200
    wait_for(lambda: schedules_in(db, "CREC4"), 5, "the schedule")
    (schedule,) = schedules_in(db, "CREC4")
    assert Repeat.load(schedule.repeat) == Repeat(
        "weekly", tz="Asia/Tokyo", hour=7, minute=45, weekday=0
    )
    assert schedule.on_change and schedule.notify
    assert "every Monday at 07:45 (Asia/Tokyo)" in shown(posts_in(slack, "CREC4")[0])
    assert browser_use.created == []  # set up, not run


def test_three_failed_runs_in_a_row_pause_it_and_tell_the_owner(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    schedule = set_up(sender, slack, db, "hourly Log in and download the invoice", "CREC5")
    for n in (1, 2, 3):
        make_due(db, schedule.id)
        task = created_count(browser_use, n)[n - 1]
        browser_use.finish(task.id, status="failed", output=None, is_success=False)
        wait_for(lambda n=n: schedules_in(db, "CREC5")[0].failures == n, 5, f"failure {n}")
    paused = schedules_in(db, "CREC5")[0]
    assert paused.paused and paused.paused_reason == "its last 3 runs failed"
    (told,) = wait_for(
        lambda: [c for c in slack.posts() if c.args["channel"] == "U1" and "paused" in shown(c)],
        5,
        "the owner told",
    )
    assert "Log in and download the invoice" in shown(told)
    make_due(db, schedule.id)
    time.sleep(0.6)
    assert len(browser_use.created) == 3  # paused: no fourth run


def test_the_limits_an_admin_set_apply_to_setting_one_up(
    sender: SlackSender, slack: FakeSlack, db: str
) -> None:
    answer = sender.command("every 5 minutes check it", user_id="U1", channel_id="CREC6")
    assert "at most every 15 minutes" in answer.text
    answer = sender.command("every fortnight check it", user_id="U1", channel_id="CREC6")
    assert "every day at 8am" in answer.text  # the accepted forms
    answer = sender.command("check it --on-change", user_id="U1", channel_id="CREC6")
    assert "is for recurring tasks" in answer.text
    assert schedules_in(db, "CREC6") == []


def test_a_run_missed_while_the_app_was_down_is_started_once_or_skipped(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missed.db"
    with own_app(**FAST, DATABASE_URL=url) as (_, sender):
        late = set_up(sender, slack, url, "every 4 hours Check A", "CREC7")
        too_late = set_up(sender, slack, url, "every 2 hours Check B", "CREC8")
    # Down for three hours: A (every 4 hours) is less than one interval late, B is not.
    make_due(url, late.id, late=3 * 3600)
    make_due(url, too_late.id, late=3 * 3600)
    with own_app(**FAST, DATABASE_URL=url):
        (task,) = created_count(browser_use, 1)
        assert task.body["task"] == "Check A"
        (note,) = wait_for(
            lambda: [c for c in posts_in(slack, "CREC8") if "Skipped" in shown(c)], 5, "the note"
        )
        assert "I was not running" in shown(note)
        time.sleep(0.6)
        assert len(browser_use.created) == 1  # started once, the other not made up
    assert schedules_in(url, "CREC8")[0].next_run_at > time.time()


def test_the_home_tab_lists_your_own_and_its_buttons_work_there(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, db: str
) -> None:
    mine = set_up(sender, slack, db, "every day at 7am Summarise the news", "CREC9")
    sender.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    home = wait_for(lambda: slack.calls_to("views.publish"), 5, "the Home tab")[-1]
    assert "Summarise the news" in json.dumps(home.args["view"])
    sender.event({"type": "app_home_opened", "user": "U2", "tab": "home"})
    theirs = wait_for(lambda: slack.calls_to("views.publish")[1:], 5, "another Home tab")[0]
    assert "Summarise the news" not in json.dumps(theirs.args["view"])  # only one's own
    answer = sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "U1"},
            "view": {"id": "VHOME", "type": "home"},
            "actions": [{"action_id": "schedule_pause", "value": str(mine.id), "type": "button"}],
        }
    )
    assert answer.status_code == 200
    again = wait_for(lambda: slack.calls_to("views.publish")[2:], 5, "the Home tab again")[0]
    assert "Paused. It won" in json.dumps(again.args["view"])
    assert schedules_in(db, "CREC9")[0].paused


def test_a_mention_that_starts_with_when_sets_one_up(
    sender: SlackSender, slack: FakeSlack, db: str
) -> None:
    from tests.test_conversations_e2e import mention

    said = mention(sender, "every monday 14:30 Check the canteen menu", channel="CREC10")
    wait_for(lambda: "repeat" in slack.reactions(said.ts), 5, "the 🔁 reaction")
    (schedule,) = schedules_in(db, "CREC10")
    assert Repeat.load(schedule.repeat).describe() == (
        "every Monday at 14:30 (America/Los_Angeles)"  # the stand-in's default time zone
    )
    assert CreateTaskRequest.from_kept(schedule.request).task == "Check the canteen menu"


def test_the_admins_limits_apply_to_schedules_and_to_each_run(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/limits.db"
    limits = {"MAX_SCHEDULES_PER_PERSON": "1", "MAX_TASKS_PER_HOUR_PER_USER": "1"}
    with own_app(**FAST, **limits, DATABASE_URL=url) as (_, sender):
        schedule = set_up(sender, slack, url, "every 30 minutes Check the queue", "CREC11")
        sender.command("every hour Check another queue", user_id="U1", channel_id="CREC11")
        wait_for(
            lambda: [r for r in slack.responses if "You have 1 recurring task already" in r.raw],
            5,
            "the refusal",
        )
        assert len(schedules_in(url, "CREC11")) == 1
        make_due(url, schedule.id)
        (task,) = created_count(browser_use, 1)  # the first run is within the hourly limit
        browser_use.finish(task.id)
        make_due(url, schedule.id)  # the second is not: the owner is told, privately
        (told,) = wait_for(
            lambda: [
                c for c in slack.posts() if c.args["channel"] == "U1" and "did not run" in shown(c)
            ],
            5,
            "the DM",
        )
        assert "the limit here is 1" in shown(told)
        assert len(browser_use.created) == 1
        wait_for(lambda: schedules_in(url, "CREC11")[0].failures == 1, 5, "the failure counted")
