"""Following a task to its end in its thread: status edits, buttons, the result, webhooks."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.app_process import LOOPBACK, AppProcess, Settles
from tests.conftest import WEBHOOK_SECRET, OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender


@dataclass
class Started:
    task_id: str
    session_id: str
    thread_ts: str
    status_ts: str


def start(
    sender: SlackSender,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    text: str = "Find the cheapest flight to Lisbon --max-steps 30",
    user: str = "U42",
    channel: str = "C77",
) -> Started:
    before = len(browser_use.created)
    sender.command(text, user_id=user, channel_id=channel)
    wait_for(lambda: len(browser_use.created) > before, 5, "the task")
    task = browser_use.created[-1]
    status = wait_for(
        lambda: [c for c in slack.posts() if task.id in c.args["text"]], 5, "the status message"
    )[0]
    return Started(task.id, task.session_id, status.args["thread_ts"], status.answer["ts"])


def edits(slack: FakeSlack, ts: str) -> list:
    return [c for c in slack.calls_to("chat.update") if c.args["ts"] == ts]


def results(slack: FakeSlack, started: Started) -> list:
    return [
        c
        for c in slack.in_thread(started.thread_ts)
        if (c.args.get("metadata") or {}).get("event_type") == "browser_use_result"
    ]


def one_result(app: Settles, slack: FakeSlack, started: Started, timeout: float = 6.0):
    (result,) = wait_for(lambda: results(slack, started), timeout, "the result reply")
    # A second result would come from a read of the task under way (a webhook's, a poll's);
    # once none is, every read to come finds the result reported.
    app.settle()
    assert len(results(slack, started)) == 1, "the result was posted twice"
    return result


def buttons(message_args: dict) -> list[str]:
    return [
        e["action_id"]
        for b in message_args.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def click(
    sender: SlackSender, action: str, started: Started, user: str = "U42", channel: str = "C77"
) -> None:
    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "api_app_id": "A0TEST",
            "token": "t",
            "trigger_id": "1.2.3",
            "container": {
                "type": "message",
                "message_ts": started.status_ts,
                "channel_id": channel,
            },
            "channel": {"id": channel},
            "response_url": sender.response_url,
            "message": {"ts": started.status_ts, "thread_ts": started.thread_ts, "text": "x"},
            "actions": [
                {
                    "action_id": action,
                    "block_id": "task_buttons",
                    "value": started.task_id,
                    "type": "button",
                    "action_ts": "1.1",
                }
            ],
        }
    )


def ephemerals_to(slack: FakeSlack, user: str) -> list:
    return [c for c in slack.calls_to("chat.postEphemeral") if c.args["user"] == user]


def test_a_task_run_from_start_to_finish(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    status = next(c for c in slack.posts() if c.answer.get("ts") == started.status_ts)
    assert buttons(status.args) == ["stop_task", "live_view", "share_session"]

    browser_use.step(
        started.task_id, "Open the airline's search page", "https://flights.example/<!here>"
    )
    # The steps stream into the thread as Slack's plan, a task card a step, to the person.
    (stream,) = wait_for(lambda: slack.streams_in(started.thread_ts), 5, "the stream")
    (start_call,) = slack.calls_to("chat.startStream")
    assert start_call.args["recipient_user_id"] == "U42"
    assert start_call.args["recipient_team_id"] == TEAM_ID
    assert stream.mode == "plan"
    plan, card = stream.chunks
    assert plan == {"type": "plan_update", "title": "Browser steps"}
    assert card["title"] == "1. Open the airline's search page"
    assert card["status"] == "in_progress"
    assert card["details"] == "https://flights.example/@here"  # no control sequence reaches Slack
    # The status message says it runs, keeps its buttons, and leaves the steps to the stream.
    running = wait_for(lambda: edits(slack, started.status_ts), 5, "the running edit")[-1]
    assert "Running" in str(running.args["blocks"]) and "below" in str(running.args["blocks"])
    assert buttons(running.args) == ["stop_task", "live_view", "share_session"]
    browser_use.step(started.task_id, "Sort by price")
    wait_for(lambda: len(stream.chunks) == 4, 5, "step 2 appended")
    assert [(c["id"], c["status"]) for c in stream.chunks[2:]] == [
        ("step-1", "complete"),
        ("step-2", "in_progress"),
    ]
    assert "details" not in stream.chunks[2]  # Slack appends details: sent once a card

    browser_use.finish(started.task_id, output="The cheapest is 49 EUR on <!channel> TAP.")
    result = one_result(sender, slack, started)
    assert result.args["text"].startswith("<@U42> Finished")
    assert "The cheapest is 49 EUR on &lt;!channel&gt; TAP." in str(result.args["blocks"])
    final = edits(slack, started.status_ts)[-1]
    assert "Finished" in final.args["text"] and started.task_id in final.args["text"]
    assert buttons(final.args) == []  # the buttons go when the task ends
    assert "2 steps" in str(final.args["blocks"]) and "$0.0123" in str(final.args["blocks"])
    # The stream is closed with its last step done, and the session with it: no browser is
    # kept for a command's thread.
    assert not stream.open and stream.chunks[-1]["status"] == "complete"
    assert stream.final["session_status"] == "closed"
    session = slack.session("C77", started.thread_ts)
    assert session["statuses"] == ["processing", "closed"]
    assert session["initiator"] == "U42"
    assert session["title"] == "Find the cheapest flight to Lisbon"  # the task, not its options


def test_structured_output_is_laid_out_and_attached(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    output = json.dumps({"airline": "TAP", "price": 49, "currency": "EUR"})
    browser_use.finish(started.task_id, output=output)
    result = one_result(sender, slack, started)
    fields = str([b for b in result.args["blocks"] if "fields" in b])
    assert "*airline*" in fields and "TAP" in fields and "49" in fields
    files = wait_for(lambda: slack.files_in(started.thread_ts), 5, "result.json")
    assert json.loads(files["result.json"]) == json.loads(output)


def test_long_output_is_attached_whole_never_cut(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    output = "line of findings\n" * 400
    browser_use.finish(started.task_id, output=output)
    result = one_result(sender, slack, started)
    assert "output.txt" in str(result.args["blocks"])
    files = wait_for(lambda: slack.files_in(started.thread_ts), 5, "output.txt")
    assert files["output.txt"].decode() == output.strip()


def test_output_files_land_in_the_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.finish(started.task_id, files={"prices.csv": b"airline,price\nTAP,49\n"})
    one_result(sender, slack, started)
    files = wait_for(lambda: slack.files_in(started.thread_ts), 5, "the output file")
    assert files["prices.csv"] == b"airline,price\nTAP,49\n"
    assert browser_use.downloads_with_key == 0, "the API key must not go to download links"


def test_a_failed_task_says_where_it_stopped(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Log in to the booking site", "https://book.example/login")
    browser_use.finish(started.task_id, status="failed", output=None, is_success=False)
    result = one_result(sender, slack, started)
    text = str(result.args["blocks"])
    assert "Failed" in text and "step 1" in text and "https://book.example/login" in text
    assert "Log in to the booking site" in text


def test_the_owner_stops_a_task_and_someone_else_may_not(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Searching")
    click(sender, "stop_task", started, user="U99")
    (no,) = wait_for(lambda: ephemerals_to(slack, "U99"), 5, "the refusal")
    assert "Only <@U42>" in no.args["text"]
    assert browser_use.stops == []

    click(sender, "stop_task", started, user="U42")
    wait_for(lambda: browser_use.stops == [started.task_id], 5, "the stop")
    result = one_result(sender, slack, started)
    assert "Stopped" in result.args["text"]
    assert buttons(edits(slack, started.status_ts)[-1].args) == []


def test_an_admin_may_stop_any_task_from_the_command(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    sender.command(f"stop {started.task_id}", user_id="U99")
    (no,) = wait_for(lambda: slack.responses, 5, "the refusal")
    assert "Only <@U42>" in no.args["text"] and browser_use.stops == []
    sender.command(f"stop {started.task_id}", user_id="UADMIN")
    wait_for(lambda: browser_use.stops == [started.task_id], 5, "the stop")
    one_result(sender, slack, started)


def test_status_from_anywhere(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Reading reviews")
    sender.command(f"status {started.task_id}", user_id="U5", channel_id="C1")
    (answer,) = wait_for(lambda: slack.responses, 5, "the status")
    assert answer.args["response_type"] == "ephemeral"
    assert "Running" in answer.args["text"] and "Reading reviews" in str(answer.args["blocks"])
    sender.command("status 00000000-0000-0000-0000-000000000000")
    wait_for(lambda: len(slack.responses) == 2, 5, "the second answer")
    assert "could not find" in slack.responses[1].args["text"]


def test_the_live_view_goes_only_to_the_owner(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Working")
    click(sender, "live_view", started, user="U42")
    (mine,) = wait_for(lambda: ephemerals_to(slack, "U42"), 5, "the live view")
    live_url = f"{browser_use.url}/live/{started.session_id}"
    assert live_url in mine.args["text"]
    click(sender, "live_view", started, user="U99")
    (no,) = wait_for(lambda: ephemerals_to(slack, "U99"), 5, "the refusal")
    assert live_url not in no.args["text"]
    assert live_url not in str([c.args for c in slack.posts() + slack.calls_to("chat.update")])


def test_share_posts_a_public_link_in_the_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    click(sender, "share_session", started, user="U42")
    shared = wait_for(
        lambda: [
            c for c in slack.in_thread(started.thread_ts) if "share.example" in c.args["text"]
        ],
        5,
        "the share",
    )
    assert f"https://share.example/{started.session_id}" in shared[0].args["text"]
    assert browser_use.shares == [started.session_id]


def webhook_url(app: AppProcess) -> str:
    return f"{app.url}/browser-use/webhook"


def test_webhooks_are_verified_and_only_prompt_a_read(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Working")
    url = webhook_url(app)
    event = browser_use.status_event(browser_use.task(started.task_id), status="finished")
    # The event claims "finished"; the task is still running, and the app believes the task.
    now = int(time.time())
    good = browser_use.send_webhook(url, WEBHOOK_SECRET, event, timestamp=now)
    assert good.status_code == 200
    # The very same delivery again (same timestamp, same signature) is a replay.
    replay = browser_use.send_webhook(url, WEBHOOK_SECRET, event, timestamp=now)
    assert replay.json()["duplicate"] is True
    # Resent with its signature in upper case (it still verifies): the same delivery.
    shouted = browser_use.sign(WEBHOOK_SECRET, event, now).upper()
    again = browser_use.send_webhook(url, WEBHOOK_SECRET, event, timestamp=now, signature=shouted)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert browser_use.send_webhook(url, "wrong-secret", event).status_code == 401
    stale = browser_use.send_webhook(url, WEBHOOK_SECRET, event, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    forged = browser_use.send_webhook(url, WEBHOOK_SECRET, event, signature="0" * 64)
    assert forged.status_code == 401
    unsigned = LOOPBACK.post(url, content=json.dumps(event))
    assert unsigned.status_code == 401
    for bad_timestamp in ("", "NaN", "1e9"):
        headers = {"X-Browser-Use-Signature": "0" * 64, "X-Browser-Use-Timestamp": bad_timestamp}
        assert LOOPBACK.post(url, content=json.dumps(event), headers=headers).status_code == 401
    assert browser_use.send_webhook(url, WEBHOOK_SECRET, event, body="{not json").status_code == 400
    sender.settle()  # the read the good one prompted is done
    assert results(slack, started) == []


def test_a_webhook_twice_and_a_poll_give_one_result(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.finish(started.task_id, output="Done twice?")
    event = browser_use.status_event(browser_use.task(started.task_id))
    for _ in range(2):
        browser_use.send_webhook(webhook_url(app), WEBHOOK_SECRET, event)
    # The same event re-signed a second later is not a replay: it must still not post twice.
    browser_use.send_webhook(
        webhook_url(app), WEBHOOK_SECRET, event, timestamp=int(time.time()) + 1
    )
    one_result(sender, slack, started)


def test_a_task_that_ends_while_its_status_message_is_posted_loses_its_buttons(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    # Slack answers the status message slowly; meanwhile the task ends and its result is
    # reported, before the app knows which message to edit.
    slack.delays["chat.postMessage"] = 1.0
    sender.command("Check the weather", user_id="U42", channel_id="C77")
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    browser_use.finish(task.id, output="Sunny")
    browser_use.send_webhook(
        webhook_url(app), WEBHOOK_SECRET, browser_use.status_event(browser_use.task(task.id))
    )
    status = wait_for(
        lambda: [c for c in slack.posts() if task.id in c.args["text"]], 5, "the status message"
    )[0]
    final = wait_for(lambda: edits(slack, status.answer["ts"]), 5, "the status edited")[-1]
    assert buttons(final.args) == []  # no Stop button on a finished task
    sender.settle()
    thread = status.args["thread_ts"]
    # Nor is the thread told the browser is starting, once the task has ended.
    assert not [
        c for c in slack.calls_to("assistant.threads.setStatus") if c.args["thread_ts"] == thread
    ]


@pytest.mark.slow
def test_a_restart_mid_task_still_ends_with_exactly_one_result(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        ended_while_down = start(sender, slack, browser_use, text="Task one")
        still_running = start(sender, slack, browser_use, text="Task two")
        browser_use.step(still_running.task_id, "Halfway")
        (stream,) = wait_for(lambda: slack.streams_in(still_running.thread_ts), 5, "its stream")
    browser_use.finish(ended_while_down.task_id, output="Finished while the app was down")

    with own_app() as (_, sender):
        one_result(sender, slack, ended_while_down)
        browser_use.step(still_running.task_id, "Almost there")
        # The restarted app goes on with the stream the first one started (the store knows it).
        wait_for(
            lambda: any("Almost there" in c.get("title", "") for c in stream.chunks),
            5,
            "the step in the same stream",
        )
        browser_use.finish(still_running.task_id, output="Finished after the restart")
        one_result(sender, slack, still_running)
        assert len(slack.streams_in(still_running.thread_ts)) == 1 and not stream.open

    with own_app() as (app, sender):  # and once more: nothing is followed, nothing posted
        wait_for(lambda: "tracker.resumed" in app.logs(), 5, "the tracker resumed")
        sender.settle()
        assert "tracker.resumed from=store tasks=0" in app.logs()
    assert len(results(slack, ended_while_down)) == 1
    assert len(results(slack, still_running)) == 1


@pytest.mark.slow
def test_many_running_tasks_stay_within_the_request_budget(
    own_app: OwnApp, browser_use: FakeBrowserUse
) -> None:
    rate, window = 10, 1.0
    with own_app(BROWSER_USE_REQUESTS_PER_SECOND=str(rate), POLL_INTERVAL_SECONDS="0.1") as (
        _,
        sender,
    ):
        for i in range(15):
            sender.command(f"Task number {i}")
        wait_for(lambda: len(browser_use.created) == 15, 10, "fifteen tasks")
        for task in browser_use.created:
            browser_use.step(task.id, "Busy")
        time.sleep(3 * window)
    ours = {task.id for task in browser_use.created}
    # Only this process's calls: the suite's shared app may still be polling earlier tasks.
    times = [
        at
        for _, path, at in browser_use.requests
        if path == "/api/v2/tasks" or any(task_id in path for task_id in ours)
    ]
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    # A bucket of `rate` tokens refilled at `rate`/s lets (1 + window) x rate through in any
    # window (Browser Use counts 5 s ones); one or two more may land as they cross loopback.
    bound = (1 + window) * rate + 2
    assert busiest <= bound, f"{busiest} requests in {window} s with a budget of {rate}/s"
    span = times[-1] - times[0]
    assert len(times) <= rate * (span + 1) + 2
    assert len(browser_use.requests) > 2 * rate  # it did keep polling


@pytest.mark.parametrize("status", ["finished", "stopped"])
def test_the_tracker_reads_the_spec_shaped_task(status: str) -> None:
    from bot.answers import TaskView

    task = TaskView.model_validate(
        {
            "id": "t",
            "sessionId": "s",
            "llm": "gpt-4.1",
            "task": "x",
            "status": status,
            "createdAt": "2026-11-29T06:00:00",
            "steps": [],
            "outputFiles": [],
            "metadata": {"slack": "T1/C1/1.2/U1"},
            "unknownNewField": 1,
        }
    )
    assert task.ended


@pytest.mark.slow
def test_a_webhooks_read_does_not_wait_behind_the_polls_of_a_full_budget(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    """Forty running tasks at 2 requests a second keep the budget full of polls; the task a
    webhook announces is read next, not after the polls that were waiting before it."""
    from bot.models import SlackRoute
    from bot.store import Store, TaskRecord

    route = SlackRoute(team=TEAM_ID, channel="C77", thread_ts="1700000000.000100", user="U42")
    ids = [browser_use.add_task({"slack": route.encode()}) for _ in range(40)]
    database = f"sqlite+aiosqlite:///{tmp_path}/follow.db"

    async def known() -> None:  # the store knows them: the app follows all forty at once
        store = await Store.open(database)
        for task_id in ids:
            await store.add_task(
                TaskRecord.from_route(task_id, browser_use.task(task_id)["sessionId"], route)
            )
        await store.close()

    asyncio.run(known())
    settings = {"BROWSER_USE_REQUESTS_PER_SECOND": "2", "DATABASE_URL": database}
    with own_app(**settings) as (app, _):
        wait_for(lambda: len(browser_use.requests) > 10, 10, "the polls under way")
        ended = ids[-1]
        browser_use.finish(ended, output="Here it is.")
        before = len(browser_use.requests)
        event = FakeBrowserUse.status_event(browser_use.task(ended))
        url = f"{app.url}/browser-use/webhook"
        assert browser_use.send_webhook(url, WEBHOOK_SECRET, event).status_code == 200
        read = f"/api/v2/tasks/{ended}"
        wait_for(lambda: read in [p for _, p, _ in browser_use.requests[before:]], 10, "its read")
        later = [p for _, p, _ in browser_use.requests[before:]]
        # Only what had its token already may go first (2 a second); with the old order, the
        # read waited behind every queued poll and did not come within 10 s.
        assert later.index(read) <= 4, f"{later.index(read)} requests went before it: {later}"
        wait_for(lambda: [c for c in slack.posts() if "Here it is." in c.raw], 10, "the result")
