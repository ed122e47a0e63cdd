"""The Workflow Builder step: a signed `function_executed` in, the step completed when the task
ends, exactly once, with every output."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.app_process import AppProcess
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender
from tests.test_logins_e2e import every_row

PROFILE = str(uuid.uuid4())
INPUTS = {
    "task": "File the expense report in the finance portal",
    "start_url": "https://finance.example/expenses",
    "model": "gpt-4.1",
    "max_steps": 25,
    "allowed_domains": "finance.example",
    "structured_output": '{"type": "object", "properties": {"ref": {"type": "string"}}}',
    "profile_id": PROFILE,
    "channel": "C88",
    "notify": "U42",
}


def step_event(inputs: dict[str, Any], token: str) -> tuple[dict[str, Any], str]:
    """A `function_executed` event as Slack sends it, and its execution ID."""
    execution_id = f"Fx{uuid.uuid4().hex[:10].upper()}"
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0TEST",
            "callback_id": "run_browser_task",
            "title": "Run a browser task",
            "app_id": "A0TEST",
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": f"Wx{uuid.uuid4().hex[:10].upper()}",
        "event_ts": f"{time.time():.6f}",
        "bot_access_token": token,
    }, execution_id


def run_step(
    sender: SlackSender, slack: FakeSlack, inputs: dict[str, Any] = INPUTS
) -> tuple[str, str]:
    """Send the step's event with a fresh execution token; (execution ID, token)."""
    token = f"xwfp-{uuid.uuid4().hex}"
    slack.workflow_tokens.add(token)
    event, execution_id = step_event(inputs, token)
    assert sender.event(event).status_code == 200
    return execution_id, token


def completions(slack: FakeSlack, execution_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every completion Slack accepted for the execution: (method, arguments)."""
    found = []
    for method in ("functions.completeSuccess", "functions.completeError"):
        for call in slack.succeeded(method):
            if call.args.get("function_execution_id") == execution_id:
                found.append((method, call.args))
    return found


def test_a_step_runs_a_task_and_completes_with_every_output(
    app: AppProcess, sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    execution_id, token = run_step(sender, slack)
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    assert task.body["task"] == INPUTS["task"]
    assert task.body["startUrl"] == "https://finance.example/expenses"
    assert (task.body["llm"], task.body["maxSteps"]) == ("gpt-4.1", 25)
    assert task.body["allowedDomains"] == ["finance.example"]
    assert json.loads(task.body["structuredOutput"])["properties"]["ref"] == {"type": "string"}
    assert task.body["sessionSettings"] == {"profileId": PROFILE}
    assert browser_use.schema_errors == []
    parent = wait_for(lambda: [c for c in slack.posts() if c.args["channel"] == "C88"], 5)[0]
    assert "A workflow asked the browser for <@U42>" in parent.args["text"]
    assert completions(slack, execution_id) == []  # not before the task ends

    browser_use.step(task.id, "Open the form")
    browser_use.finish(task.id, output='{"ref": "EXP-118"}', cost="0.0420")
    (done,) = wait_for(lambda: completions(slack, execution_id), 5, "the completion")
    method, args = done
    assert method == "functions.completeSuccess"
    outputs = json.loads(args["outputs"]) if isinstance(args["outputs"], str) else args["outputs"]
    assert outputs == {
        "output": '{"ref": "EXP-118"}',
        "structured_output": '{"ref": "EXP-118"}',
        "success": True,
        "task_id": task.id,
        "session_id": task.session_id,
        "share_url": outputs["share_url"],
        "steps": 1,
        "cost": "0.0420",
    }
    assert outputs["share_url"].startswith("https://")
    assert browser_use.shares == [task.session_id]  # a public replay, made for the output
    result = wait_for(
        lambda: [c for c in slack.in_thread(parent.answer["ts"]) if "Finished" in c.args["text"]],
        5,
        "the result in the thread",
    )
    assert result[0].args["text"].startswith("<@U42>")
    sender.settle()  # a second completion would come from a read of the task under way
    assert len(completions(slack, execution_id)) == 1
    assert token not in app.logs()  # the execution's token is a secret too
    assert token not in every_row(app.workdir / "data" / "bot.db")  # kept in memory alone


@pytest.mark.parametrize("status", ["failed", "stopped"])
def test_a_failed_or_stopped_task_fails_the_step(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse, status: str
) -> None:
    execution_id, _ = run_step(sender, slack)
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    browser_use.step(task.id, "Log in", "https://finance.example/login")
    browser_use.finish(task.id, status, output=None, is_success=False)
    ((method, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the failure")
    assert method == "functions.completeError"
    assert f"The browser task {status} at step 1 on https://finance.example/login" in args["error"]
    assert task.id in args["error"]


@pytest.mark.parametrize(
    ("inputs", "complaint"),
    [
        ({"task": "  "}, "Say what the browser should do"),
        ({"task": "x", "max_steps": 0}, "max_steps: Max steps must be from 1 to 10000"),
        ({"task": "x", "start_url": "ftp://x"}, "start_url: The start URL must start with"),
        ({"task": "x", "model": "gpt-9"}, "model: Unknown model `gpt-9`"),
        ({"task": "x", "structured_output": "{nope"}, "not valid JSON"),
    ],
)
def test_a_bad_input_fails_the_step_at_once_with_the_forms_message(
    sender: SlackSender,
    slack: FakeSlack,
    browser_use: FakeBrowserUse,
    inputs: dict[str, Any],
    complaint: str,
) -> None:
    execution_id, _ = run_step(sender, slack, inputs)
    ((method, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the failure")
    assert method == "functions.completeError"
    assert complaint in args["error"]
    assert browser_use.create_calls == 0


def test_a_step_delivered_twice_runs_once(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    token = f"xwfp-{uuid.uuid4().hex}"
    slack.workflow_tokens.add(token)
    event, _ = step_event(INPUTS, token)
    sender.event(event)
    sender.event(event, retry=1)  # Slack re-delivers it
    wait_for(lambda: browser_use.created, 5, "the task")
    sender.settle()
    assert browser_use.create_calls == 1


def test_an_expired_execution_token_falls_back_to_the_bot_token(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    execution_id, token = run_step(sender, slack, {"task": "Check the status page"})
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    slack.workflow_tokens.discard(token)  # the task outlived the token (15 minutes)
    browser_use.finish(task.id)
    ((method, _),) = wait_for(lambda: completions(slack, execution_id), 5, "the completion")
    assert method == "functions.completeSuccess"
    refused = [c for c in slack.calls_to(method) if not c.answer.get("ok")]
    assert [c.answer["error"] for c in refused] == ["token_expired"]


def test_a_step_with_no_channel_and_nobody_to_notify_posts_nothing(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    execution_id, _ = run_step(sender, slack, {"task": "Check the status page"})
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    browser_use.finish(task.id, output="All systems operational")
    ((_, args),) = wait_for(lambda: completions(slack, execution_id), 5, "the completion")
    outputs = json.loads(args["outputs"]) if isinstance(args["outputs"], str) else args["outputs"]
    assert outputs["output"] == "All systems operational" and outputs["success"] is True
    assert slack.posts() == [] and slack.responses == []


def test_a_restart_mid_task_still_completes_the_step_once(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        execution_id, _ = run_step(sender, slack)
        (task,) = wait_for(lambda: browser_use.created, 5, "the task")
        wait_for(lambda: [c for c in slack.posts() if c.args.get("thread_ts")], 5, "the status")
    browser_use.finish(task.id)  # while no process runs
    with own_app() as (_, sender):  # the same store (the same folder), a new process
        wait_for(lambda: completions(slack, execution_id), 10, "the completion")
        sender.settle()  # a second would come from a read of the task under way
    assert [m for m, _ in completions(slack, execution_id)] == ["functions.completeSuccess"]
