"""Slack's agent experience: the Messages tab, a live status while the browser works, the steps as
a plan in the status message."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handlers.ids import SUGGESTED_PROMPTS
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender
from tests.test_conversations_e2e import created_count, new_ts


def dm(sender: SlackSender, text: str, *, thread_ts: str | None = None) -> str:
    ts = new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "channel_type": "im",
        "user": "U42",
        "channel": "D042",
        "ts": ts,
        "text": text,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    assert sender.event(event).status_code == 200
    return ts


def test_opening_the_messages_tab_sets_the_suggested_prompts_without_a_thread(
    sender: SlackSender, slack: FakeSlack
) -> None:
    sender.event({"type": "app_home_opened", "user": "U42", "channel": "D042", "tab": "messages"})
    (call,) = wait_for(lambda: slack.calls_to("assistant.threads.setSuggestedPrompts"), 5)
    assert call.args["channel_id"] == "D042"
    assert "thread_ts" not in call.args  # with one, Slack drops the prompts silently
    assert call.args["prompts"] == [dict(p) for p in SUGGESTED_PROMPTS]
    assert slack.calls_to("views.publish") == []  # the Home tab is another tab


def test_each_top_level_dm_is_a_conversation_with_its_own_browser(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first = dm(sender, "find the opening hours of the Louvre")
    (one,) = created_count(browser_use, 1)
    browser_use.finish(one.id)
    wait_for(lambda: [c for c in slack.in_thread(first) if "Finished" in c.args["text"]], 5)
    dm(sender, "and its ticket prices", thread_ts=first)  # a reply: same conversation
    two = created_count(browser_use, 2)[1]
    assert two.body["sessionId"] == one.body["sessionId"]
    browser_use.finish(two.id)
    dm(sender, "what is the weather in Lisbon")  # a new top-level DM: a new conversation
    three = created_count(browser_use, 3)[2]
    assert three.body["sessionId"] != one.body["sessionId"]


def statuses(slack: FakeSlack, thread_ts: str) -> list[Any]:
    return [
        c
        for c in slack.calls_to("assistant.threads.setStatus")
        if c.args.get("thread_ts") == thread_ts
    ]


@pytest.mark.slow
def test_a_running_task_shows_a_live_status_refreshed_until_its_result(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    refresh = 0.5  # seconds; production's is 90 (Slack drops a status after 2 minutes)
    with own_app(STATUS_REFRESH_SECONDS=str(refresh)) as (_, sender):
        sender.command("Check the price of the Sony WH-1000XM5")
        (task,) = created_count(browser_use, 1)
        parent = wait_for(lambda: [c for c in slack.posts() if not c.args.get("thread_ts")], 5)
        thread = parent[0].answer["ts"]
        (first,) = wait_for(lambda: statuses(slack, thread), 5, "the status at the start")
        assert first.args["status"] == "is starting a browser…"

        browser_use.step(task.id, "Open the product page", "https://www.amazon.com/dp/B0")
        browsing = wait_for(
            lambda: [c for c in statuses(slack, thread) if "amazon" in c.args["status"]], 5
        )
        assert browsing[0].args["status"] == "is browsing www.amazon.com…"
        assert browsing[0].args["loading_messages"][0] == "Open the product page"
        edits = len(slack.calls_to("chat.update"))
        # No new step for a while: the same status is sent again, each refresh period.
        wait_for(
            lambda: len([c for c in statuses(slack, thread) if "amazon" in c.args["status"]]) >= 3,
            10 * refresh,
            "the status sent again",
        )
        assert len(slack.calls_to("chat.update")) == edits  # the message is not edited for it

        browser_use.finish(task.id)
        (result,) = wait_for(
            lambda: [c for c in slack.in_thread(thread) if c.args["text"].startswith("<@U123>")],
            5,
        )
        sender.settle()  # a refresh would come from a read of the task still under way
    # Slack clears the status when the app posts in the thread; nothing sets it again after.
    assert all(c.at < result.at for c in statuses(slack, thread))


def test_where_slack_will_not_stream_the_status_message_shows_the_steps_as_a_plan(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.fail_next("chat.startStream", "not_allowed_token_type")
    sender.command("Compare three laptops")
    (task,) = created_count(browser_use, 1)
    browser_use.step(task.id, "Search for laptops", "https://shop.example/search")
    browser_use.step(task.id, "Open the <!here> first result", "https://shop.example/1")

    def plans() -> list[dict[str, Any]]:
        return [
            block
            for call in slack.calls_to("chat.update")
            for block in call.args.get("blocks") or []
            if block.get("type") == "plan" and len(block["tasks"]) == 2
        ]

    plan = wait_for(plans, 5, "a plan with both steps")[-1]
    assert [c["status"] for c in plan["tasks"]] == ["complete", "in_progress"]
    assert plan["tasks"][1]["title"] == "2. Open the @here first result"
    # Slack accepted every message: the stand-in refuses invalid plan and task_card blocks.
    assert slack.refused == []
    # Refused once, the task is not streamed again: every step is an edit.
    assert len(slack.calls_to("chat.startStream")) == 1 and slack.streams == {}


def click(sender: SlackSender, result: Any, action_id: str, user: str) -> None:
    """A click on a button of the result message, as Slack sends it."""
    (value,) = [
        e["value"]
        for b in result.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]
    response = sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": "T0TEST"},
            "user": {"id": user},
            "channel": {"id": result.args["channel"]},
            "trigger_id": f"7.{new_ts()}",
            "response_url": sender.response_url,
            "message": {
                "ts": result.answer["ts"],
                "thread_ts": result.args.get("thread_ts"),
                "text": result.args["text"],
            },
            "actions": [
                {"action_id": action_id, "value": value, "type": "button", "action_ts": new_ts()}
            ],
        }
    )
    assert response.status_code == 200


FULL = (
    "Find the cheapest flight to Lisbon --url https://flights.example --model gpt-4.1 "
    "--max-steps 30 --domains flights.example --flash --vision off --proxy de "
    "--screen 1280x800 --metadata team=ops"
)


def finished_result(sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse) -> Any:
    sender.command(FULL)
    (task,) = created_count(browser_use, 1)
    browser_use.finish(task.id, output="EUR 89")
    return wait_for(
        lambda: [c for c in slack.posts() if c.args["text"].startswith("<@U123> Finished")],
        5,
        "the result",
    )[0]


def test_run_again_starts_the_same_task_in_the_same_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    result = finished_result(sender, slack, browser_use)
    first = browser_use.created[0]
    click(sender, result, "run_again", "U123")
    second = created_count(browser_use, 2)[1]
    body = {k: v for k, v in second.body.items() if k != "metadata"}
    assert body == {k: v for k, v in first.body.items() if k != "metadata"}
    assert second.body["metadata"]["team"] == "ops"
    thread = result.args["thread_ts"]
    wait_for(lambda: [c for c in slack.in_thread(thread) if second.id in c.args["text"]], 5)
    assert [c for c in slack.in_thread(thread) if "running this task again" in c.args["text"]]
    sender.settle()
    assert browser_use.create_calls == 2  # one click, one task


def test_change_and_run_opens_the_form_with_every_option_and_no_secret(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    result = finished_result(sender, slack, browser_use)
    click(sender, result, "change_and_run", "U123")
    (call,) = wait_for(lambda: slack.calls_to("views.open"), 5, "the form")
    view = call.args["view"]
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        or (b["element"].get("initial_option") or {}).get("value")
        or [o["value"] for o in b["element"].get("initial_options") or []]
        for b in view["blocks"]
        if b["type"] == "input"
    }
    assert initial["task"] == "Find the cheapest flight to Lisbon"
    assert initial["start_url"] == "https://flights.example"
    assert (initial["llm"], initial["max_steps"]) == ("gpt-4.1", "30")
    assert initial["allowed_domains"] == "flights.example"
    assert initial["switches"] == ["flash_mode"]
    assert (initial["vision"], initial["proxy_country_code"]) == ("off", "de")
    assert (initial["browser_screen_width"], initial["browser_screen_height"]) == ("1280", "800")
    assert initial["metadata"] == "team=ops"
    assert initial["secrets"] == []  # never kept, typed again
    assert "slack=" not in str(initial)  # the app's own metadata is not shown


def test_someone_else_may_not_run_it_again(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    result = finished_result(sender, slack, browser_use)
    click(sender, result, "run_again", "U999")
    click(sender, result, "change_and_run", "U999")
    told = wait_for(lambda: slack.calls_to("chat.postEphemeral")[1:], 5, "two refusals")
    assert all("Only <@U123> (who asked) or an admin" in c.args["text"] for c in told)
    sender.settle()
    assert browser_use.create_calls == 1 and slack.calls_to("views.open") == []
    click(sender, result, "run_again", "UADMIN")  # an admin may
    created_count(browser_use, 2)


def test_many_tasks_starting_in_a_minute_keep_the_live_status_within_slacks_pace(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    """Each new task's first "is browsing…" status went to Slack at once, past the pace its
    later ones keep: 20 tasks in a minute made 51 setStatus calls (Tier 3: ~50)."""
    with own_app(SLACK_UPDATES_PER_MINUTE="6") as (_, sender):  # a call every 10 s
        for i in range(8):
            sender.command(f"Check the page number {i}", channel_id="C3")
        wait_for(lambda: len(browser_use.created) == 8, 10, "eight tasks")
        time.sleep(1)
        sender.settle()
    assert len(slack.calls_to("assistant.threads.setStatus")) <= 2
