"""`/browser-use <task>` end to end: a signed command in, a task created, its thread answered."""

from __future__ import annotations

import json
import time

import pytest

from bot.models import SlackRoute
from tests.app_process import LOOPBACK, AppProcess
from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, signed_headers

TASK = "Find the three cheapest flights from Berlin to Lisbon next Friday"


def thread_replies(slack: FakeSlack, count: int = 1, timeout: float = 5.0) -> list:
    def replies() -> list:
        found = [c for c in slack.posts() if c.args.get("thread_ts")]
        return found if len(found) >= count else []

    return wait_for(replies, timeout, f"{count} thread repl(ies)")


def test_happy_path_creates_one_task_and_answers_in_its_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    response = sender.command(TASK, user_id="U42", channel_id="C77")
    assert response.status_code == 200
    assert response.text == ""  # nothing shown for the ack; the parent message says it all

    (reply,) = thread_replies(slack)
    parent = slack.posts()[0]
    assert parent.args["channel"] == "C77"
    assert "thread_ts" not in parent.args
    assert "<@U42>" in parent.args["text"] and TASK in parent.args["text"]

    assert browser_use.create_calls == 1
    (task,) = browser_use.created
    assert task.body["task"] == TASK
    assert browser_use.schema_errors == []
    # Only what the person set is sent, plus the Slack route in one metadata pair.
    assert set(task.body) == {"task", "metadata"}
    route = SlackRoute.from_metadata(task.body["metadata"])
    assert route is not None and route.request_id
    assert route.model_copy(update={"request_id": None}) == SlackRoute(
        team=TEAM_ID, channel="C77", thread_ts=reply.args["thread_ts"], user="U42"
    )

    assert reply.args["channel"] == "C77"
    assert task.id in reply.args["text"] and task.session_id in reply.args["text"]
    assert f"`{task.id}`" in str(reply.args["blocks"])  # code-formatted, easy to copy
    sender.settle()
    assert len(slack.posts()) == 2  # parent + one reply, nothing twice


def test_ack_does_not_wait_for_a_slow_browser_use(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.next_create(Behaviour(delay=5.0))
    started = time.monotonic()
    response = sender.command(TASK)
    ack_seconds = time.monotonic() - started
    assert response.status_code == 200
    assert ack_seconds < 1.0, f"ack took {ack_seconds:.2f}s while upstream takes 5s"
    # The app's own timeout (2 s in the tests) ends the wait, and the thread says so.
    (reply,) = thread_replies(slack, timeout=6)
    assert "did not answer in time" in reply.args["text"]
    assert time.monotonic() - started < 5.0


def test_the_task_text_is_escaped_and_long_text_shortened(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    # Slack sends mentions and links as markup, and typed `&<>` as entities.
    hostile = (
        "<!channel> look at <@U999> &amp; <https://evil.example|innocent> "
        "&lt;!here&gt; " + "x " * 400
    )
    sender.command(hostile)
    thread_replies(slack)
    parent = slack.posts()[0]
    shown = parent.args["text"] + str(parent.args["blocks"])
    for mention in ("<!channel>", "<!here>", "<@U999>", "<https://"):
        assert mention not in shown
    assert "&lt;!here&gt;" in parent.args["text"]
    assert parent.args["text"].endswith("…")
    assert all(b["text"]["verbatim"] for b in parent.args["blocks"] if "text" in b)
    # Browser Use gets the person's words as plain text, not Slack markup.
    assert (
        browser_use.created[0]
        .body["task"]
        .startswith("@channel look at @U999 & https://evil.example <!here> x")
    )


@pytest.mark.parametrize("text", ["help", "  HELP  ", "--help"])
def test_help_answers_ephemerally_and_creates_nothing(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, text: str
) -> None:
    response = sender.command(text)
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "/browser-use <what the browser should do> [options]" in body["text"]
    sender.settle()
    assert browser_use.create_calls == 0
    assert slack.posts() == []


def test_bad_signature_and_stale_timestamp_are_refused(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    body = sender.command_body(TASK)
    forged = sender.post(body, signed_headers(body, secret="not-the-secret"))
    stale = sender.post(body, signed_headers(body, timestamp=int(time.time()) - 6 * 60))
    unsigned = sender.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert [forged.status_code, stale.status_code, unsigned.status_code] == [401, 401, 401]
    sender.settle()
    assert browser_use.create_calls == 0
    assert slack.posts() == []


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_a_channel_the_bot_cannot_post_in_still_gets_the_ids(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, error: str
) -> None:
    slack.block_channel("CPRIVATE", error)
    sender.command(TASK, channel_id="CPRIVATE")
    (answer,) = wait_for(lambda: slack.responses, 5, "a response_url answer")
    (task,) = browser_use.created
    assert answer.args["response_type"] == "ephemeral"
    assert task.id in answer.args["text"] and task.session_id in answer.args["text"]
    assert "/invite" in str(answer.args["blocks"])
    route = SlackRoute.from_metadata(task.body["metadata"])
    assert route is not None and route.thread_ts is None


def test_healthz(app: AppProcess) -> None:

    assert LOOPBACK.get(f"{app.url}/healthz").json() == {"ok": True, "in_flight": 0, "reading": 0}


def test_slack_can_verify_the_events_url(sender: SlackSender) -> None:
    """Creating the app from the manifest makes Slack send this challenge once."""
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aB", "type": "url_verification"})
    response = sender.post(body, signed_headers(body, content_type="application/json"))
    assert response.status_code == 200
    assert "3eZbrw1aB" in response.text
