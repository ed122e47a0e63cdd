"""The small kit of Block Kit pieces every view is built from (messages, the forms, the Home
tab): pure functions, tested through the views that use them."""

from __future__ import annotations

from typing import Any

from handlers.ids import Action

# plain_text_input takes at most 3,000 characters, Slack's limit, not Browser Use's.
INPUT_MAX_CHARS = 3000


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def field(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = True, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "optional": optional,
        "element": {**element, "action_id": Action.VALUE},
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def text_input(
    placeholder: str = "", *, multiline: bool = False, initial: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if initial:
        element["initial_value"] = initial[:INPUT_MAX_CHARS]
    return element


def number_input(low: int, high: int, initial: int | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": str(low),
        "max_value": str(high),
    }
    if initial is not None:
        element["initial_value"] = str(initial)
    return element


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": plain(text or value), "value": value}


def select(values: list[tuple[str, str]], initial: str | None = None) -> dict[str, Any]:
    options = [option(v, t) for v, t in values]
    element: dict[str, Any] = {"type": "static_select", "options": options}
    if initial is not None:
        element["initial_option"] = next(o for o in options if o["value"] == initial)
    return element


def with_initial(block: dict[str, Any], value: str | list[str]) -> dict[str, Any]:
    """An input block whose element opens with `value` (in the shape its kind takes)."""
    element = dict(block["element"])
    kind = element["type"]
    if kind == "checkboxes":
        element["initial_options"] = [o for o in element["options"] if o["value"] in value]
    elif kind == "static_select":
        chosen = [o for o in element["options"] if o["value"] == value]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        element["initial_value"] = str(value)[:INPUT_MAX_CHARS]
    return {**block, "element": element}


# --- the view ---------------------------------------------------------------------------------


TEXT_OBJECT_CHARS = 3000  # Slack's limit for a section's or a context element's text


def fit_mrkdwn(text: str, limit: int = TEXT_OBJECT_CHARS) -> str:
    """Already-escaped mrkdwn in at most `limit` characters, never cut inside `&amp;` or `<…>`.

    The builders measure untrusted text as they escape it (`escape_within`); this is the floor
    under them, for messages that quote text of any length back (an error naming a bad flag)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for opener, closer in (("&", ";"), ("<", ">")):
        if cut.rfind(opener) > cut.rfind(closer):
            cut = cut[: cut.rfind(opener)]
    return cut + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit_mrkdwn(text), "verbatim": True}


def section(text: str) -> dict[str, Any]:
    """Escaped mrkdwn, `verbatim`: it can never mention or link by itself."""
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": text},
    }
