"""The small kit of Block Kit pieces the forms are built from (the task form, channel defaults,
the admin's settings): pure functions, tested through the views that use them."""

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
