"""Every way Browser Use can fail a create, as the person who asked sees it in the thread."""

from __future__ import annotations

import pytest

from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender

CONCURRENCY = (
    "Too many concurrent active sessions. Please wait for one to finish, kill one, or upgrade "
    "your plan."
)

FAILURES = {
    "401 bad key": (Behaviour(401, {"detail": "Invalid API key"}), "rejected the API key"),
    "402 no credits": (Behaviour(402, {"detail": "Insufficient credits"}), "out of credits"),
    "402 spend cap": (
        Behaviour(
            402,
            {
                "detail": {
                    "code": "api_key_monthly_spend_limit_reached",
                    "message": "API key monthly spend limit reached",
                    "cap": 50,
                    "spent": 50.2,
                }
            },
        ),
        "monthly spend limit",
    ),
    "429 concurrency": (Behaviour(429, {"detail": CONCURRENCY}), "Too many browser sessions"),
    "429 long rate limit": (
        Behaviour(
            429,
            {"error": "rate_limited", "limit_rps": 25, "retry_after_seconds": 300},
            headers={"Retry-After": "300"},
        ),
        "Try again in 300 seconds",
    ),
    "422 list": (
        Behaviour(
            422,
            {
                "detail": [
                    {"loc": ["body", "startUrl"], "msg": "URL not allowed", "type": "value_error"}
                ]
            },
        ),
        "refused the task: startUrl: URL not allowed",
    ),
    "422 flat": (
        Behaviour(422, {"loc": ["body", "maxSteps"], "msg": "too many", "type": "value_error"}),
        "refused the task: maxSteps: too many",
    ),
    "400 busy session": (
        Behaviour(400, {"detail": "Agent session already has a running task."}),
        "still working on a previous task",
    ),
    "400 stopped session": (
        Behaviour(400, {"detail": "Browser session is stopped."}),
        "refused the task: Browser session is stopped.",
    ),
    "500": (Behaviour(500, {"detail": "An internal server error occurred"}), "on its side"),
    "503 html": (Behaviour(503, raw="<html>Service Unavailable</html>"), "on its side"),
    "timeout": (Behaviour(hang=True), "did not answer in time"),
    "connection dropped": (Behaviour(drop=True), "network error"),
}


def posts_here(slack: FakeSlack, channel: str = "C123") -> list:
    """The posts in this module's channel: the suite's shared app may still be finishing an
    earlier test's task elsewhere (its status message can land after this test's reset)."""
    return [c for c in slack.posts() if c.args.get("channel") == channel]


def replies_in_thread(slack: FakeSlack) -> list:
    return [c for c in posts_here(slack) if c.args.get("thread_ts")]


@pytest.mark.parametrize("name", list(FAILURES))
def test_each_failure_is_told_once_in_the_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, name: str
) -> None:
    behaviour, expected = FAILURES[name]
    browser_use.next_create(behaviour)
    sender.command("Book a table for two at 8pm")

    (reply,) = wait_for(lambda: replies_in_thread(slack), 8, "the failure reply")
    assert "The task did not start" in reply.args["text"]
    assert expected in reply.args["text"]
    (update,) = wait_for(lambda: slack.calls_to("chat.update"), 3, "the parent update")
    assert update.args["ts"] == reply.args["thread_ts"]
    assert "did not start" in update.args["text"] or "did not start" in str(update.args)
    sender.settle()
    assert browser_use.create_calls == 1, "POST /tasks must never be re-sent"
    assert len(posts_here(slack)) == 2  # parent + one failure reply


@pytest.mark.parametrize("name", ["timeout", "connection dropped", "500", "503 html"])
def test_an_unknown_outcome_is_checked_and_a_missing_task_is_said_to_be_safe_to_retry(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, name: str
) -> None:
    browser_use.next_create(FAILURES[name][0])
    sender.command("Book a table for two at 8pm")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 8, "the failure reply")
    assert "no task was created, so it is safe to try again" in reply.args["text"]
    assert browser_use.created == [] and browser_use.create_calls == 1


@pytest.mark.parametrize(
    "lost",
    [
        Behaviour(created=True, hang=True),
        Behaviour(created=True, drop=True),
        Behaviour(502, {"detail": "Bad Gateway"}, created=True),
        Behaviour(202, raw="{not json"),
    ],
    ids=["timeout", "reset", "502", "malformed JSON"],
)
def test_a_task_created_whose_answer_was_lost_is_found_not_created_again(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, lost: Behaviour
) -> None:
    browser_use.next_create(lost)
    sender.command("Book a table for two at 8pm")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 8, "the thread reply")
    (task,) = browser_use.created
    assert "Task started" in reply.args["text"] and task.id in reply.args["text"]
    assert browser_use.create_calls == 1
    # The parent never says "did not start" (the status message in the thread may be edited
    # as the tracker follows the task: a race the old assertion lost now and then).
    parent_ts = reply.args["thread_ts"]
    assert [c for c in slack.calls_to("chat.update") if c.args["ts"] == parent_ts] == []


def test_when_the_check_fails_too_the_person_is_told_to_look_first(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.next_create(Behaviour(500, {"detail": "An internal server error occurred"}))
    browser_use.list_failures = 20
    sender.command("Book a table for two at 8pm")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 10, "the failure reply")
    assert "could not check whether the task was created" in reply.args["text"]
    assert browser_use.create_calls == 1


def test_a_short_rate_limit_is_waited_out_once(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.next_create(Behaviour(429, {"error": "rate_limited"}, headers={"Retry-After": "1"}))
    sender.command("Book a table for two at 8pm")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 6, "the thread reply")
    assert "Task started" in reply.args["text"]
    assert browser_use.create_calls == 2 and len(browser_use.created) == 1


def test_a_server_detail_cannot_mention_anyone(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.next_create(Behaviour(422, {"detail": "bad <!channel> <@U1> value"}))
    sender.command("Book a table")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 6, "the failure reply")
    assert "<!channel>" not in str(reply.args) and "<@U1>" not in str(reply.args)
    assert "&lt;!channel&gt;" in reply.args["text"]


def test_a_failure_where_the_bot_cannot_post_goes_to_the_person(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.block_channel("CDM", "channel_not_found")
    browser_use.next_create(Behaviour(402, {"detail": "Insufficient credits"}))
    sender.command("Book a table", channel_id="CDM")
    (answer,) = wait_for(lambda: slack.responses, 5, "a response_url answer")
    assert answer.args["response_type"] == "ephemeral"
    assert "out of credits" in answer.args["text"]
    assert browser_use.create_calls == 1


def test_slack_rate_limiting_a_post_is_retried_not_duplicated(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=1)
    sender.command("Book a table")
    (reply,) = wait_for(lambda: replies_in_thread(slack), 6, "the thread reply")
    assert "Task started" in reply.args["text"]
    parents = [c for c in posts_here(slack) if not c.args.get("thread_ts")]
    assert len(parents) == 2  # the refused attempt and the one Slack took
    assert browser_use.create_calls == 1
