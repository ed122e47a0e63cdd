"""manifest.yaml is a valid Slack app manifest and matches what the app listens for."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

from bot.answers import TaskView
from handlers.flows.workflow import INPUT_OPTIONS, step_outputs
from handlers.ids import COMMAND, SUGGESTED_PROMPTS, Callback
from handlers.installations import BOT_SCOPES
from handlers.listeners.tenancy import UNINSTALLED

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yaml"
# Slack's manifest rules for the keys the manifest uses (lengths, patterns, which keys exist).
RULES = Path(__file__).with_name("slack_manifest_rules.json")


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_keeps_slacks_rules() -> None:
    errors = sorted(Draft7Validator(json.loads(RULES.read_text())).iter_errors(manifest()), key=str)
    assert errors == [], "\n".join(e.message for e in errors)


def test_slacks_rules_refuse_what_slack_refuses() -> None:
    rules = Draft7Validator(json.loads(RULES.read_text()))
    too_long = manifest()
    too_long["display_information"]["name"] = "B" * 36
    unknown = manifest()
    unknown["features"]["slash_commands"][0]["shortcut"] = True
    no_slash = manifest()
    no_slash["features"]["slash_commands"][0]["command"] = "browser-use"
    for broken in (too_long, unknown, no_slash):
        assert not rules.is_valid(broken)


def test_manifest_declares_the_command_on_the_one_events_url() -> None:
    data = manifest()
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["request_url"] == command["url"]
    assert {"commands", "chat:write"} <= set(data["oauth_config"]["scopes"]["bot"])


def test_manifest_declares_both_shortcuts_the_app_listens_for() -> None:
    shortcuts = {s["callback_id"]: s["type"] for s in manifest()["features"]["shortcuts"]}
    assert shortcuts == {Callback.RUN_IN_BROWSER: "message", Callback.NEW_BROWSER_TASK: "global"}


def test_manifest_subscribes_only_to_events_the_app_handles() -> None:
    data = manifest()
    events = set(data["settings"]["event_subscriptions"]["bot_events"])
    assert events == {
        "app_mention",
        "message.im",
        "app_home_opened",
        "function_executed",
        # Slack's stop button on an agent session: an app that shows one must handle it.
        "agent_session_stopped",
        *UNINSTALLED,  # the three events that remove the app (the handler's own set)
    }
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "im:history", "reactions:write", "assistant:write"} <= scopes
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_the_workflow_step_declares_what_the_app_reads_and_gives() -> None:
    data = manifest()
    assert data["settings"]["function_runtime"] == "remote"
    step = data["functions"][Callback.RUN_BROWSER_TASK]
    inputs = step["input_parameters"]
    assert set(inputs) == {"task", "channel", "notify", "login", "user_context", *INPUT_OPTIONS}
    assert inputs["user_context"]["type"] == "slack#/types/user_context"
    assert inputs["task"]["is_required"] is True
    assert inputs["channel"]["type"] == "slack#/types/channel_id"
    assert inputs["notify"]["type"] == "slack#/types/user_id"
    task = TaskView.model_validate({"id": "t", "sessionId": "s", "status": "finished"})
    outputs = step_outputs(task, None)
    assert set(step["output_parameters"]) == set(outputs)
    kinds = {bool: "boolean", int: "integer", str: "string"}
    for name, value in outputs.items():
        assert step["output_parameters"][name]["type"] == kinds[type(value)], name


def test_the_messages_tab_is_an_agent_with_the_apps_own_prompts() -> None:
    data = manifest()
    agent = data["features"]["agent_view"]
    assert 0 < len(agent["agent_description"]) <= 300
    assert agent["suggested_prompts"] == [dict(p) for p in SUGGESTED_PROMPTS]
    assert "assistant:write" in data["oauth_config"]["scopes"]["bot"]


def test_add_to_slack_asks_for_the_manifests_scopes_and_comes_back_to_the_app() -> None:
    """Many workspaces: the scopes "Add to Slack" asks for are the manifest's, and the redirect
    URL Slack will allow is the app's own route."""
    data = manifest()["oauth_config"]
    assert list(BOT_SCOPES) == data["scopes"]["bot"]
    assert [u.rsplit("/", 2)[-2:] for u in data["redirect_urls"]] == [["slack", "oauth_redirect"]]
