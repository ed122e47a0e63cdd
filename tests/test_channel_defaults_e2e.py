"""Channel defaults: set in Slack, kept in the store, used by every entry point in the channel."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_conversations_e2e import created_count, mention

PROFILE = str(uuid.uuid4())
CHOSEN = {
    "llm": "o3",
    "start_url": "https://www.amazon.com",
    "allowed_domains": "amazon.com, *.amazon.com",
    "max_steps": "40",
    "profile_id": PROFILE,
    "proxy_country_code": "de",
    "switches": ["flash_mode"],
    "vision": "off",
    "system_prompt_extension": "Prices in EUR.",
}
EXPECTED = {
    "llm": "o3",
    "startUrl": "https://www.amazon.com",
    "allowedDomains": ["amazon.com", "*.amazon.com"],
    "maxSteps": 40,
    "sessionSettings": {"profileId": PROFILE, "proxyCountryCode": "de"},
    "flashMode": True,
    "vision": False,
    "systemPromptExtension": "Prices in EUR.",
}


def opened(slack: FakeSlack, callback_id: str) -> dict[str, Any]:
    views = [c.args["view"] for c in slack.calls_to("views.open")]
    views = [json.loads(v) if isinstance(v, str) else v for v in views]
    found = [v for v in views if v.get("callback_id") == callback_id]
    assert found, f"no {callback_id} view was opened"
    return found[-1]


def set_defaults(
    sender: SlackSender,
    slack: FakeSlack,
    entered: dict[str, Any],
    *,
    user: str = "U123",
    channel: str = "C123",
) -> Any:
    """Open the channel's defaults with the command and submit `entered`; the HTTP answer.
    (Tests on the suite's shared app use channels of their own: its store outlives a test.)"""
    before = len(slack.calls_to("views.open"))
    sender.command("settings", user_id=user, channel_id=channel)
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 5, "the settings form")
    view = opened(slack, "channel_settings")
    return sender.interactive(view_submission(view, entered, user_id=user))


def without_route(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("task", "metadata")}


def test_channel_defaults_reach_every_entry_point_and_a_flag_overrides_one(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    browser_use.add_profile(PROFILE)
    response = set_defaults(sender, slack, CHOSEN, channel="C200")
    assert response.status_code == 200 and response.text == ""
    announced = wait_for(
        lambda: [c for c in slack.posts() if "changed this channel's defaults" in c.args["text"]],
        5,
        "the announcement",
    )
    assert announced[0].args["channel"] == "C200" and "<@U123>" in announced[0].args["text"]
    assert "model `o3`" in announced[0].args["text"]

    sender.command("Find the price of a kettle", channel_id="C200")  # the command
    (task,) = created_count(browser_use, 1)
    assert without_route(task.body) == EXPECTED
    parent = next(c for c in slack.posts() if "kettle" in c.args["text"])
    assert "channel defaults: model o3" in json.dumps(parent.args["blocks"])

    sender.command("Find the price of a toaster --model gpt-4.1", channel_id="C200")  # a flag
    toaster = created_count(browser_use, 2)[1]
    assert toaster.body["llm"] == "gpt-4.1" and toaster.body["maxSteps"] == 40

    said = mention(sender, "find the price of a blender", channel="C200")  # a mention
    blender = created_count(browser_use, 3)[2]
    assert blender.body["maxSteps"] == 40 and blender.body["llm"] == "o3"
    browser_use.finish(blender.id)
    wait_for(lambda: [c for c in slack.in_thread(said.ts) if "Finished" in c.args["text"]], 5)
    mention(sender, "and of a mixer", thread_ts=said.ts, channel="C200")  # a follow-up
    mixer = created_count(browser_use, 4)[3]
    assert mixer.body["sessionId"] == blender.body["sessionId"]  # the thread's own browser
    assert mixer.body["llm"] == "o3" and "sessionSettings" not in mixer.body
    opened_session = browser_use.session_requests[-1]
    assert opened_session.get("profileId") == PROFILE  # the channel's profile, for the thread

    before = len(slack.calls_to("views.open"))
    sender.command("", channel_id="C200")  # the form opens with them
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 5)
    form = opened(slack, "task_form")
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        or (b["element"].get("initial_option") or {}).get("value")
        for b in form["blocks"]
        if b["type"] == "input"
    }
    assert (initial["llm"], initial["max_steps"], initial["profile_id"]) == ("o3", "40", PROFILE)
    # Submitted as it opened (only the task typed), the form's task starts from them too.
    sender.interactive(view_submission(form, {"task": "Find the price of a fridge"}))
    fridge = created_count(browser_use, 5)[4]
    assert without_route(fridge.body) == EXPECTED
    assert "Last changed by <@U123>" in json.dumps(opened_settings(sender, slack, "C200"))


def opened_settings(sender: SlackSender, slack: FakeSlack, channel: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    sender.command("settings", channel_id=channel)
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 5, "the settings form")
    return opened(slack, "channel_settings")


def test_clearing_a_field_goes_back_to_the_workspace_default(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    # Each test has a channel of its own: the suite's app keeps its store between tests.
    set_defaults(sender, slack, {"llm": "o3", "max_steps": "40"}, channel="C201")
    wait_for(lambda: [c for c in slack.posts() if "changed" in c.args["text"]], 5, "saved")
    set_defaults(sender, slack, {"max_steps": ""}, channel="C201")  # emptied; the model stays
    told = wait_for(lambda: [c for c in slack.posts() if "max steps: cleared" in c.args["text"]], 5)
    assert told
    sender.command("Read the news", channel_id="C201")
    (task,) = created_count(browser_use, 1)
    assert task.body["llm"] == "o3" and "maxSteps" not in task.body


def test_bad_input_is_shown_under_its_field_and_nothing_is_saved(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    response = set_defaults(
        sender,
        slack,
        {"llm": "o3", "start_url": "ftp://x", "max_steps": "0", "profile_id": str(uuid.uuid4())},
        channel="C202",
    )
    errors = response.json()["errors"]
    assert set(errors) == {"start_url", "max_steps"}
    unknown = {"llm": "o3", "profile_id": str(uuid.uuid4())}
    response = set_defaults(sender, slack, unknown, channel="C202")
    assert response.json()["errors"] == {"profile_id": "Browser Use has no profile with this ID."}
    sender.command("Read the news", channel_id="C202")
    (task,) = created_count(browser_use, 1)
    assert "llm" not in task.body  # nothing was saved
    assert not [c for c in slack.posts() if "changed this channel's defaults" in c.args["text"]]


def test_only_admins_change_them_when_so_set(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    with own_app(CHANNEL_DEFAULTS_BY="admins") as (_, sender):
        sender.command("settings", user_id="U9")
        wait_for(lambda: slack.calls_to("views.open"), 5)
        view = opened(slack, "channel_settings")
        assert "submit" not in view and "Only admins can change them" in json.dumps(view)
        # A forged submission of the same form is refused too.
        forged = {**view, "submit": {"type": "plain_text", "text": "Save"}}
        response = sender.interactive(view_submission(forged, {"llm": "o3"}, user_id="U9"))
        assert "Only admins" in json.dumps(response.json()["errors"])
        assert set_defaults(sender, slack, {"llm": "o3"}, user="UADMIN").text == ""
        wait_for(lambda: [c for c in slack.posts() if "changed" in c.args["text"]], 5, "saved")
        sender.command("Read the news", user_id="U9")
        (task,) = created_count(browser_use, 1)
        assert task.body["llm"] == "o3"


def test_a_mention_shows_them_with_a_button_that_opens_the_form(
    sender: SlackSender, slack: FakeSlack
) -> None:
    set_defaults(sender, slack, {"llm": "o3"}, channel="C203")
    wait_for(lambda: [c for c in slack.posts() if "changed" in c.args["text"]], 5, "saved")
    said = mention(sender, "settings", channel="C203")
    (reply,) = wait_for(lambda: slack.in_thread(said.ts), 5, "the defaults")
    assert "model `o3`" in reply.args["text"]
    (button,) = [e for b in reply.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    before = len(slack.calls_to("views.open"))
    sender.interactive(
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "U42"},
            "channel": {"id": "C203"},
            "trigger_id": "5.5.5",
            "message": {"ts": reply.answer["ts"], "thread_ts": said.ts},
            "actions": [{"action_id": button["action_id"], "value": button["value"]}],
        }
    )
    wait_for(lambda: len(slack.calls_to("views.open")) > before, 5, "the form")
    assert opened(slack, "channel_settings")["private_metadata"] == "C203"


@pytest.mark.slow
def test_a_change_through_one_process_is_used_by_the_other(
    slack: FakeSlack, browser_use: FakeBrowserUse, tmp_path: Any, postgres_server: str
) -> None:
    from tests import databases
    from tests.test_scaling_e2e import two_processes

    database = databases.fresh_database(postgres_server)
    with two_processes(slack, browser_use, tmp_path, database) as apps:
        (_, first), (_, second) = apps
        set_defaults(first, slack, {"llm": "o3", "max_steps": "12"})
        wait_for(lambda: [c for c in slack.posts() if "changed" in c.args["text"]], 5)
        second.command("Read the news")
        (task,) = created_count(browser_use, 1)
        assert (task.body["llm"], task.body["maxSteps"]) == ("o3", 12)


def test_a_workflow_step_naming_the_channel_starts_from_its_defaults(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_workflow_e2e import completions, run_step

    set_defaults(sender, slack, {"llm": "o3", "max_steps": "15"}, channel="C204")
    wait_for(lambda: [c for c in slack.posts() if "changed" in c.args["text"]], 5, "saved")
    inputs = {"task": "Check the status page", "channel": "C204", "max_steps": 5}
    execution_id, _ = run_step(sender, slack, inputs)
    (task,) = created_count(browser_use, 1)
    assert (task.body["llm"], task.body["maxSteps"]) == ("o3", 5)  # the step's input wins
    # Nothing left running for the next test: the task ends and the step completes.
    wait_for(lambda: [c for c in slack.posts() if c.args.get("thread_ts")], 5, "the status")
    browser_use.finish(task.id)
    wait_for(lambda: completions(slack, execution_id), 5, "the completion")


def test_accurate_mode_as_a_channel_default_refuses_what_it_could_never_use() -> None:
    """One rule for accurate mode (`handlers.build.accurate_problems`): a channel default it
    could not take is refused under its field when saved, not left out of every task."""
    from handlers.errors import FormErrors
    from handlers.flows.channel_defaults import parse_settings

    with pytest.raises(FormErrors) as refused:
        parse_settings(
            {
                "switches": ["accurate", "flash_mode"],
                "max_steps": "30",
                "allowed_domains": "example.com",
                "system_prompt_extension": "Be brief.",
            }
        )
    assert set(refused.value.errors) == {
        "switches",
        "max_steps",
        "allowed_domains",
        "system_prompt_extension",
    }
    assert "Flash mode" in refused.value.errors["switches"]
    assert parse_settings({"switches": ["accurate"], "llm": "claude-opus-4-7"})["engine"] == "v4"


def test_a_channel_default_cost_cap_is_kept_and_shown_again() -> None:
    """A cost cap per task can be a channel's default: parsed like `--max-cost`, and the form
    opens with it."""
    from handlers.flows.channel_defaults import parse_settings
    from handlers.options import Defaults
    from handlers.views.settings import settings_view

    assert parse_settings({"max_cost_usd": "2.50"}) == {"max_cost_usd": 2.5}
    view = settings_view("C1", {"max_cost_usd": 2.5}, Defaults(), can_change=True)
    (field,) = [b for b in view["blocks"] if b.get("block_id") == "max_cost_usd"]
    assert field["element"]["initial_value"] == "2.5"
