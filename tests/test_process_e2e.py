"""The process as a PaaS runs it: SIGTERM (a daily restart) finishes acknowledged work."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.app_process import AppProcess
from tests.conftest import app_env
from tests.fakes.browser_use import Behaviour, FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender


def test_sigterm_finishes_the_task_in_flight_then_exits_cleanly(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    slack.reset()
    browser_use.reset()
    process = AppProcess(app_env(slack, browser_use), tmp_path).start()
    try:
        browser_use.next_create(Behaviour(delay=1.0))
        sender = SlackSender(process.url, slack.response_url())
        assert sender.command("Check the weather in Porto").status_code == 200
        wait_for(lambda: browser_use.create_calls, 3, "the create call")
        assert process.proc is not None
        process.proc.terminate()  # mid-create
        reply = wait_for(
            lambda: [c for c in slack.posts() if c.args.get("thread_ts")], 10, "the thread reply"
        )
        assert "Task started" in reply[0].args["text"]
        code = process.proc.wait(10)
    finally:
        process.stop()
    assert code == 0
    assert "stopped" in process.logs()
    try:
        httpx.get(f"{process.url}/healthz", timeout=0.5)
        raise AssertionError("the app still answers after SIGTERM")
    except httpx.TransportError:
        pass


def test_the_admins_defaults_reach_every_task(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path
) -> None:
    slack.reset()
    browser_use.reset()
    env = {
        **app_env(slack, browser_use),
        "DEFAULT_LLM": "gpt-4.1-mini",
        "DEFAULT_MAX_STEPS": "12",
        "DEFAULT_ALLOWED_DOMAINS": "example.com",
    }
    process = AppProcess(env, tmp_path).start()
    try:
        sender = SlackSender(process.url, slack.response_url())
        sender.command("Read the front page")
        sender.command("Read the front page --model o3 --max-steps 3 --domains other.example")
        wait_for(lambda: len(browser_use.created) == 2, 5, "two tasks")
    finally:
        process.stop()
    bodies = sorted((c.body for c in browser_use.created), key=lambda b: b["llm"])
    assert [(b["llm"], b["maxSteps"], b["allowedDomains"]) for b in bodies] == [
        ("gpt-4.1-mini", 12, ["example.com"]),
        ("o3", 3, ["other.example"]),
    ]
