"""The task form and the shortcuts: listener tests, through the real app in this process
(`tests.in_process`: signed requests through Bolt's `async_dispatch`, the stand-ins over HTTP)."""

from __future__ import annotations

import json

import pytest

from handlers.ids import Action, Block, Callback
from tests.conftest import wiped
from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.in_process import InProcessApp, InProcessSender
from tests.slack_requests import SlackSender, view_submission

SECRET = "sentinel-s3cr3t-7f2a9c"


@pytest.fixture
def app(in_process: InProcessApp, slack: FakeSlack, browser_use: FakeBrowserUse) -> InProcessApp:
    """The app in this process, ready for this test (`wiped`)."""
    return wiped(in_process, slack, browser_use)


@pytest.fixture
def sender(app: InProcessApp, slack: FakeSlack) -> SlackSender:
    return InProcessSender(app, slack.response_url())


def opened_view(slack: FakeSlack, method: str = "views.open") -> dict:
    (call,) = wait_for(lambda: slack.calls_to(method), 5, method)
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def thread_replies(slack: FakeSlack) -> list:
    return wait_for(
        lambda: [c for c in slack.posts() if c.args.get("thread_ts") and "Task" in c.args["text"]],
        5,
        "the thread reply",
    )


def more_options(
    sender: SlackSender, slack: FakeSlack, view: dict, entered: dict | None = None
) -> dict:
    """Click "More options…" in `view` (with `entered` typed so far); the view Slack then shows."""
    payload = view_submission(view, entered or {}, view_id="V0TEST")
    payload.update(
        type="block_actions",
        container={"type": "view", "view_id": "V0TEST"},
        actions=[
            {
                "action_id": Action.MORE_OPTIONS,
                "block_id": Action.MORE_OPTIONS,
                "type": "button",
                "action_ts": "1.2",
            }
        ],
    )
    before = len(slack.calls_to("views.update"))
    assert sender.interactive(payload).status_code == 200
    wait_for(lambda: len(slack.calls_to("views.update")) > before, 5, "views.update")
    view = slack.calls_to("views.update")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_the_command_alone_opens_the_form_in_that_channel(
    sender: SlackSender, slack: FakeSlack
) -> None:
    response = sender.command("", channel_id="C55", trigger_id="13345224609.7384.8088930838d")
    assert response.status_code == 200 and response.text == ""
    (call,) = wait_for(lambda: slack.calls_to("views.open"), 5, "views.open")
    assert call.args["trigger_id"] == "13345224609.7384.8088930838d"
    view = opened_view(slack)
    assert view["callback_id"] == "task_form"
    assert json.loads(view["private_metadata"]) == {"channel_id": "C55"}


def test_more_options_updates_the_view_in_place(sender: SlackSender, slack: FakeSlack) -> None:
    sender.command("form")
    view = opened_view(slack)
    more = more_options(sender, slack, view, {"task": "typed so far"})
    (update,) = slack.calls_to("views.update")
    assert update.args["view_id"] == "V0TEST" and update.args["hash"] == "156772938.1827394"
    assert "secrets" in [b.get("block_id") for b in more["blocks"]]
    assert "typed so far" not in json.dumps(more)  # Slack keeps typed values itself


def test_a_form_with_mistakes_answers_under_the_fields_and_creates_nothing(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.command("")
    view = opened_view(slack)
    response = sender.interactive(
        view_submission(view, {"task": "Go", "max_steps": "0", "start_url": "ftp://x.example"})
    )
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"max_steps", "start_url"}
    sender.settle()
    assert browser_use.create_calls == 0 and slack.posts() == []


def test_a_valid_form_creates_one_task_with_exactly_the_options_chosen(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.command("", channel_id="C9")
    view = more_options(sender, slack, opened_view(slack))
    response = sender.interactive(
        view_submission(
            view,
            {
                "task": "Find a hotel in Porto under 120 EUR",
                "llm": "gpt-4.1",
                "max_steps": "25",
                "allowed_domains": "booking.com",
                "switches": ["flash_mode"],
                "proxy_country_code": "pt",
                "secrets": f"password={SECRET}",
            },
            user_id="U7",
        )
    )
    assert response.status_code == 200 and response.text == ""  # the form closes
    (reply,) = thread_replies(slack)
    (task,) = browser_use.created
    assert browser_use.schema_errors == []
    assert {k: v for k, v in task.body.items() if k != "metadata"} == {
        "task": "Find a hotel in Porto under 120 EUR",
        "llm": "gpt-4.1",
        "maxSteps": 25,
        "allowedDomains": ["booking.com"],
        "flashMode": True,
        "sessionSettings": {"proxyCountryCode": "pt"},
        "secrets": {"password": SECRET},
    }
    parent = slack.posts()[0]
    assert parent.args["channel"] == "C9" and "<@U7>" in parent.args["text"]
    summary = str(parent.args["blocks"])
    assert "model `gpt-4.1`" in summary and "1 secret passed" in summary
    assert reply.args["thread_ts"] == task.body["metadata"]["slack"].split("/")[2]


def test_run_in_browser_answers_in_the_messages_thread(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    message = {
        "type": "message",
        "user": "U5",
        "ts": "1700000500.000200",
        "thread_ts": "1700000400.000100",
        "text": "Can someone check <https://status.example.com|the status page> for <@U9>? &lt;3",
    }
    assert (
        sender.interactive(
            {
                "type": "message_action",
                "callback_id": Callback.RUN_IN_BROWSER,
                "trigger_id": "9.9.9",
                "team": {"id": TEAM_ID},
                "user": {"id": "U1"},
                "channel": {"id": "C3", "name": "ops"},
                "message": message,
                "message_ts": message["ts"],
                "response_url": slack.response_url(),
                "action_ts": "1.1",
                "token": "t",
            }
        ).status_code
        == 200
    )
    view = opened_view(slack)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["task"]["element"]["initial_value"] == (
        "Can someone check https://status.example.com for @U9? <3"
    )
    assert by_id["start_url"]["element"]["initial_value"] == "https://status.example.com"

    sender.interactive(view_submission(view, {}, user_id="U1"))
    (reply,) = thread_replies(slack)
    asked = slack.posts()[0]
    assert asked.args["channel"] == "C3" and asked.args["thread_ts"] == "1700000400.000100"
    assert reply.args["thread_ts"] == "1700000400.000100"
    assert browser_use.created[0].body["startUrl"] == "https://status.example.com"


def test_new_browser_task_asks_where_and_posts_there(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    sender.interactive(
        {
            "type": "shortcut",
            "callback_id": Callback.NEW_BROWSER_TASK,
            "trigger_id": "8.8",
            "team": {"id": TEAM_ID},
            "user": {"id": "U1"},
            "action_ts": "1.1",
            "token": "t",
        }
    )
    view = opened_view(slack)
    urls = [
        {
            "block_id": Block.CHANNEL,
            "action_id": "value",
            "channel_id": "C42",
            "response_url": slack.response_url("picked"),
        }
    ]
    sender.interactive(
        view_submission(view, {"task": "Ping the site", Block.CHANNEL: "C42"}, response_urls=urls)
    )
    (reply,) = thread_replies(slack)
    assert slack.posts()[0].args["channel"] == "C42" and reply.args["channel"] == "C42"
    assert len(browser_use.created) == 1


def test_without_a_thread_or_response_url_the_person_gets_a_dm(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.block_channel("CSECRET", "channel_not_found")
    sender.command("", channel_id="CSECRET")
    sender.interactive(view_submission(opened_view(slack), {"task": "Check it"}, user_id="U8"))
    (dm,) = wait_for(lambda: [c for c in slack.posts() if c.args["channel"] == "U8"], 5, "a DM")
    assert browser_use.created[0].id in dm.args["text"]
    assert "/invite" in str(dm.args["blocks"])


def test_a_secret_appears_in_no_slack_call_and_no_log_line(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, app: InProcessApp
) -> None:
    # Browser Use refuses and echoes the secret back: the echo must not reach Slack either.
    browser_use.next_create(Behaviour(422, {"detail": f"secret {SECRET} rejected"}))
    sender.command("")
    view = more_options(sender, slack, opened_view(slack))
    sender.interactive(view_submission(view, {"task": "Log in", "secrets": f"pw={SECRET}"}))
    wait_for(lambda: slack.calls_to("chat.update"), 5, "the not-started update")
    sender.command("", channel_id="C2")
    wait_for(lambda: len(slack.calls_to("views.open")) == 2, 5, "the second form")
    sender.interactive(
        view_submission(view, {"task": "Log in again", "secrets": f"pw={SECRET}\nuser {SECRET}"})
    )
    sender.interactive(
        view_submission(view, {"task": "And once more", "secrets": f"token={SECRET}"})
    )
    wait_for(lambda: len(browser_use.created) == 1, 5, "the created task")
    thread_replies(slack)
    app.settle()
    assert browser_use.created[0].body["secrets"] == {"token": SECRET}
    assert SECRET not in slack.everything_sent()
    # The log holds every line of the app and of the Slack SDK (which logs bodies at DEBUG).
    assert "task.created" in app.logs() and "slack_sdk" in app.logs()
    assert SECRET not in app.logs()
    assert "[secret]" in slack.everything_sent()


def test_a_session_id_from_the_form_reaches_browser_use(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    session = browser_use.open_session()
    sender.command("")
    view = more_options(sender, slack, opened_view(slack))
    sender.interactive(view_submission(view, {"task": "Go on", "session_id": session}))
    thread_replies(slack)
    assert browser_use.created[0].body["sessionId"] == session
