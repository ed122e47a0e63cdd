"""The settings' views: the admin's Settings modal (App Home) and a channel's "Channel defaults"
modal, and the channel's defaults in words. Pure: what they show comes in as arguments."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.config import ADMIN_SETTINGS, SPEND_CAPS, Settings
from bot.models import DEFAULT_LLM, KNOWN_LLMS, CreateTaskRequest
from handlers.ids import Callback
from handlers.option_values import Fields
from handlers.options import CHANNEL_WORDS, Defaults
from handlers.slack_text import escape
from handlers.views import kit, messages
from handlers.views.form import SWITCHES, Prefill

# --- the admin's settings -----------------------------------------------------------------------

NONE = "default"  # the select option that means "not set"


LABELS = {
    "default_llm": "Default model",
    "default_max_steps": "Default max steps",
    "default_allowed_domains": "Default allowed domains",
    "allowed_user_ids": "Who may start tasks",
    "allowed_channel_ids": "In which channels",
    "allowed_llms": "Models allowed",
    "max_steps_limit": "Max steps at most",
    "forced_allowed_domains": "Domains added to every task",
    "domain_fence": "Domains every task stays on",
    "max_running_tasks_per_user": "Running tasks per person",
    "max_tasks_per_hour_per_user": "Tasks per person an hour",
    "channel_defaults_by": "Who may change a channel's defaults",
    "profile_ids_by": "Who may give a browser profile ID",
    "max_schedules_per_person": "Recurring tasks per person",
    "min_repeat_minutes": "Shortest repeat, in minutes",
    "default_engine": "Default engine",
    "accurate_by": "Who may use accurate mode",
    "max_accurate_tasks_per_hour_per_user": "Accurate tasks per person an hour",
    "max_cost_per_task": "The most one task may cost (USD)",
    "max_spend_per_person_day": "Spend cap per person a day (USD)",
    "max_spend_per_person_month": "Spend cap per person a month (USD)",
    "max_spend_per_channel_day": "Spend cap per channel a day (USD)",
    "max_spend_per_channel_month": "Spend cap per channel a month (USD)",
    "max_spend_per_workspace_day": "Spend cap for the workspace a day (USD)",
    "max_spend_per_workspace_month": "Spend cap for the workspace a month (USD)",
}
# The spend caps: amounts in US dollars, cents allowed.
DOLLARS = frozenset({*SPEND_CAPS, "max_cost_per_task"})
DOLLARS_RANGE = (0.01, 1_000_000.0)


NUMBERS = {
    "default_max_steps": (1, 10_000),
    "max_steps_limit": (1, 10_000),
    "max_running_tasks_per_user": (1, 1000),
    "max_tasks_per_hour_per_user": (1, 10_000),
    "max_schedules_per_person": (1, 1000),
    "min_repeat_minutes": (1, 1440),
    "max_accurate_tasks_per_hour_per_user": (1, 10_000),
}


LISTS = frozenset(
    {
        "allowed_user_ids",
        "allowed_channel_ids",
        "allowed_llms",
        "default_allowed_domains",
        "forced_allowed_domains",
        "domain_fence",
    }
)


HINTS = {
    "allowed_user_ids": "Empty: everyone. Admins may always.",
    "allowed_channel_ids": "Empty: every channel.",
    "allowed_llms": "Empty: every model.",
    "forced_allowed_domains": "Added to every task's allowed domains, whatever it asks.",
    "domain_fence": "Every task is kept to these; people may ask for fewer, never others.",
    "max_schedules_per_person": "Empty: no limit.",
    "min_repeat_minutes": "Empty: 15.",
    "profile_ids_by": "A profile is used without a saved login's sharing rules.",
    "accurate_by": "Browser Use's v4 agent: more accurate on hard tasks, about twice the cost.",
    "default_engine": "Accurate mode cannot keep tasks to allowed domains.",
    "max_accurate_tasks_per_hour_per_user": "Empty: no limit of its own. Admins are not limited.",
    "max_spend_per_person_day": "From the costs tasks report; UTC days and months. Empty: no cap.",
}


# The settings that always have a value (a select), so their field is not optional.
CHOSEN_ALWAYS = (
    "default_llm",
    "channel_defaults_by",
    "profile_ids_by",
    "accurate_by",
    "default_engine",
)


def _shown(value: Any) -> str:
    if value in (None, (), frozenset(), ""):
        return "not set"
    if isinstance(value, tuple | frozenset | list):
        return ", ".join(sorted(value) if isinstance(value, frozenset) else value)
    return str(value)


def _field(key: str, value: Any) -> dict[str, Any]:
    """The input for one setting, opening with its value now."""
    if key in NUMBERS:
        element = kit.number_input(*NUMBERS[key], value)
    elif key in DOLLARS:
        element = {
            "type": "number_input",
            "is_decimal_allowed": True,
            "min_value": str(DOLLARS_RANGE[0]),
            "max_value": str(int(DOLLARS_RANGE[1])),
        } | ({"initial_value": f"{value:g}"} if value is not None else {})
    elif key == "default_llm":
        element = kit.select(
            [(NONE, f"Browser Use's ({DEFAULT_LLM})"), *[(m, m) for m in KNOWN_LLMS]], value or NONE
        )
    elif key == "allowed_llms":
        options = [kit.option(m) for m in KNOWN_LLMS]
        element = {"type": "multi_static_select", "options": options}
        if value:
            element["initial_options"] = [o for o in options if o["value"] in value]
    elif key == "allowed_user_ids":
        element = {"type": "multi_users_select"} | (
            {"initial_users": sorted(value)} if value else {}
        )
    elif key == "allowed_channel_ids":
        element = {"type": "multi_conversations_select"} | (
            {"initial_conversations": sorted(value)} if value else {}
        )
    elif key == "channel_defaults_by":
        element = kit.select(
            [("anyone", "Anyone in the channel"), ("admins", "Only admins")], value
        )
    elif key == "profile_ids_by":
        element = kit.select([("admins", "Only admins"), ("anyone", "Anyone")], value)
    elif key == "default_engine":
        element = kit.select(
            [("v2", "v2 (fast, cheaper)"), ("v4", "v4: accurate mode (slower, costs more)")], value
        )
    elif key == "accurate_by":
        element = kit.select(
            [("anyone", "Anyone"), ("admins", "Only admins"), ("nobody", "Nobody")], value
        )
    else:  # domains
        element = kit.text_input("example.com, *.example.com", initial=", ".join(value or ()))
    required = (
        "default_llm",
        "channel_defaults_by",
        "profile_ids_by",
        "accurate_by",
        "default_engine",
    )
    optional = key not in required
    return kit.field(key, LABELS[key], element, optional=optional, hint=HINTS.get(key, ""))


def admin_view(policy: Settings) -> dict[str, Any]:
    """The Settings modal: each setting as a field, or, where the deployment set it, as text."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "context",
            "elements": [
                kit.plain(
                    "The workspace's defaults (a channel may set its own) and the limits every "
                    "task keeps to. Values the deployment set cannot be changed here."
                )
            ],
        }
    ]
    for key, variable in ADMIN_SETTINGS.items():
        value = getattr(policy, key)
        if key in policy.from_deployment:
            text = f"*{LABELS[key]}:* {escape(_shown(value))} (set by the deployment: `{variable}`)"
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
            )
        else:
            blocks.append(_field(key, value))
    return {
        "type": "modal",
        "callback_id": Callback.ADMIN_SETTINGS,
        "title": kit.plain("Settings"),
        "submit": kit.plain("Save"),
        "close": kit.plain("Cancel"),
        "blocks": blocks,
    }


# --- a channel's defaults ---------------------------------------------------------------------

NO_DEFAULT = "default"  # the select option that means "no channel default"


SETTING_SWITCHES = ("accurate", "flash_mode", "thinking", "judge")


# The workspace defaults a channel default stands in front of: (field, Settings name).
WORKSPACE_WORDS = {
    "llm": ("llm", "default_llm"),
    "max_steps": ("max_steps", "default_max_steps"),
    "allowed_domains": ("allowed_domains", "default_allowed_domains"),
}


def workspace_default(
    workspace: Defaults, field: tuple[str, str], deployment: frozenset[str]
) -> str:
    """The workspace's default for a field and where it comes from, in words."""
    value = getattr(workspace, field[0])
    if not value:
        return "Browser Use's own default"
    shown = ", ".join(value) if isinstance(value, tuple) else str(value)
    where = "the deployment" if field[1] in deployment else "an admin, in Slack"
    return f"the workspace default ({shown}, set by {where})"


def settings_view(
    channel_id: str,
    values: Fields,
    workspace: Defaults,
    *,
    can_change: bool,
    deployment: frozenset[str] = frozenset(),
    changed: tuple[str, float] | None = None,
) -> Any:
    """The "Channel defaults" modal: each field opens with the channel's value; empty means the
    workspace's default (named in its hint), which is where clearing a field goes back to."""
    models = [(NO_DEFAULT, "The workspace default"), *[(m, m) for m in KNOWN_LLMS]]
    vision = [(NO_DEFAULT, "The workspace default"), ("on", "On"), ("off", "Off"), ("auto", "Auto")]
    switches = [(k, t) for k, t in SWITCHES if k in SETTING_SWITCHES]
    fields = [
        kit.field("llm", "Model", kit.select(models, NO_DEFAULT), optional=False),
        kit.field("start_url", "Start URL", {"type": "url_text_input"}),
        kit.field(
            "allowed_domains", "Allowed domains", kit.text_input("example.com, *.example.com")
        ),
        kit.field("max_steps", "Max steps", kit.number_input(1, 10_000)),
        kit.field(
            "max_cost_usd",
            "Max cost per task (USD)",
            kit.text_input("5.00"),
            hint="Each task here is stopped once it has cost this much.",
        ),
        kit.field(
            "login",
            "Saved login",
            kit.select([(NO_DEFAULT, "None"), *[(n, n) for n in workspace.logins]], NO_DEFAULT)
            if workspace.logins
            else kit.text_input("A login shared with this channel"),
            hint="Tasks here start logged in, from its proxy country (one shared with it).",
        ),
        kit.field(
            "profile_id", "Browser profile ID", kit.text_input("A profile with saved logins")
        ),
        kit.field("proxy_country_code", "Proxy country", kit.text_input("us, de, jp … or none")),
        kit.field(
            "switches",
            "Agent",
            {"type": "checkboxes", "options": [kit.option(k, t) for k, t in switches]},
        ),
        kit.field("vision", "Vision", kit.select(vision, NO_DEFAULT), optional=False),
        kit.field(
            "system_prompt_extension",
            "Extra instructions",
            kit.text_input("Answer in French.", multiline=True),
            hint="Up to 2,000 characters.",
        ),
    ]
    for block in fields:
        default = WORKSPACE_WORDS.get(block["block_id"])
        if default and "hint" not in block:
            block["hint"] = kit.plain(
                f"Empty: {workspace_default(workspace, default, deployment)}."
            )
    initials: dict[str, Any] = {}
    if values:
        fields_ = {k: v for k, v in values.items() if k != "login"}
        kept = CreateTaskRequest.model_validate({"task": "-", **fields_})
        initials = Prefill(request=kept).initials()
        if values.get("login"):
            initials["login"] = values["login"]
    blocks_ = [
        kit.with_initial(b, initials[b["block_id"]]) if b["block_id"] in initials else b
        for b in fields
    ]
    intro = (
        "Every browser task started in this channel starts from these, whoever starts it and "
        "however; what a person sets wins. Empty fields use the workspace's defaults."
    )
    if not can_change:
        intro += " Only admins can change them here."
    intro = escape(intro)
    if changed is not None:
        who, when = changed  # who: a Slack user ID from the store, safe to mention
        at = datetime.fromtimestamp(when, timezone.utc)
        intro += f" Last changed by <@{who}> on {at:%Y-%m-%d %H:%M} UTC."
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": Callback.CHANNEL_SETTINGS,
        "title": kit.plain("Channel defaults"),
        "close": kit.plain("Close" if not can_change else "Cancel"),
        "private_metadata": channel_id,
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": intro, "verbatim": True}]},
            *blocks_,
        ],
    }
    if can_change:
        view["submit"] = kit.plain("Save")
    else:
        # Shown, not editable: the inputs become a summary.
        view["blocks"] = [
            view["blocks"][0],
            messages.notice(summary(values) or "No channel defaults: the workspace's apply.")[
                "blocks"
            ][0],
        ]
    return view


def summary(values: Fields) -> str:
    """The channel's defaults in words (escaped mrkdwn), or "" when it has none."""
    words = []
    for key, value in values.items():
        if key == "session_settings":
            words += [f"{k.replace('_', ' ')} `{v or 'none'}`" for k, v in value.items()]
        elif value is True:
            words.append(CHANNEL_WORDS.get(key, key))
        else:
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            words.append(f"{CHANNEL_WORDS.get(key, key)} `{shown}`")
    return escape(" · ".join(words))


def changes(old: Fields, new: Fields) -> str:
    """What changed, in words, for the channel's announcement."""
    said = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) == new.get(key):
            continue
        name = "proxy and profile" if key == "session_settings" else CHANNEL_WORDS.get(key, key)
        if key not in new:
            said.append(f"{name}: cleared (the workspace default again)")
        else:
            said.append(summary({key: new[key]}))
    return "; ".join(said)
