"""The task form: what it shows, and what its submission turns into."""

from __future__ import annotations

import uuid

import pytest

from bot.schedules import Repeat
from handlers.errors import FormErrors
from handlers.flags import parse_inline
from handlers.flows.modals import Recurring, form_values, parse_form, parse_repeat_fields
from handlers.ids import Action, Block, Callback
from handlers.options import Defaults
from handlers.payloads import FormContext
from handlers.views.form import Prefill, task_form
from tests.slack_requests import view_state

NONE = Defaults()
HERE = FormContext(channel_id="C1")


def submit(entered: dict, defaults: Defaults = NONE, context: FormContext = HERE):
    view = task_form(context, defaults, advanced=True)
    return parse_form(form_values(view_state(view, entered)), defaults)


def errors_for(entered: dict) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        submit(entered)
    return caught.value.errors


def block_ids(view: dict) -> list[str]:
    return [b.get("block_id", "") for b in view["blocks"]]


def test_the_first_screen_is_short_and_remembers_where_it_was_opened() -> None:
    view = task_form(FormContext(channel_id="C1", thread_ts="1.2"), NONE)
    assert view["callback_id"] == Callback.TASK_FORM
    assert block_ids(view) == [
        "task",
        "start_url",
        "llm",
        "max_steps",
        "structured_output",
        "allowed_domains",
        "login",  # a saved login to start logged in (a select of those the person may use)
        "files",  # files for the browser (up to 5)
        "repeat",  # once by default; a recurring task's how often, at what time, how it posts
        "repeat_at",
        "repeat_switches",
        Action.MORE_OPTIONS,
    ]
    assert FormContext.load(view["private_metadata"]) == FormContext(
        channel_id="C1", thread_ts="1.2"
    )
    assert len(view["title"]["text"]) <= 24


def test_more_options_keeps_every_first_screen_block_and_action_id() -> None:
    first = task_form(HERE, NONE)
    more = task_form(HERE, NONE, advanced=True)
    first_inputs = [b for b in first["blocks"] if b["type"] == "input"]
    assert all(b in more["blocks"] for b in first_inputs)  # same IDs: Slack keeps the values
    assert Action.MORE_OPTIONS not in block_ids(more)
    assert {
        "secrets",
        "metadata",
        "session_id",
        "profile_id",
        "proxy_country_code",
        "browser_screen_width",
        "browser_screen_height",
        "skill_ids",
        "op_vault_id",
        "judge_ground_truth",
        "judge_llm",
        "vision",
        "system_prompt_extension",
        "switches",
    } <= set(block_ids(more))
    assert len(more["blocks"]) <= 100
    assert all(
        b["element"]["action_id"] == Action.VALUE for b in more["blocks"] if b["type"] == "input"
    )


def test_a_form_opened_outside_a_channel_asks_where_to_post() -> None:
    view = task_form(FormContext(), NONE)
    picker = next(b for b in view["blocks"] if b.get("block_id") == Block.CHANNEL)
    assert picker["element"]["response_url_enabled"] is True
    assert Block.CHANNEL not in block_ids(task_form(HERE, NONE))


def test_the_form_starts_from_the_admins_defaults_and_the_prefill() -> None:
    defaults = Defaults(llm="gpt-4.1", max_steps=25, allowed_domains=("a.example", "b.example"))
    view = task_form(HERE, defaults, prefill=Prefill("Book it", "https://a.example"))
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["task"]["element"]["initial_value"] == "Book it"
    assert by_id["start_url"]["element"]["initial_value"] == "https://a.example"
    assert by_id["llm"]["element"]["initial_option"]["value"] == "gpt-4.1"
    assert by_id["max_steps"]["element"]["initial_value"] == "25"
    assert by_id["allowed_domains"]["element"]["initial_value"] == "a.example, b.example"
    # Kept as they are, the defaults are what gets sent.
    assert submit({"task": "Book it"}, defaults).to_wire() == {
        "task": "Book it",
        "llm": "gpt-4.1",
        "maxSteps": 25,
        "allowedDomains": ["a.example", "b.example"],
    }


def test_untouched_fields_send_nothing() -> None:
    assert submit({"task": "Find flights"}).to_wire() == {"task": "Find flights"}


def test_form_and_flags_give_the_same_request() -> None:
    profile = uuid.uuid4()
    entered = {
        "task": "Compare prices",
        "start_url": "https://shop.example",
        "llm": "claude-sonnet-5",
        "max_steps": "40",
        "structured_output": '{"type": "object", "properties": {"price": {"type": "number"}}}',
        "allowed_domains": "shop.example, *.shop.example",
        "switches": ["flash_mode", "thinking", "highlight_elements", "judge"],
        "vision": "auto",
        "thinking_level": "low",
        "system_prompt_extension": "Prices in EUR",
        "judge_ground_truth": "19.99",
        "judge_llm": "o3",
        "profile_id": str(profile),
        "proxy_country_code": "fr",
        "browser_screen_width": "1440",
        "browser_screen_height": "900",
        "skill_ids": "all",
        "op_vault_id": "vault7",
        "metadata": "project=q3\nteam=ops",
    }
    line = (
        "Compare prices --url https://shop.example --model claude-sonnet-5 --max-steps 40 "
        '--schema \'{"type": "object", "properties": {"price": {"type": "number"}}}\' '
        "--domains shop.example,*.shop.example --flash --thinking --highlight --judge "
        '--vision auto --thinking-level low --system-prompt "Prices in EUR" '
        f"--ground-truth 19.99 --judge-model o3 --profile {profile} --proxy fr "
        "--screen 1440x900 --skills all --vault vault7 --metadata project=q3 --metadata team=ops"
    )
    assert submit(entered).to_wire() == parse_inline(line, NONE)[0].to_wire()


def test_secrets_are_sent_but_never_kept_in_the_view() -> None:
    request = submit({"task": "Log in", "secrets": "user=ada\npassword=hunter2"})
    assert request.to_wire()["secrets"] == {"user": "ada", "password": "hunter2"}
    assert "hunter2" not in str(task_form(HERE, NONE, advanced=True))


@pytest.mark.parametrize(
    ("entered", "block", "complaint"),
    [
        ({"task": "   "}, "task", "Say what the browser should do"),
        ({"task": "x" * 50_001}, "task", "the limit is 50,000"),
        ({"start_url": "ftp://x.example"}, "start_url", "http:// or https://"),
        ({"max_steps": "0"}, "max_steps", "from 1 to 10000"),
        ({"max_steps": "20000"}, "max_steps", "from 1 to 10000"),
        ({"structured_output": "[1]"}, "structured_output", "JSON Schema object"),
        ({"structured_output": "{nope"}, "structured_output", "not valid JSON"),
        ({"structured_output": '{"type": 5}'}, "structured_output", "not a JSON Schema type"),
        ({"allowed_domains": "exa mple!"}, "allowed_domains", "is not a domain"),
        ({"browser_screen_width": "100"}, "browser_screen_width", "from 320 to 6144"),
        ({"browser_screen_height": "5000"}, "browser_screen_height", "from 320 to 3456"),
        ({"session_id": "abc"}, "session_id", "must be a UUID"),
        ({"profile_id": "abc"}, "profile_id", "must be a UUID"),
        ({"proxy_country_code": "xx"}, "proxy_country_code", "Unknown proxy country"),
        ({"metadata": "\n".join(f"k{i}=v" for i in range(9))}, "metadata", "at most 8 pairs"),
        ({"metadata": "slack=mine"}, "metadata", "reserved"),
        ({"metadata": "no equals sign"}, "metadata", "`name=value`"),
        ({"secrets": "password hunter2"}, "secrets", "`name=value`"),
        ({"system_prompt_extension": "y" * 2001}, "system_prompt_extension", "limit is 2,000"),
        ({"judge_ground_truth": "y" * 10_001}, "judge_ground_truth", "limit is 10,000"),
        (
            {"session_id": str(uuid.uuid4()), "proxy_country_code": "de"},
            "session_id",
            "only apply to new sessions",
        ),
    ],
)
def test_each_mistake_is_shown_under_its_field(entered: dict, block: str, complaint: str) -> None:
    errors = errors_for({"task": "x", **entered})
    assert complaint in errors[block]
    assert "hunter2" not in str(errors)


def test_every_mistake_is_reported_at_once() -> None:
    errors = errors_for({"task": "x", "max_steps": "0", "start_url": "nope", "session_id": "1"})
    assert set(errors) == {"max_steps", "start_url", "session_id"}


def repeat_of(entered: dict, floor: int = 15) -> Recurring | None:
    view = task_form(FormContext(channel_id="C1"), NONE, advanced=True)
    return parse_repeat_fields(form_values(view_state(view, entered)), floor)


def test_the_repeat_fields_make_a_recurring_task() -> None:
    assert repeat_of({"task": "x"}) is None  # once, now: the default
    weekly = repeat_of(
        {"repeat": "weekly:4", "repeat_at": "17:30", "repeat_switches": ["on_change"]}
    )
    assert weekly == Recurring(
        Repeat("weekly", hour=17, minute=30, weekday=4), on_change=True, notify=False
    )
    hourly = repeat_of({"repeat": "hourly", "repeat_switches": ["notify"]})
    assert hourly == Recurring(Repeat("interval", every=3600), on_change=False, notify=True)


@pytest.mark.parametrize(
    ("entered", "block", "complaint"),
    [
        ({"repeat": "daily"}, "repeat_at", "Choose the time"),
        ({"repeat_switches": ["on_change"]}, "repeat", "how often"),
        ({"repeat": "weekdays", "repeat_at": "09:00", "secrets": "a=b"}, "secrets", "not kept"),
        ({"repeat": "daily", "repeat_at": "09:00", "session_id": "x"}, "session_id", "saved login"),
    ],
)
def test_a_repeat_the_form_cannot_keep_is_an_error_under_its_field(
    entered: dict, block: str, complaint: str
) -> None:
    with pytest.raises(FormErrors) as caught:
        repeat_of(entered)
    assert complaint in caught.value.errors[block]


def test_every_hour_is_refused_where_the_admin_asks_for_longer() -> None:
    with pytest.raises(FormErrors) as caught:
        repeat_of({"repeat": "hourly"}, floor=120)
    assert "every 120 minutes" in caught.value.errors["repeat"]


def test_every_option_of_the_table_has_a_field_in_the_form() -> None:
    """Adding an option is one row of `handlers.options.OPTIONS`: its field comes with it."""
    from handlers.options import OPTIONS

    view = task_form(HERE, NONE, advanced=True)
    fields = set(block_ids(view))
    switches = {
        o["value"]
        for b in view["blocks"]
        if b.get("block_id") == "switches"
        for o in b["element"]["options"]
    }
    missing = [o.key for o in OPTIONS if o.key not in fields and o.key not in switches]
    # `--screen 1280x800` is the command line's short way to give the two size fields, and
    # `--engine v4` its long way to say accurate mode (the form's box).
    assert missing == ["engine", "screen"]
    # ...and every switch is a box of the Agent checkboxes.
    assert {o.key for o in OPTIONS if o.switch} == switches
