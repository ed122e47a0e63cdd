"""The process as a PaaS runs it: SIGTERM (a daily restart) finishes acknowledged work."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from tests.app_process import LOOPBACK
from tests.conftest import OwnApp
from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import APP_TOKEN, FakeSlack


def test_sigterm_finishes_the_task_in_flight_then_exits_cleanly(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        browser_use.next_create(Behaviour(delay=1.0))
        assert sender.command("Check the weather in Porto").status_code == 200
        wait_for(lambda: browser_use.create_calls, 3, "the create call")
        assert process.proc is not None
        process.proc.terminate()  # mid-create
        reply = wait_for(
            lambda: [c for c in slack.posts() if c.args.get("thread_ts")], 10, "the thread reply"
        )
        assert "Task started" in reply[0].args["text"]
        assert process.proc.wait(10) == 0
    assert "stopped" in process.logs()
    with pytest.raises(httpx.TransportError):
        LOOPBACK.get(f"{process.url}/healthz", timeout=0.5)


def test_the_admins_defaults_reach_every_task(own_app: OwnApp, browser_use: FakeBrowserUse) -> None:
    defaults = {
        "DEFAULT_LLM": "gpt-4.1-mini",
        "DEFAULT_MAX_STEPS": "12",
        "DEFAULT_ALLOWED_DOMAINS": "example.com",
    }
    with own_app(**defaults) as (_, sender):
        sender.command("Read the front page")
        sender.command("Read the front page --model o3 --max-steps 3 --domains other.example")
        wait_for(lambda: len(browser_use.created) == 2, 5, "two tasks")
    bodies = sorted((c.body for c in browser_use.created), key=lambda b: b["llm"])
    assert [(b["llm"], b["maxSteps"], b["allowedDomains"]) for b in bodies] == [
        ("gpt-4.1-mini", 12, ["example.com"]),
        ("o3", 3, ["other.example"]),
    ]


def test_socket_mode_runs_the_same_command_without_a_public_url(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(SLACK_APP_TOKEN=APP_TOKEN) as (process, sender):
        wait_for(lambda: slack.sockets, 10, "the Socket Mode connection")
        # Socket Mode requests are not signed, so nothing Slack-shaped is served over HTTP.
        assert LOOPBACK.get(f"{process.url}/healthz").json() == {
            "ok": True,
            "in_flight": 0,
            "reading": 0,
        }
        body = sender.command_body("Check the opening hours", user_id="U42", channel_id="C77")
        assert LOOPBACK.post(f"{process.url}/slack/events", content=body).status_code == 404

        payload = dict(parse_qsl(body))
        envelope_id = slack.send_envelope("slash_commands", payload)
        wait_for(
            lambda: [a for a in slack.socket_acks if a["envelope_id"] == envelope_id],
            5,
            "the ack over the socket",
        )
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        assert task.body["task"] == "Check the opening hours"
        reply = wait_for(
            lambda: [c for c in slack.posts() if c.args.get("thread_ts")], 5, "the thread reply"
        )
        assert task.id in reply[0].args["text"]
