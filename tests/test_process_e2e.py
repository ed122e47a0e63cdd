"""The process as a PaaS runs it: SIGTERM (a daily restart) finishes acknowledged work."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import OwnApp
from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack


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
        httpx.get(f"{process.url}/healthz", timeout=0.5)


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
