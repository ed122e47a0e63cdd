"""Slack's agent sessions and streams: each task thread's session through the task's life, Slack's
own stop button (`agent_session_stopped`), and the steps streamed into the thread, with what
happens when Slack refuses or ends a stream, or another process takes the task over."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseClient
from bot.models import SlackRoute
from bot.store import Store, TaskRecord
from handlers.flows.following import SlackTaskSink
from handlers.pacing import SlackPace
from handlers.slack_io import BotIdentity
from tests.conftest import OwnApp
from tests.fakes.browser_use import API_KEY, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender
from tests.test_accurate_e2e import start_accurate
from tests.test_conversations_e2e import (
    created_count,
    direct_message,
    first_task,
    mention,
    new_ts,
    status_in,
)
from tests.test_following_e2e import Started, one_result, results, start


def statuses(slack: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    return list(slack.session(channel, thread_ts)["statuses"])


def press_stop(
    sender: SlackSender, slack: FakeSlack, channel: str, thread_ts: str, user: str, **kw: Any
) -> dict[str, Any]:
    """A person clicks Slack's stop button on the thread's session: Slack stops the app's
    streams there and sends the event, signed."""
    stopped = slack.press_stop(channel, thread_ts)
    event = {
        "type": "agent_session_stopped",
        "channel": channel,
        "thread_ts": thread_ts,
        "user": user,
        "event_ts": kw.pop("event_ts", new_ts()),
        "streaming_message_ts": stopped[0] if stopped else "",
    }
    assert sender.event(event, **kw).status_code == 200
    return event


def streamed(slack: FakeSlack, thread_ts: str, step: int) -> bool:
    cards = [c for s in slack.streams_in(thread_ts) for c in s.chunks]
    return any(c.get("id") == f"step-{step}" for c in cards)


def edited_with(slack: FakeSlack, started: Started, words: str) -> bool:
    """Whether an edit of the task's status message shows `words`."""
    edits = [c for c in slack.calls_to("chat.update") if c.args["ts"] == started.status_ts]
    return any(words in str(c.args.get("blocks")) for c in edits)


def told_privately(slack: FakeSlack, user: str) -> list[str]:
    return [c.args["text"] for c in slack.calls_to("chat.postEphemeral") if c.args["user"] == user]


def said_in_thread(slack: FakeSlack, thread_ts: str, words: str) -> list[Any]:
    return [c for c in slack.in_thread(thread_ts) if words in c.args.get("text", "")]


# --- the session through a task's life ---------------------------------------------------------


def test_a_commands_thread_is_processing_then_closed_as_it_keeps_no_browser(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use, text="Find the <!here> cheapest flight")
    wait_for(lambda: statuses(slack, "C77", started.thread_ts) == ["processing"], 5, "processing")
    session = slack.session("C77", started.thread_ts)
    assert session["initiator"] == "U42"
    assert session["title"] == "Find the @here cheapest flight"  # plain text, no control sequence
    browser_use.finish(started.task_id, output="49 EUR")
    one_result(sender, slack, started)
    wait_for(lambda: statuses(slack, "C77", started.thread_ts)[-1] == "closed", 5, "closed")
    assert statuses(slack, "C77", started.thread_ts) == ["processing", "closed"]


def test_a_mentions_thread_stays_active_while_it_keeps_its_browser_then_closes(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    said, task = first_task(sender, slack, browser_use, "Open the pricing page")
    wait_for(lambda: statuses(slack, "C77", said.ts) == ["processing"], 5, "processing")
    browser_use.finish(task.id, output="It costs 10 EUR")
    wait_for(lambda: statuses(slack, "C77", said.ts) == ["processing", "active"], 5, "active")
    mention(sender, "done", thread_ts=said.ts)
    wait_for(lambda: statuses(slack, "C77", said.ts)[-1] == "closed", 5, "closed")
    assert statuses(slack, "C77", said.ts) == ["processing", "active", "closed"]


def test_a_dms_thread_is_a_session_too(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    ts = direct_message(sender, "what is the top story on Hacker News?")
    (task,) = created_count(browser_use, 1)
    status_in(slack, ts, task.id)
    wait_for(lambda: statuses(slack, "D042", ts) == ["processing"], 5, "processing")
    assert slack.session("D042", ts)["title"] == "what is the top story on Hacker News?"
    browser_use.finish(task.id, output="A story")
    wait_for(lambda: statuses(slack, "D042", ts) == ["processing", "active"], 5, "active")


# --- Slack's own stop button -------------------------------------------------------------------


def test_slacks_stop_button_stops_the_task_of_its_owner_once(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Searching")
    wait_for(lambda: slack.streams_in(started.thread_ts), 5, "the stream")
    event = press_stop(sender, slack, "C77", started.thread_ts, "U42")
    # Slack sends it again (a retry), and another copy reaches the app: one stop, one word.
    sender.event(event, retry=1)
    wait_for(lambda: browser_use.stops == [started.task_id], 5, "the stop")
    result = one_result(sender, slack, started)
    assert "Stopped" in result.args["text"]
    (told,) = said_in_thread(slack, started.thread_ts, "stopped this task")
    assert "<@U42>" in told.args["text"]
    assert browser_use.stops == [started.task_id]
    # Out of `processing` (Slack leaves that to the app), and closed once the result is in.
    wait_for(lambda: statuses(slack, "C77", started.thread_ts)[-1] == "closed", 5, "closed")


def test_slacks_stop_button_stops_nothing_for_someone_else_and_tells_them_alone(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    wait_for(lambda: statuses(slack, "C77", started.thread_ts) == ["processing"], 5, "processing")
    press_stop(sender, slack, "C77", started.thread_ts, "U99")
    (no,) = wait_for(lambda: told_privately(slack, "U99"), 5, "the refusal")
    assert "Only <@U42>" in no
    sender.settle()
    assert browser_use.stops == []
    assert said_in_thread(slack, started.thread_ts, "stopped this task") == []
    # The task runs on, and its session still shows Slack's stop button.
    assert statuses(slack, "C77", started.thread_ts)[-1] == "processing"
    # An admin may.
    press_stop(sender, slack, "C77", started.thread_ts, "UADMIN")
    wait_for(lambda: browser_use.stops == [started.task_id], 5, "the admin's stop")
    one_result(sender, slack, started)


def test_slacks_stop_button_on_a_thread_with_nothing_running_stops_nothing(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    browser_use.finish(started.task_id, output="Done")
    one_result(sender, slack, started)
    press_stop(sender, slack, "C77", started.thread_ts, "U42")
    (told,) = wait_for(lambda: told_privately(slack, "U42"), 5, "the answer")
    assert "Nothing is running" in told
    sender.settle()
    assert browser_use.stops == []
    # A command's thread keeps no browser: its session is closed, not left working.
    assert statuses(slack, "C77", started.thread_ts)[-1] == "closed"


def test_slacks_stop_button_stops_a_v4_run(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start_accurate(sender, slack, browser_use)
    browser_use.start_run(started.task_id)
    wait_for(lambda: statuses(slack, "C77", started.thread_ts) == ["processing"], 5, "processing")
    press_stop(sender, slack, "C77", started.thread_ts, "U99")
    wait_for(lambda: told_privately(slack, "U99"), 5, "the refusal")
    assert browser_use.cancels == []
    press_stop(sender, slack, "C77", started.thread_ts, "U42")
    wait_for(lambda: browser_use.cancels == [started.task_id], 5, "the cancel")
    result = one_result(sender, slack, started)
    assert "Stopped" in result.args["text"]
    assert len(said_in_thread(slack, started.thread_ts, "stopped this task")) == 1


# --- steps streamed ----------------------------------------------------------------------------


def test_a_stream_shows_each_step_and_closes_with_the_result(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    started = start(sender, slack, browser_use)
    for n in range(1, 4):
        browser_use.step(started.task_id, f"Goal {n}", f"https://shop.example/{n}")
        wait_for(lambda n=n: streamed(slack, started.thread_ts, n), 5, f"step {n} streamed")
    (stream,) = slack.streams_in(started.thread_ts)
    browser_use.finish(started.task_id, status="failed", output=None, is_success=False)
    one_result(sender, slack, started)
    assert not stream.open
    # Each card's last word: the earlier steps done, the one it failed at in error.
    last = {c["id"]: c["status"] for c in stream.chunks if c["type"] == "task_update"}
    assert last == {"step-1": "complete", "step-2": "complete", "step-3": "error"}
    assert [c["details"] for c in stream.chunks if "details" in c] == [
        f"https://shop.example/{n}" for n in range(1, 4)
    ]
    assert slack.refused == []


def test_a_stream_slack_refuses_falls_back_to_editing_the_status_message(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.fail_next("chat.startStream", "not_allowed_token_type")
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "Open the search page", "https://flights.example/")
    wait_for(lambda: edited_with(slack, started, "Open the search page"), 5, "the step, edited")
    browser_use.step(started.task_id, "Sort by price")
    wait_for(lambda: edited_with(slack, started, "step 2"), 5, "step 2 by an edit")
    browser_use.finish(started.task_id, output="49 EUR")
    one_result(sender, slack, started)
    assert len(slack.calls_to("chat.startStream")) == 1 and slack.streams == {}
    # The session is still told how it ended.
    wait_for(lambda: statuses(slack, "C77", started.thread_ts)[-1] == "closed", 5, "closed")


def test_a_stream_slack_ended_is_followed_by_a_new_one_and_nothing_is_lost(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.stream_lifetime = 0.5
    started = start(sender, slack, browser_use)
    browser_use.step(started.task_id, "First", "https://a.example/")
    wait_for(lambda: slack.streams_in(started.thread_ts), 5, "the first stream")
    time.sleep(0.8)  # Slack ends it
    browser_use.step(started.task_id, "Second", "https://b.example/")
    wait_for(lambda: len(slack.streams_in(started.thread_ts)) == 2, 5, "a second stream")
    first, second = slack.streams_in(started.thread_ts)
    assert [c["title"] for c in first.chunks if c["type"] == "task_update"] == ["1. First"]
    assert [c["title"] for c in second.chunks if c["type"] == "task_update"][-1] == "2. Second"
    slack.stream_lifetime = 300.0
    browser_use.finish(started.task_id, output="done")
    one_result(sender, slack, started)
    assert not second.open and second.final["session_status"] == "closed"
    assert slack.refused == []


def test_a_stream_goes_on_in_the_process_that_takes_the_task_over(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, first_sender):
        started = start(first_sender, slack, browser_use)
        browser_use.step(started.task_id, "Before the handover")
        (stream,) = wait_for(lambda: slack.streams_in(started.thread_ts), 5, "the stream")
    # The first process is gone; another one takes the task over and goes on with its stream.
    with own_app() as (_, sender):
        browser_use.step(started.task_id, "After the handover")
        wait_for(
            lambda: any("After the handover" in c.get("title", "") for c in stream.chunks),
            10,
            "the step in the same stream",
        )
        browser_use.finish(started.task_id, output="done")
        one_result(sender, slack, started)
    assert len(slack.streams_in(started.thread_ts)) == 1 and not stream.open
    assert len(results(slack, started)) == 1


def test_the_stand_in_refuses_what_slack_refuses(slack: FakeSlack) -> None:
    """Unknown chunks, a channel stream without its recipient, a task status Slack does not
    have, and a plan mixed with timeline cards are refused, as Slack refuses them."""
    import httpx

    def call(method: str, **args: Any) -> dict[str, Any]:
        headers = {"Authorization": "Bearer xoxb-test-token"}
        return httpx.post(f"{slack.url}/api/{method}", json=args, headers=headers).json()

    card = {"type": "task_update", "id": "s1", "title": "Step", "status": "in_progress"}
    base = {"channel": "C1", "thread_ts": "1.1", "recipient_user_id": "U1"}
    assert call("chat.startStream", **base)["error"] == "missing_recipient_team_id"
    base["recipient_team_id"] = TEAM_ID
    assert call("chat.startStream", **base, chunks=[{"type": "poem"}])["error"] == "invalid_chunks"
    done = {**card, "status": "completed"}  # Slack says `complete`
    assert call("chat.startStream", **base, chunks=[done])["error"] == "invalid_chunks"
    plan = {"type": "plan_update", "title": "Plan"}
    assert call("chat.startStream", **base, chunks=[plan, card])["error"] == "invalid_chunks"
    ts = call("chat.startStream", **base, task_display_mode="plan", chunks=[plan, card])["ts"]
    cards = {"type": "blocks", "blocks": [{"type": "plan", "title": "P", "tasks": []}]}
    assert call("chat.appendStream", channel="C1", ts=ts, chunks=[cards])["error"] == (
        "invalid_chunks"
    )
    assert call("chat.stopStream", channel="C1", ts=ts)["ok"] is True
    assert call("chat.appendStream", channel="C1", ts=ts, chunks=[card])["error"] == (
        "message_not_in_streaming_state"
    )
    wrong = call("agents.sessions.setStatus", channel_id="C1", thread_ts="1.1", status="done")
    assert wrong["error"] == "invalid_arguments"
    assert len(slack.refused) == 6
    slack.refused.clear()  # refused on purpose: the fixture's check is for the app's calls


def test_a_stream_is_closed_and_a_new_one_started_before_slack_would_end_it(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    """Slack ends a stream minutes after it starts (about five, third-party reports): at four
    the sink closes it, its steps so far kept, and carries on in a new one with the step under
    way. The sink on its own clock, with the real store and the real Slack client."""
    now = [1_000.0]

    async def go() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack.url}/api/", session=session)
            sink = SlackTaskSink(
                client,
                BrowserUseClient(API_KEY, f"{browser_use.url}/api/v2"),
                store,
                SlackPace(),
                identity=BotIdentity(client),
                clock=lambda: now[0],
            )
            route = SlackRoute(
                team=TEAM_ID, channel="C77", thread_ts="1700000000.000100", user="U42"
            )
            await store.add_task(TaskRecord.from_route("t1", "s1", route))

            async def step(n: int, status: str = "started") -> None:
                task = TaskView.model_validate(
                    {
                        "id": "t1",
                        "sessionId": "s1",
                        "status": status,
                        "steps": [
                            {"number": k, "nextGoal": f"Goal {k}", "url": f"https://a.example/{k}"}
                            for k in range(1, n + 1)
                        ],
                    }
                )
                record = await store.task("t1")
                assert record is not None
                if task.ended:
                    await sink.finished(task, record)
                else:
                    await sink.progress(task, record, new_step=True)
                await asyncio.sleep(0.3)  # the pace sends it

            await step(1)
            now[0] += 100
            await step(2)  # the same stream
            now[0] += 150  # four minutes and more since it started
            await step(3)
            await step(3, status="finished")
            await sink.close()
        await store.close()

    asyncio.run(go())
    first, second = slack.streams_in("1700000000.000100")
    # The first keeps steps 1 and 2, closed with the session still working; the second goes on.
    assert {c["id"] for c in first.chunks if c["type"] == "task_update"} == {"step-1", "step-2"}
    assert not first.open and first.final["session_status"] == "processing"
    assert [c["status"] for c in first.chunks if c.get("id") == "step-2"][-1] == "complete"
    cards = [(c["id"], c["status"]) for c in second.chunks if c["type"] == "task_update"]
    assert cards[-1] == ("step-3", "complete") and ("step-3", "in_progress") in cards
    assert not second.open and second.final["session_status"] == "closed"
    assert slack.refused == []


def test_a_stream_waiting_for_its_start_leaves_the_step_to_the_status_message(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """Streams start at Tier 2 (about 20 a minute): a burst of new tasks waits for them, and
    meanwhile each waiting task's step is shown by an edit of its status message."""
    with own_app(SLACK_UPDATES_PER_MINUTE="50") as (_, sender):
        started = [start(sender, slack, browser_use, text=f"Task {n}") for n in range(5)]
        for one in started:
            browser_use.step(one.task_id, f"Goal of {one.task_id[:8]}")
        wait_for(lambda: len(slack.calls_to("chat.startStream")) >= 2, 5, "the first starts")
        waiting = [one for one in started if not slack.streams_in(one.thread_ts)]
        assert waiting, "every stream started at once: nothing waited"
        for one in waiting:
            goal = f"Goal of {one.task_id[:8]}"
            wait_for(
                lambda one=one, goal=goal: edited_with(slack, one, goal), 5, "an edit meanwhile"
            )
        # Each stream starts in its turn, and the status message then leaves the steps to it.
        last = waiting[-1]
        wait_for(lambda: slack.streams_in(last.thread_ts), 15, "its stream, later")
        wait_for(lambda: edited_with(slack, last, "below"), 5, "the status message's last edit")
        sender.settle()
        final = [c for c in slack.calls_to("chat.update") if c.args["ts"] == last.status_ts][-1]
        assert "below" in str(final.args["blocks"])
