"""@mentions and DMs: tasks in threads that keep their browser session; App Home."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass

import pytest

from tests.app_process import AppProcess
from tests.conftest import OwnApp
from tests.fakes.browser_use import Created, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender

_ts = itertools.count(1)


def new_ts() -> str:
    return f"1800000{next(_ts):03d}.000100"


@dataclass
class Mention:
    ts: str
    thread_ts: str


def mention(
    sender: SlackSender,
    text: str,
    *,
    thread_ts: str | None = None,
    user: str = "U42",
    channel: str = "C77",
    event_id: str | None = None,
    retry: int | None = None,
    ts: str | None = None,
) -> Mention:
    ts = ts or new_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    response = sender.event(event, event_id=event_id, retry=retry)
    assert response.status_code == 200
    return Mention(ts, thread_ts or ts)


def status_in(slack: FakeSlack, thread_ts: str, task_id: str) -> list:
    """Wait for the status message of `task_id` in the thread."""
    return wait_for(
        lambda: [c for c in slack.in_thread(thread_ts) if task_id in c.args["text"]],
        5,
        "the status message",
    )


def first_task(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, text: str
) -> tuple[Mention, Created]:
    """Mention the bot with `text` and wait for its task and the task's status message."""
    said = mention(sender, text)
    (task,) = created_count(browser_use, 1)
    status_in(slack, said.ts, task.id)
    return said, task


def created_count(browser_use: FakeBrowserUse, n: int) -> list:
    return wait_for(
        lambda: browser_use.created if len(browser_use.created) >= n else [], 5, f"{n} task(s)"
    )


def results_in(slack: FakeSlack, thread_ts: str) -> list:
    return [
        c
        for c in slack.in_thread(thread_ts)
        if (c.args.get("metadata") or {}).get("event_type") == "browser_use_result"
    ]


def test_a_mention_starts_a_task_in_its_thread_in_a_session_of_its_own(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    m = mention(sender, "find the opening hours of the Louvre --model o3")
    wait_for(lambda: "eyes" in slack.reactions(m.ts), 5, "the 👀 reaction")
    (task,) = created_count(browser_use, 1)
    assert task.body["task"] == "find the opening hours of the Louvre"
    assert task.body["llm"] == "o3"
    (session_id,) = browser_use.sessions
    assert task.body["sessionId"] == session_id
    assert browser_use.session_requests == [{"keepAlive": True, "persistMemory": True}]
    assert task.body["metadata"]["slack_session"] == session_id
    status = wait_for(
        lambda: [c for c in slack.in_thread(m.ts) if task.id in c.args["text"]],
        5,
        "the status message",
    )
    assert status[0].args["channel"] == "C77"
    assert not [c for c in slack.posts() if "asked the browser" in c.args["text"]]

    browser_use.finish(task.id, output="9:00 to 18:00")
    wait_for(lambda: results_in(slack, m.ts), 5, "the result")
    wait_for(lambda: slack.reactions(m.ts) == ["white_check_mark"], 5, "✅ instead of 👀")
    result = results_in(slack, m.ts)[0]
    assert "close_session" in json.dumps(result.args["blocks"])


def test_a_follow_up_in_the_thread_reuses_the_browser_and_new_starts_another(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first, task = first_task(sender, slack, browser_use, "search for flights to Porto")
    browser_use.finish(task.id)
    mention(sender, "now open the second result", thread_ts=first.ts)
    second = created_count(browser_use, 2)[1]
    assert second.body["sessionId"] == task.body["sessionId"]
    assert len(browser_use.session_requests) == 1
    browser_use.finish(second.id)
    wait_for(lambda: len(results_in(slack, first.ts)) == 2, 5, "two results")
    mention(sender, "start over --new", thread_ts=first.ts)
    third = created_count(browser_use, 3)[2]
    assert third.body["sessionId"] != task.body["sessionId"]
    assert third.body["task"] == "start over"


def test_a_follow_up_while_busy_is_held_then_queued(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first, task = first_task(sender, slack, browser_use, "compare three laptops")
    follow_up = mention(sender, "add the cheapest to the cart", thread_ts=first.ts)
    busy = wait_for(
        lambda: [
            c
            for c in slack.in_thread(first.ts)
            if "still working on the previous task" in c.args["text"]
        ],
        5,
        "the busy message",
    )[0]
    actions = [e for b in busy.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == ["stop_task", "queue_follow_up"]
    assert len(browser_use.created) == 1

    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "U42"},
            "api_app_id": "A0TEST",
            "token": "t",
            "trigger_id": "1.2",
            "channel": {"id": "C77"},
            "container": {"type": "message", "message_ts": busy.answer["ts"]},
            "message": {"ts": busy.answer["ts"], "thread_ts": first.ts, "text": "busy"},
            "response_url": sender.response_url,
            "actions": [
                {
                    "action_id": "queue_follow_up",
                    "block_id": "busy_buttons",
                    "value": actions[1]["value"],
                    "type": "button",
                    "action_ts": "1.1",
                }
            ],
        }
    )
    wait_for(
        lambda: [c for c in slack.in_thread(first.ts) if "Queued" in c.args["text"]],
        5,
        "the queued note",
    )
    time.sleep(0.5)
    assert len(browser_use.created) == 1  # not while the first is running
    browser_use.finish(task.id)
    second = created_count(browser_use, 2)[1]
    assert second.body["task"] == "add the cheapest to the cart"
    assert second.body["sessionId"] == task.body["sessionId"]
    assert follow_up.thread_ts == first.ts


def test_done_closes_the_threads_browser(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first, task = first_task(sender, slack, browser_use, "check the news")
    browser_use.finish(task.id)
    mention(sender, "done", thread_ts=first.ts)
    wait_for(lambda: browser_use.session_stops == [task.body["sessionId"]], 5, "the stop")
    closed = wait_for(
        lambda: [
            c for c in slack.in_thread(first.ts) if "closed this thread's browser" in c.args["text"]
        ],
        5,
        "the closed note",
    )
    assert "Mention me here to start a new one" in closed[0].args["text"]
    assert len(browser_use.created) == 1


def test_an_event_delivered_twice_or_retried_creates_one_task(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    ts = new_ts()
    mention(sender, "look up the weather", ts=ts, event_id="EvSAME1")
    mention(sender, "look up the weather", ts=ts, event_id="EvSAME1")
    mention(sender, "look up the weather", ts=ts, event_id="EvSAME1", retry=1)
    mention(sender, "look up the weather", ts=ts, event_id="EvOTHER", retry=2)  # same message
    created_count(browser_use, 1)
    app.settle()  # every delivery handled: none of the others started one
    assert len(browser_use.created) == 1


def test_bots_edits_and_other_messages_never_start_tasks(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    ts = new_ts()
    sender.event(
        {
            "type": "app_mention",
            "user": "U42",
            "bot_id": "B999",
            "ts": ts,
            "text": "<@UBOT> from a bot",
            "channel": "C77",
        }
    )
    sender.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel_type": "im",
            "channel": "D1",
            "ts": new_ts(),
            "message": {"text": "edited"},
        }
    )
    sender.event(
        {
            "type": "message",
            "channel_type": "channel",
            "user": "U42",
            "channel": "C77",
            "ts": new_ts(),
            "text": "just chatting",
        }
    )
    app.settle()
    assert browser_use.created == [] and slack.posts() == []


def direct_message(sender: SlackSender, text: str, user: str = "U42", channel: str = "D042") -> str:
    """A DM to the bot, as Slack delivers it (`message.im`); its ts (its thread's)."""
    ts = new_ts()
    event = {"type": "message", "channel_type": "im", "user": user, "channel": channel}
    sender.event({**event, "ts": ts, "text": text})
    return ts


def test_a_direct_message_starts_a_task_answered_in_its_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    ts = direct_message(sender, "what is the top story on Hacker News?")
    (task,) = created_count(browser_use, 1)
    assert task.body["task"] == "what is the top story on Hacker News?"
    status = wait_for(
        lambda: [c for c in slack.in_thread(ts) if task.id in c.args["text"]],
        5,
        "the status message in the DM's thread",
    )
    assert status[0].args["channel"] == "D042"


def test_a_thread_keeps_its_session_across_a_restart(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        first, task = first_task(sender, slack, browser_use, "log in to the shop")
        browser_use.finish(task.id)
    with own_app() as (_, sender):
        mention(sender, "now open my orders", thread_ts=first.ts)
        second = created_count(browser_use, 2)[1]
    assert second.body["sessionId"] == task.body["sessionId"]


@pytest.mark.slow
def test_an_idle_thread_session_is_closed_and_the_thread_told(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(SESSION_IDLE_MINUTES="0.02") as (_, sender):  # 1.2 seconds
        first, task = first_task(sender, slack, browser_use, "read the menu")
        browser_use.finish(task.id)
        wait_for(
            lambda: browser_use.session_stops == [task.body["sessionId"]], 10, "the idle close"
        )
        note = wait_for(
            lambda: [c for c in slack.in_thread(first.ts) if "idle minutes" in c.args["text"]],
            5,
            "the thread told",
        )
    assert "Mention me here to start a new one" in note[0].args["text"]
    # Its agent session is closed with it.
    assert slack.session("C77", first.ts)["statuses"][-1] == "closed"


def test_an_idle_thread_session_past_the_first_page_of_open_browsers_is_closed(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """The idle check reads every page of the open browsers, not the first 100 only."""
    for _ in range(100):  # the team's other browsers, opened before the thread's
        browser_use.open_session()
    with own_app(SESSION_IDLE_MINUTES="0.02", BROWSER_USE_REQUESTS_PER_SECOND="500") as (_, s):
        _, task = first_task(s, slack, browser_use, "read the menu")
        browser_use.finish(task.id)
        wait_for(lambda: browser_use.session_stops, 15, "the idle close")
    assert browser_use.session_stops == [task.body["sessionId"]]


@pytest.mark.slow
def test_the_idle_check_does_not_read_a_browser_whose_task_is_running(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """The idle check reads each open browser at Browser Use, on the team's key: not one whose
    task the store says is running (a thousand running tasks cost a thousand reads a sweep)."""
    with own_app(SESSION_IDLE_MINUTES="0.02") as (_, sender):  # checked every second
        _, task = first_task(sender, slack, browser_use, "read the menu")
        session = f"/api/v2/sessions/{task.body['sessionId']}"
        mark = len(browser_use.requests)
        time.sleep(3.0)  # the idle checks of three seconds
        listed = [p for _, p, _ in browser_use.requests[mark:] if p == "/api/v2/sessions"]
        assert len(listed) >= 2  # it did check, twice or more
        assert [p for _, p, _ in browser_use.requests[mark:] if p == session] == []
        browser_use.finish(task.id)
        wait_for(lambda: browser_use.session_stops, 10, "the idle close")  # read, then closed
    assert browser_use.session_stops == [task.body["sessionId"]]


@pytest.mark.slow
def test_the_idle_check_reads_someone_elses_browser_once(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """The team runs other things on the same key: their browsers are read once by the idle
    check, found not to be the app's, and not read again while they stay open."""
    others = [browser_use.add_task({"tool": "nightly-scraper"}) for _ in range(30)]
    sessions = {f"/api/v2/sessions/{browser_use.tasks[t]['sessionId']}" for t in others}
    with own_app(SESSION_IDLE_MINUTES="0.02") as (_, sender):  # checked every half second
        first_task(sender, slack, browser_use, "read the menu")  # a thread browser to look after
        mark = len(browser_use.requests)
        time.sleep(3.0)
        listed = [p for _, p, _ in browser_use.requests[mark:] if p == "/api/v2/sessions"]
        reads = [p for _, p, _ in browser_use.requests[mark:] if p in sessions]
    assert len(listed) >= 2  # it did check, twice or more
    assert len(reads) <= len(sessions) and set(reads) <= sessions


def test_app_home_shows_the_persons_tasks_and_the_credit(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.command("Compare two phones", user_id="U42")
    sender.command("Someone else's task", user_id="U7")
    created_count(browser_use, 2)
    sender.event(
        {
            "type": "app_home_opened",
            "user": "U42",
            "channel": "D042",
            "tab": "home",
            "event_ts": new_ts(),
        }
    )
    (published,) = wait_for(lambda: slack.calls_to("views.publish"), 5, "views.publish")
    assert published.args["user_id"] == "U42"
    view = (
        json.loads(published.args["view"])
        if isinstance(published.args["view"], str)
        else published.args["view"]
    )
    text = json.dumps(view)
    assert "Compare two phones" in text and "Someone else" not in text
    assert "open the thread" in text and "$42.50" in text
    assert "/browser-use" in text


def test_session_settings_in_a_follow_up_ask_for_a_new_browser(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first = mention(sender, "open the shop --proxy de")
    (task,) = created_count(browser_use, 1)
    assert browser_use.session_requests[0]["proxyCountryCode"] == "de"
    assert "sessionSettings" not in task.body  # they went to the session itself
    status_in(slack, first.ts, task.id)
    browser_use.finish(task.id)
    mention(sender, "same again from Japan --proxy jp", thread_ts=first.ts)
    note = wait_for(
        lambda: [c for c in slack.in_thread(first.ts) if "--new" in c.args["text"]],
        5,
        "the explanation",
    )
    assert "apply to a new browser" in note[0].args["text"]
    mention(sender, "same again from Japan --proxy jp --new", thread_ts=first.ts)
    created_count(browser_use, 2)
    assert browser_use.session_requests[1]["proxyCountryCode"] == "jp"
