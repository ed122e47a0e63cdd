"""The admin's settings in App Home: the workspace's defaults and limits, kept in the store, with
the deployment's variables as the floor. Each test has an app of its own (they change its store)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests import databases
from tests.app_process import LOOPBACK
from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_conversations_e2e import created_count

LIMITS = {
    "default_llm": "o3",
    "allowed_llms": ["gpt-4.1", "o3"],
    "max_steps_limit": "50",
    "channel_defaults_by": "admins",
}


def home_of(sender: SlackSender, slack: FakeSlack, user: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.publish"))
    sender.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    wait_for(lambda: len(slack.calls_to("views.publish")) > before, 5, "the Home tab")
    view = slack.calls_to("views.publish")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def settings_button(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "open_admin_settings"
    ]


def click_settings(sender: SlackSender, user: str) -> None:
    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "trigger_id": "9.9.9",
            "view": {"id": "VHOME", "type": "home"},
            "actions": [{"action_id": "open_admin_settings", "type": "button"}],
        }
    )


def open_settings(sender: SlackSender, slack: FakeSlack, user: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    click_settings(sender, user)
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 3, "the Settings form")
    view = slack.calls_to("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def save(sender: SlackSender, view: dict[str, Any], entered: dict[str, Any], user: str) -> Any:
    return sender.interactive(view_submission(view, entered, user_id=user))


def until_applied(sender: SlackSender, text: str, user: str = "U1") -> str:
    """Send a command until it is refused (a change saved elsewhere applies within seconds)."""
    deadline = time.monotonic() + 5
    while True:
        answer = sender.command(text, user_id=user).text
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def wait_saved(process: Any) -> None:
    """The process that took the form has saved it (it runs after the ack)."""
    wait_for(lambda: "settings.workspace_changed" in process.logs(), 5, "the save")


def test_an_admin_sets_the_workspace_defaults_and_limits_in_app_home(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        assert settings_button(home_of(sender, slack, "UADMIN"))
        assert not settings_button(home_of(sender, slack, "U1"))  # not for everyone
        slack.workspace_admins.add("UOWNER")  # Slack's own admins and owners too
        assert settings_button(home_of(sender, slack, "UOWNER"))

        view = open_settings(sender, slack, "UADMIN")
        assert view["callback_id"] == "admin_settings"
        assert save(sender, view, LIMITS, "UADMIN").text == ""
        wait_saved(process)
        refused = sender.command("Read the news --model gemini-2.5-pro", user_id="U1").text
        assert "`gemini-2.5-pro` is not allowed here" in refused
        assert "limited to 50" in sender.command("Go --max-steps 80", user_id="U1").text
        sender.command("Read the news", user_id="U1")
        (task,) = created_count(browser_use, 1)
        assert task.body["llm"] == "o3"  # the workspace's default model, set in Slack

        # Who may change a channel's defaults is one of them: now only admins.
        sender.command("settings", user_id="U1")
        wait_for(lambda: len(slack.calls_to("views.open")) >= 2, 5)
        channel_form = slack.calls_to("views.open")[-1].args["view"]
        assert "submit" not in channel_form


def test_bad_values_are_shown_under_their_fields_and_nothing_is_saved(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (_, sender):
        view = open_settings(sender, slack, "UADMIN")
        wrong = {
            "default_llm": "gemini-2.5-pro",
            "allowed_llms": ["o3"],
            "forced_allowed_domains": "not a domain!",
            "max_steps_limit": "10",
            "default_max_steps": "20",
        }
        errors = save(sender, view, wrong, "UADMIN").json()["errors"]
        assert set(errors) == {"default_llm", "forced_allowed_domains", "default_max_steps"}
        sender.command("Read the news --model gemini-2.5-pro", user_id="U1")
        wait_for(lambda: browser_use.created, 5, "the task: nothing was limited")


def test_someone_else_cannot_open_or_save_the_settings(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app() as (process, sender):
        click_settings(sender, "U1")
        told = wait_for(lambda: slack.calls_to("chat.postEphemeral"), 5, "the refusal")
        assert "Only admins" in told[0].args["text"]
        process.settle()
        assert not slack.calls_to("views.open")
        admin_view = open_settings(sender, slack, "UADMIN")
        # A forged submission from someone else saves nothing.
        save(sender, admin_view, {"allowed_llms": ["o3"], "default_llm": "o3"}, "U1")
        process.settle()
        sender.command("Read the news --model gpt-4.1", user_id="U1")
        (task,) = created_count(browser_use, 1)
        assert task.body["llm"] == "gpt-4.1"


def test_a_value_the_deployment_set_is_read_only_and_wins(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(MAX_STEPS_LIMIT="20") as (process, sender):
        view = open_settings(sender, slack, "UADMIN")
        text = json.dumps(view)
        assert "set by the deployment: `MAX_STEPS_LIMIT`" in text
        assert "max_steps_limit" not in [b.get("block_id") for b in view["blocks"]]
        # A forged field for it is ignored: the deployment's 20 stays.
        forged = {**view, "blocks": [*view["blocks"], _number_input("max_steps_limit")]}
        assert (
            save(sender, forged, {"max_steps_limit": "500", "default_llm": "o3"}, "UADMIN").text
            == ""
        )
        wait_saved(process)
        assert "limited to 20" in sender.command("Go --max-steps 30", user_id="U1").text


def _number_input(block_id: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "x"},
        "element": {"type": "number_input", "is_decimal_allowed": False, "action_id": "value"},
    }


@pytest.mark.slow
def test_a_change_through_one_process_is_used_by_the_other_within_seconds(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Path, postgres_server: str
) -> None:
    from tests.test_scaling_e2e import two_processes

    database = databases.fresh_database(postgres_server)
    with two_processes(slack, browser_use, tmp_path, database, HEARTBEAT_SECONDS="0.5") as apps:
        (_, first), (second_process, second) = apps
        view = open_settings(first, slack, "UADMIN")
        save(first, view, {"allowed_llms": ["o3"], "default_llm": "o3"}, "UADMIN")
        started = time.monotonic()
        refused = until_applied(second, "Go --model gpt-4.1")
        assert "`gpt-4.1` is not allowed here" in refused
        assert time.monotonic() - started < 3
        assert LOOPBACK.get(f"{second_process.url}/healthz").status_code == 200
