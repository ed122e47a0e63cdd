"""The task form's submission: what the person entered, read back and checked field by field;
and opening the form with the channel's defaults. The view itself is `handlers.views.form`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.models import DEFAULT_LLM, CreateTaskRequest
from bot.schedules import Repeat
from handlers.build import build_request, merge
from handlers.errors import FormErrors, UserInputError
from handlers.flows.channel_defaults import defaults_for
from handlers.flows.logins import usable_logins
from handlers.ids import Action, Block
from handlers.option_values import Fields
from handlers.options import BY_KEY, ONCE_ONLY, Defaults
from handlers.payloads import FormContext
from handlers.slack_io import open_view
from handlers.views.form import Prefill, task_form


@dataclass(frozen=True)
class Recurring:
    """What the form's repeat fields ask for (the time zone is the person's, set later)."""

    repeat: Repeat
    on_change: bool
    notify: bool


def parse_repeat_fields(values: dict[str, str | list[str]], floor_minutes: int) -> Recurring | None:
    """None for a task to run once; else the repeat, or `FormErrors` under the field at fault."""
    kind = str(values.get(Block.REPEAT) or "once")
    switches = values.get(Block.REPEAT_SWITCHES) or []
    if kind == "once":
        if switches:
            raise FormErrors({Block.REPEAT: "Choose how often it repeats (or untick the boxes)."})
        return None
    errors = {}
    for block, why in ONCE_ONLY.items():
        if values.get(block):
            errors[block] = why
    if kind == "hourly":
        if floor_minutes > 60:
            errors[Block.REPEAT] = f"A task can repeat at most every {floor_minutes} minutes here."
        repeat = Repeat("interval", every=3600)
    else:
        at = str(values.get(Block.REPEAT_AT) or "")
        if not at:
            errors[Block.REPEAT_AT] = "Choose the time it runs at."
        hour, _, minute = at.partition(":")
        day = int(kind.split(":")[1]) if kind.startswith("weekly:") else None
        repeat = Repeat(
            "weekly" if day is not None else kind,  # type: ignore[arg-type]
            hour=int(hour or 0),
            minute=int(minute or 0),
            weekday=day,
        )
    if errors:
        raise FormErrors(errors)
    return Recurring(repeat, "on_change" in switches, "notify" in switches)


# --- the submission ---------------------------------------------------------------------------


def _raw(element: dict[str, Any]) -> str | list[str] | None:
    kind = element.get("type")
    if kind in ("checkboxes", "multi_static_select"):
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "multi_conversations_select":
        return list(element.get("selected_conversations") or [])
    if kind in ("static_select", "radio_buttons"):
        selected = element.get("selected_option")
        return selected["value"] if selected else None
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "timepicker":
        return element.get("selected_time")
    value = element.get("value")
    return value if value is None or value.strip() else None


def form_values(state: dict[str, Any]) -> dict[str, str | list[str]]:
    """Block ID → what the person entered, for the inputs they filled."""
    values: dict[str, str | list[str]] = {}
    for block_id, actions in state.get("values", {}).items():
        element = actions.get(Action.VALUE)
        if element is not None and (raw := _raw(element)) not in (None, []):
            values[block_id] = raw
    return values


# Saved logins the form's select lists at most (their names ride in its private_metadata).
MAX_FORM_LOGINS = 40


def parse_form(values: dict[str, str | list[str]], defaults: Defaults) -> CreateTaskRequest:
    """The request the form asks for, or `FormErrors` naming every field at fault."""
    fields: Fields = {}
    errors: dict[str, str] = {}
    for block_id, raw in values.items():
        if block_id in (Block.TASK, Block.CHANNEL):
            continue
        if block_id == Block.SWITCHES:
            for key in raw:
                merge(fields, BY_KEY[key].parse(""))
            continue
        if block_id == "llm" and raw == DEFAULT_LLM and defaults.llm is None:
            continue  # left at Browser Use's own default: not sent
        option = BY_KEY.get(block_id)
        if option is None:
            continue
        try:
            merge(fields, option.parse(str(raw)))
        except UserInputError as exc:
            errors[block_id] = exc.message
    if errors:
        raise FormErrors(errors)
    fields.pop("login", None)  # a saved login is found in the store after the ack
    try:
        # The form opened with the admin's defaults filled in; what is there now is the choice.
        return build_request(str(values.get(Block.TASK, "")), fields, Defaults())
    except UserInputError as exc:
        block = exc.field if exc.field in values or exc.field in BY_KEY else Block.TASK
        raise FormErrors({block or Block.TASK: exc.message}) from None


# --- listeners --------------------------------------------------------------------------------


async def open_task_form(
    client: AsyncWebClient,
    deps: Deps,
    trigger_id: str,
    context: FormContext,
    prefill: Prefill = Prefill(),
    *,
    person: tuple[str, str] | None = None,
) -> bool:
    """Open the form at once: the trigger ID is good for 3 seconds, once. `person` (team, user)
    lists the saved logins that person may use there in the form's Login select."""
    defaults = await defaults_for(deps, context.channel_id)
    if person is not None:
        found = await usable_logins(deps, *person, context.channel_id)
        names = tuple(login.name for login in found)[:MAX_FORM_LOGINS]
        context = context.model_copy(update={"logins": names})
        defaults = replace(defaults, logins=names)
    return await open_view(
        client, trigger_id, task_form(context, defaults, prefill=prefill.with_channel(defaults))
    )
