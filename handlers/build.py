"""From fields to a request: the workspace's and the channel's defaults under what a person set,
the saved login asked for taken out (`login_of`), and what accurate mode (v4) cannot take
refused or left out (`fit_accurate`)."""

from __future__ import annotations

from pydantic import ValidationError

from bot.models import ACCURATE, TASK_MAX_CHARS, V4_MODEL_OF_V2, CreateTaskRequest
from handlers.errors import UserInputError
from handlers.option_values import (
    TOO_MANY_PAIRS,
    USER_METADATA_MAX_PAIRS,
    Fields,
)
from handlers.options import BY_KEY, NO_LOGIN, Defaults


def login_of(fields: Fields, defaults: Defaults) -> str | None:
    """The saved login a request asks for, taken out of `fields`: the person's own (`--login`,
    the form's select), else the channel's default one unless the person chose a browser of
    their own (a session, a profile or a proxy)."""
    login = fields.pop("login", None)
    if login == NO_LOGIN:
        return None
    if login is not None:
        return str(login)
    own = fields.get("session_settings") or {}
    if fields.get("session_id") or "profile_id" in own or "proxy_country_code" in own:
        return None
    channel = defaults.channel.get("login")
    return str(channel) if channel else None


def merge(into: Fields, fields: Fields) -> None:
    """Fold one option's fields in; nested session settings and metadata pairs accumulate."""
    for name, value in fields.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            into[name] = {**into[name], **value}
        else:
            into[name] = value


# What v4 has no place for (the API notes §15), and what to say instead.
NOT_IN_ACCURATE_MODE = {
    "max_steps": "Accurate mode has no step limit: cap what it spends with `--max-cost` instead.",
    "flash_mode": "Flash mode is not part of accurate mode.",
    "vision": "Accurate mode chooses when to look at the page itself: leave out vision.",
    "highlight_elements": "Accurate mode does not highlight elements: leave it out.",
    "system_prompt_extension": "Accurate mode takes no extra instructions: say them in the task.",
    "skill_ids": "Skills are not part of accurate mode.",
    "judge_llm": "Accurate mode chooses its judge's model itself: leave out the judge model.",
    "metadata": "Accurate mode keeps no metadata with the task.",
    "thinking": "Accurate mode sets the model's thinking itself: leave out thinking.",
    "thinking_level": "Accurate mode sets the model's thinking itself: leave out the level.",
}


def accurate_problems(person: Fields, data: Fields | None = None) -> dict[str, str]:
    """What accurate mode (v4) cannot take of what `person` set, by field: its one rule, for a
    task (`fit_accurate`) and for a channel's defaults alike. Allowed domains count however
    they came (`data`: the request with every default): v4 keeps a browser to them only for
    typing secrets, so a channel's or an admin's limit would silently not hold."""
    data = person if data is None else data
    problems = {key: why for key, why in NOT_IN_ACCURATE_MODE.items() if key in person}
    llm = person.get("llm")
    if llm and llm not in V4_MODEL_OF_V2:
        problems["llm"] = (
            f"The model `{llm}` is not one accurate mode offers. Leave it out (accurate mode "
            f"picks its own), or choose one of: {', '.join(sorted(set(V4_MODEL_OF_V2)))}."
        )
    if data.get("allowed_domains") and not data.get("secrets"):
        problems["allowed_domains"] = (
            "Accurate mode cannot keep the browser to a list of domains (here, or as a channel "
            "default). Run it without `--accurate`, or without the domains."
        )
    return problems


def fit_accurate(data: Fields, person: Fields) -> None:
    """A request for v4: what the person set that v4 has no place for is refused, under its
    field (`accurate_problems`); what only came from the workspace's or the channel's defaults
    is left out."""
    for key, why in accurate_problems(person, data).items():
        raise UserInputError(why, field=key)
    for key in NOT_IN_ACCURATE_MODE:
        data.pop(key, None)
    if data.get("llm") and data["llm"] not in V4_MODEL_OF_V2:
        data.pop("llm")


def build_request(task: str, fields: Fields, defaults: Defaults) -> CreateTaskRequest:
    """The request: the admin's defaults under what the person set; any error names its field."""
    task = task.strip()
    if not task:
        raise UserInputError("Say what the browser should do.", field="task")
    if len(task) > TASK_MAX_CHARS:
        raise UserInputError(
            f"The task is {len(task):,} characters; the limit is {TASK_MAX_CHARS:,}.", field="task"
        )
    data: Fields = {"task": task}
    if defaults.llm:
        data["llm"] = defaults.llm
    if defaults.max_steps:
        data["max_steps"] = defaults.max_steps
    if defaults.allowed_domains:
        data["allowed_domains"] = list(defaults.allowed_domains)
    if defaults.engine == ACCURATE:
        data["engine"] = ACCURATE
    channel = dict(defaults.channel)
    channel.pop("login", None)  # a saved login is found in the store by its name (`login_of`)
    if fields.get("session_id"):
        channel.pop("session_settings", None)  # a given session keeps its own browser
    merge(data, channel)
    merge(data, fields)
    if data.get("session_id") and data.get("session_settings"):
        raise UserInputError(
            "Session settings (profile, proxy, screen size) only apply to new sessions; leave "
            "them out when you give a session ID, or leave out the session ID.",
            field="session_id",
        )
    if len(data.get("metadata") or {}) > USER_METADATA_MAX_PAIRS:
        raise UserInputError(TOO_MANY_PAIRS, field="metadata")
    if data.get("engine") == ACCURATE:
        fit_accurate(data, fields)
    try:
        return CreateTaskRequest.model_validate(data)
    except ValidationError as exc:
        # The converters catch everything a person can type; this is the model's last word.
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        field = next((p for p in reversed(loc) if p in BY_KEY), None)
        raise UserInputError(str(error["msg"]), field=field or (loc[0] if loc else None)) from None
