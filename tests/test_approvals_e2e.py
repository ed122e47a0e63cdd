"""Approvals: what an admin's rules say is risky waits for a yes. The approvers get it in a DM
with Approve and Deny; the asker cannot approve their own; the first decision wins, and an
approved task runs once, as the one who asked, with what they asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.app_process import AppProcess
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender


def dms(slack: FakeSlack, user: str) -> list[Any]:
    return [c for c in slack.posts() if c.args.get("channel") == user]


def decide(sender: SlackSender, request: Any, action: str, user: str) -> None:
    (value,) = [
        e["value"]
        for b in request.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action
    ]
    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "channel": {"id": f"D{user}"},
            "trigger_id": "1.2.3",
            "response_url": sender.response_url,
            "message": {"ts": "1700000000.000100", "text": "x"},
            "actions": [{"action_id": action, "value": value, "type": "button"}],
        }
    )


def test_accurate_mode_waits_for_a_yes_runs_once_when_approved_and_never_when_denied(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, database_url: str
) -> None:
    slack.usergroups["SAPPROVERS"] = {"UBOSS", "U42"}
    rules = {"APPROVAL_FOR": "accurate", "APPROVERS_GROUP": "SAPPROVERS"}
    rules["DATABASE_URL"] = database_url  # on each store
    with own_app(**rules) as (_, sender):
        sender.command("Compare the three quotes --accurate", user_id="U42", channel_id="C7")
        (asked,) = wait_for(lambda: dms(slack, "UBOSS"), 5, "the approver's request")
        assert "<@U42> asks to run a browser task in <#C7>" in asked.args["text"]
        assert "accurate mode" in json.dumps(asked.args["blocks"])
        waiting = wait_for(lambda: slack.responses, 5, "the asker told")[0]
        assert "needs a yes first" in waiting.args["text"]
        assert dms(slack, "U42") == []  # the asker is not asked to approve their own
        assert browser_use.runs_created == [] and browser_use.created == []

        decide(sender, asked, "approve_task", "U42")  # a member of the group, but the asker
        decide(sender, asked, "approve_task", "URANDOM")  # not an approver
        sender.settle()
        assert browser_use.runs_created == []
        decide(sender, asked, "approve_task", "UBOSS")
        decide(sender, asked, "approve_task", "UBOSS")  # twice: one run
        (run,) = wait_for(lambda: browser_use.runs_created, 5, "the run")
        sender.settle()
        assert len(browser_use.runs_created) == 1
        assert run.body["task"].startswith("Compare the three quotes")
        parent = next(c for c in slack.posts() if c.args.get("channel") == "C7")
        assert parent.args["text"].startswith("<@U42>")  # as the one who asked
        # The thread said it waited, then who approved, and the run's IDs landed in it.
        assert "Waiting for a yes" in parent.raw
        thread = [c.raw for c in slack.in_thread(parent.answer["ts"])]
        assert any("<@UBOSS> approved this task" in t for t in thread)
        wait_for(lambda: [c for c in slack.in_thread(parent.answer["ts"]) if run.id in c.raw], 5)
        told = json.dumps([c.args for c in slack.calls_to("chat.postEphemeral")])
        told += json.dumps([r.args for r in slack.responses])
        assert "can't approve or deny your own" in told and "Only the approvers" in told
        assert "approved already" in told

        sender.command("And the fourth one --accurate", user_id="U42", channel_id="C7")
        second = wait_for(lambda: dms(slack, "UBOSS")[1:], 5, "the second request")[0]
        decide(sender, second, "deny_task", "UBOSS")
        wait_for(
            lambda: [c for c in slack.posts() if "did not approve this task" in c.raw], 5, "no"
        )
        sender.settle()
        assert len(browser_use.runs_created) == 1


@pytest.mark.slow
def test_approved_in_one_process_while_another_restarts_the_task_runs_once(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, database: str
) -> None:
    from tests.test_scaling_e2e import two_processes

    slack.usergroups["SAPPROVERS"] = {"UBOSS"}
    rules = {"APPROVAL_FOR": "accurate", "APPROVERS_GROUP": "SAPPROVERS"}
    with two_processes(slack, browser_use, tmp_path, database, **rules) as apps:
        slack.usergroups["SAPPROVERS"] = {"UBOSS"}  # two_processes wiped the stand-ins
        (first, first_sender), (second, second_sender) = apps
        first_sender.command("Compare the quotes --accurate", user_id="U42", channel_id="C7")
        (asked,) = wait_for(lambda: dms(slack, "UBOSS"), 5, "the approver's request")
        assert first.proc is not None
        first.proc.terminate()  # a deploy restarts the process that asked
        decide(second_sender, asked, "approve_task", "UBOSS")
        first.proc.wait(10)
        (tmp_path / "again").mkdir()
        settings = {k: v for k, v in first.env.items() if k != "PORT"}
        again = AppProcess(settings, tmp_path / "again").start()
        try:
            decide(SlackSender(again.url, slack.response_url()), asked, "approve_task", "UBOSS")
            (run,) = wait_for(lambda: browser_use.runs_created, 5, "the run")
            for process in (second, again):
                process.settle()
        finally:
            again.stop()
    assert len(browser_use.runs_created) == 1 and run.body["task"].startswith("Compare")


def test_a_domain_outside_the_fence_waits_for_a_yes_when_that_rule_is_on(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    slack.usergroups["SAPPROVERS"] = {"UBOSS"}
    rules = {
        "APPROVAL_FOR": "outside_fence",
        "APPROVERS_GROUP": "SAPPROVERS",
        "DOMAIN_FENCE": "example.com",
    }
    with own_app(**rules) as (_, sender):
        slack.usergroups["SAPPROVERS"] = {"UBOSS"}
        sender.command("Read the changelog --domains example.com", user_id="U42")
        wait_for(lambda: browser_use.created, 5, "a task inside the fence, at once")
        sender.command("Check the status page --domains status.vendor.io", user_id="U42")
        (asked,) = wait_for(lambda: dms(slack, "UBOSS"), 5, "the approver's request")
        assert "status.vendor.io" in asked.raw and "outside this workspace" in asked.raw
        assert len(browser_use.created) == 1
        decide(sender, asked, "approve_task", "UBOSS")
        wait_for(lambda: len(browser_use.created) == 2, 5, "the approved task")
    assert browser_use.created[1].body["allowedDomains"] == ["status.vendor.io"]
