"""The admin's settings, in App Home: the workspace's defaults and the limits, kept in the store.

Admins are `ADMIN_USER_IDS` and the workspace's own admins and owners (Slack says who, through
`users.info`). A value the deployment set (its environment variable) wins: the form shows it as
"set by the deployment", read-only. A change is used by every process within a heartbeat.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.config import ADMIN_SETTINGS, Settings
from bot.models import DEFAULT_LLM, KNOWN_LLMS
from handlers.errors import UserInputError
from handlers.ids import Callback
from handlers.modals import FormErrors
from handlers.options import domain_list, whole_number
from handlers.slack_text import escape
from handlers.views import kit

log = logging.getLogger(__name__)

NONE = "default"  # the select option that means "not set"
LABELS = {
    "default_llm": "Default model",
    "default_max_steps": "Default max steps",
    "default_allowed_domains": "Default allowed domains",
    "allowed_user_ids": "Who may start tasks",
    "allowed_channel_ids": "In which channels",
    "allowed_llms": "Models allowed",
    "max_steps_limit": "Max steps at most",
    "forced_allowed_domains": "Domains every task stays on",
    "max_running_tasks_per_user": "Running tasks per person",
    "max_tasks_per_hour_per_user": "Tasks per person an hour",
    "channel_defaults_by": "Who may change a channel's defaults",
    "max_schedules_per_person": "Recurring tasks per person",
    "min_repeat_minutes": "Shortest repeat, in minutes",
}
NUMBERS = {
    "default_max_steps": (1, 10_000),
    "max_steps_limit": (1, 10_000),
    "max_running_tasks_per_user": (1, 1000),
    "max_tasks_per_hour_per_user": (1, 10_000),
    "max_schedules_per_person": (1, 1000),
    "min_repeat_minutes": (1, 1440),
}
LISTS = frozenset(
    {
        "allowed_user_ids",
        "allowed_channel_ids",
        "allowed_llms",
        "default_allowed_domains",
        "forced_allowed_domains",
    }
)
HINTS = {
    "allowed_user_ids": "Empty: everyone. Admins may always.",
    "allowed_channel_ids": "Empty: every channel.",
    "allowed_llms": "Empty: every model.",
    "forced_allowed_domains": "Added to every task's allowed domains, whatever it asks.",
    "max_schedules_per_person": "Empty: no limit.",
    "min_repeat_minutes": "Empty: 15.",
}


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
    else:  # domains
        element = kit.text_input("example.com, *.example.com", initial=", ".join(value or ()))
    optional = key not in ("default_llm", "channel_defaults_by")
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


def parse_admin(values: dict[str, str | list[str]], policy: Settings) -> dict[str, Any]:
    """The settings the form asks for (those the deployment left unset), or `FormErrors`."""
    chosen: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in ADMIN_SETTINGS:
        if key in policy.from_deployment:
            continue
        raw = values.get(key)
        try:
            if raw in (None, NONE, []):
                chosen[key] = [] if key in LISTS else None
            elif key in NUMBERS:
                chosen[key] = whole_number(str(raw), *NUMBERS[key], LABELS[key])
            elif key.endswith("domains"):
                chosen[key] = domain_list(str(raw))
            else:
                chosen[key] = raw
        except UserInputError as exc:
            errors[key] = exc.message
    if chosen.get("channel_defaults_by") is None and "channel_defaults_by" in chosen:
        chosen["channel_defaults_by"] = "anyone"
    allowed = chosen.get("allowed_llms", policy.allowed_llms)
    model = chosen.get("default_llm", policy.default_llm)
    if allowed and model and model not in allowed:
        errors.setdefault("default_llm", "The default model must be one of the models allowed.")
    limit = chosen.get("max_steps_limit", policy.max_steps_limit)
    steps = chosen.get("default_max_steps", policy.default_max_steps)
    if limit and steps and steps > limit:
        errors.setdefault("default_max_steps", f"The default is above the limit ({limit}).")
    if errors:
        raise FormErrors(errors)
    return chosen
