"""The admin's settings, in App Home: the workspace's defaults and the limits, kept in the store.

Admins are `ADMIN_USER_IDS` and the workspace's own admins and owners (Slack says who, through
`users.info`). A value the deployment set (its environment variable) wins: the form shows it as
"set by the deployment", read-only. A change is used by every process within a heartbeat.
"""

from __future__ import annotations

from typing import Any

from bot.config import ADMIN_SETTINGS, Settings
from handlers.errors import FormErrors, UserInputError
from handlers.option_values import domain_list, whole_number
from handlers.views.settings import DOLLARS, DOLLARS_RANGE, LABELS, LISTS, NONE, NUMBERS


def amount(raw: str, what: str) -> float:
    """An amount in US dollars within `DOLLARS_RANGE`, or a `UserInputError` saying so."""
    low, high = DOLLARS_RANGE
    try:
        value = float(raw.strip().lstrip("$"))
    except ValueError:
        value = -1.0
    if not low <= value <= high:
        raise UserInputError(f"{what}: an amount from ${low:g} to ${high:,.0f}, like 25 or 2.50.")
    return value


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
            elif key in DOLLARS:
                chosen[key] = amount(str(raw), LABELS[key])
            elif key.endswith("domains"):
                chosen[key] = domain_list(str(raw))
            else:
                chosen[key] = raw
        except UserInputError as exc:
            errors[key] = exc.message
    if chosen.get("channel_defaults_by") is None and "channel_defaults_by" in chosen:
        chosen["channel_defaults_by"] = "anyone"
    if chosen.get("profile_ids_by") is None and "profile_ids_by" in chosen:
        chosen["profile_ids_by"] = "admins"
    if chosen.get("accurate_by") is None and "accurate_by" in chosen:
        chosen["accurate_by"] = "anyone"
    if chosen.get("default_engine") is None and "default_engine" in chosen:
        chosen["default_engine"] = "v2"
    engine = chosen.get("default_engine", policy.default_engine)
    domains = chosen.get("default_allowed_domains", policy.default_allowed_domains)
    forced = chosen.get("forced_allowed_domains", policy.forced_allowed_domains)
    fence = chosen.get("domain_fence", policy.domain_fence)
    if engine == "v4" and (domains or forced or fence):
        errors.setdefault(
            "default_engine",
            "Accurate mode cannot keep tasks to allowed domains: empty those, or keep v2.",
        )
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
