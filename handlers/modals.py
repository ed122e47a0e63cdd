"""The task form: the view builder, the submission parser, and their listeners.

The first screen holds what most tasks need; "More options" reveals the rest in place. The view
is rebuilt with the same block and action IDs, so Slack keeps everything typed so far, and no value
(a secret least of all) ever travels back to Slack in the rebuilt view.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.models import DEFAULT_LLM, CreateTaskRequest
from bot.schedules import DAYS, Repeat
from handlers import kit
from handlers.access import apply_policy, check_access
from handlers.errors import UserInputError
from handlers.ids import Action, Block, Callback
from handlers.options import (
    BY_KEY,
    ONCE_ONLY,
    OPTIONS,
    Defaults,
    Fields,
    FormField,
    build_request,
    merge,
)
from handlers.recurring import create_schedule
from handlers.slack_io import SLACK_ERRORS, open_view
from handlers.submit import Origin, failure_reporter, first_time, start_task

log = logging.getLogger(__name__)

# The form's fields come from the option table (`handlers.options.OPTIONS`).
FIRST_SCREEN = frozenset(
    o.key for o in OPTIONS if isinstance(o.form, FormField) and o.form.first_screen
)
SWITCHES = tuple((o.key, o.form) for o in OPTIONS if o.switch and isinstance(o.form, str))


class FormContext(BaseModel):
    """Where the form was opened, carried in `private_metadata` (≤ 3,000 characters)."""

    model_config = ConfigDict(frozen=True)

    channel_id: str | None = None
    thread_ts: str | None = None

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def load(cls, raw: str | None) -> FormContext:
        try:
            return cls.model_validate_json(raw or "{}")
        except ValidationError:
            return cls()


@dataclass(frozen=True)
class Prefill:
    """Values the form opens with: a message's text and link (a message shortcut), or every
    option of an earlier task (Change and run; its secrets are never kept, so never shown)."""

    task: str = ""
    start_url: str | None = None
    request: CreateTaskRequest | None = None
    again: bool = False  # an earlier task's options (the form says secrets must be retyped)

    @classmethod
    def of(cls, request: CreateTaskRequest) -> Prefill:
        return cls(task=request.task, start_url=request.start_url, request=request, again=True)

    def with_channel(self, defaults: Defaults) -> Prefill:
        """The form in a channel with defaults of its own opens with them (when it does not open
        with an earlier task's options)."""
        if self.request is not None or not defaults.channel:
            return self
        values = CreateTaskRequest.model_validate({"task": "-", **defaults.channel})
        start_url = self.start_url or values.start_url
        return Prefill(task=self.task, start_url=start_url, request=values)

    def initials(self) -> dict[str, str | list[str]]:
        """Block ID → the value its field opens with, as the form's parser reads it back."""
        r = self.request
        if r is None:
            return {}
        values: dict[str, str | list[str]] = {}
        if r.llm:
            values["llm"] = r.llm
        if r.max_steps:
            values["max_steps"] = str(r.max_steps)
        if r.structured_output:
            values["structured_output"] = json.dumps(json.loads(r.structured_output), indent=2)
        if r.allowed_domains:
            values["allowed_domains"] = ", ".join(r.allowed_domains)
        switches = [key for key, _ in SWITCHES if getattr(r, key)]
        if switches:
            values[Block.SWITCHES] = switches
        if r.vision is not None:
            values["vision"] = "auto" if r.vision == "auto" else "on" if r.vision else "off"
        for key in ("thinking_level", "system_prompt_extension", "judge_ground_truth"):
            if getattr(r, key):
                values[key] = str(getattr(r, key))
        if r.judge_llm:
            values["judge_llm"] = r.judge_llm
        settings = r.session_settings
        if settings is not None:
            if settings.profile_id:
                values["profile_id"] = str(settings.profile_id)
            if "proxy_country_code" in settings.model_fields_set:
                values["proxy_country_code"] = settings.proxy_country_code or "none"
            for key in ("browser_screen_width", "browser_screen_height"):
                if getattr(settings, key):
                    values[key] = str(getattr(settings, key))
        if r.skill_ids:
            values["skill_ids"] = "all" if r.skill_ids == ["*"] else ", ".join(r.skill_ids)
        if r.op_vault_id:
            values["op_vault_id"] = r.op_vault_id
        if r.metadata:
            values["metadata"] = "\n".join(f"{k}={v}" for k, v in r.metadata.items())
        return values


def task_form(
    context: FormContext,
    defaults: Defaults,
    *,
    prefill: Prefill = Prefill(),
    advanced: bool = False,
) -> dict[str, Any]:
    """The modal. Opened from a channel, it posts there; opened elsewhere, it asks where."""
    blocks: list[dict[str, Any]] = [
        kit.field(
            Block.TASK,
            "What should the browser do?",
            {
                **kit.text_input(
                    "Find the three cheapest flights from Berlin to Lisbon next Friday",
                    multiline=True,
                    initial=prefill.task,
                ),
                "focus_on_load": True,
            },
            optional=False,
        )
    ]
    if context.channel_id is None:
        blocks.append(
            kit.field(
                Block.CHANNEL,
                "Post in",
                {
                    "type": "conversations_select",
                    "default_to_current_conversation": True,
                    "response_url_enabled": True,
                    "filter": {"include": ["public", "private", "im"], "exclude_bot_users": True},
                },
                optional=False,
                hint="The task, its IDs and its updates go to a thread there.",
            )
        )
    blocks += option_fields(defaults, first_screen=True)
    blocks += _repeat_blocks()
    initials = prefill.initials()
    if prefill.start_url:
        initials["start_url"] = prefill.start_url
    if advanced or any(key not in FIRST_SCREEN for key in initials):
        blocks += _advanced_blocks()
        if prefill.again:
            blocks.append(
                _note(
                    "Every option of the earlier task is filled in. Secrets are never kept, so "
                    "type them again if it needs them."
                )
            )
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": Action.MORE_OPTIONS,
                "elements": [
                    {
                        "type": "button",
                        "action_id": Action.MORE_OPTIONS,
                        "text": kit.plain("More options…"),
                    }
                ],
            }
        )
    if initials:
        blocks = [
            kit.with_initial(b, initials[b["block_id"]])
            if b["type"] == "input" and b["block_id"] in initials
            else b
            for b in blocks
        ]
    return {
        "type": "modal",
        "callback_id": Callback.TASK_FORM,
        "title": kit.plain("Browser Use task"),
        "submit": kit.plain("Start task"),
        "close": kit.plain("Cancel"),
        "private_metadata": context.dump(),
        "blocks": blocks,
    }


REPEATS = [
    ("once", "Once, now"),
    ("hourly", "Every hour"),
    ("daily", "Every day at…"),
    ("weekdays", "Every weekday at…"),
    *[(f"weekly:{i}", f"Every week on {day.capitalize()} at…") for i, day in enumerate(DAYS)],
]
REPEAT_SWITCHES = (
    ("on_change", "Post only when the result changed"),
    ("notify", "Mention me at every run"),
)


def _repeat_blocks() -> list[dict[str, Any]]:
    """Once (a task now), or a recurring task: how often, at what time, and how it posts."""
    return [
        kit.field(
            Block.REPEAT,
            "Repeat",
            kit.select(REPEATS, "once"),
            hint="A recurring task runs on its own and posts each run in the channel.",
        ),
        kit.field(
            Block.REPEAT_AT,
            "At",
            {"type": "timepicker"},
            hint="In your own time zone, as your Slack profile says.",
        ),
        kit.field(
            Block.REPEAT_SWITCHES,
            "When it repeats",
            {"type": "checkboxes", "options": [kit.option(k, t) for k, t in REPEAT_SWITCHES]},
        ),
    ]


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


def _note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [kit.plain(text)]}


def option_fields(defaults: Defaults, *, first_screen: bool) -> list[dict[str, Any]]:
    """The option table's fields, in its order: those of the first screen, or the others."""
    return [
        kit.field(o.key, f.label, f.element(defaults), optional=not f.required, hint=f.hint)
        for o in OPTIONS
        if isinstance(f := o.form, FormField) and f.first_screen == first_screen
    ]


def _advanced_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": kit.plain("More options")},
        kit.field(
            Block.SWITCHES,
            "Agent",
            {"type": "checkboxes", "options": [kit.option(k, t) for k, t in SWITCHES]},
        ),
        *option_fields(Defaults(), first_screen=False),
    ]


# --- the submission ---------------------------------------------------------------------------


class FormErrors(Exception):
    """Messages keyed by block ID, for `response_action: errors`."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


def _raw(element: dict[str, Any]) -> str | list[str] | None:
    kind = element.get("type")
    if kind in ("checkboxes", "multi_static_select"):
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "multi_conversations_select":
        return list(element.get("selected_conversations") or [])
    if kind == "static_select":
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
    try:
        # The form opened with the admin's defaults filled in; what is there now is the choice.
        return build_request(str(values.get(Block.TASK, "")), fields, Defaults())
    except UserInputError as exc:
        block = exc.field if exc.field in values or exc.field in BY_KEY else Block.TASK
        raise FormErrors({block or Block.TASK: exc.message}) from None


# --- listeners --------------------------------------------------------------------------------


def defaults_of(deps: Deps) -> Defaults:
    """The workspace's defaults (the deployment's variables)."""
    s = deps.policy
    return Defaults(s.default_llm, s.default_max_steps, s.default_allowed_domains)


async def defaults_for(deps: Deps, channel_id: str | None) -> Defaults:
    """What a task in `channel_id` starts from: the workspace's defaults, then the channel's own
    (read fresh from the store: a change through any process applies at once)."""
    workspace = defaults_of(deps)
    if not channel_id:
        return workspace
    stored = await deps.store.channel_defaults(channel_id)
    return replace(workspace, channel=stored.values) if stored else workspace


async def open_task_form(
    client: AsyncWebClient,
    deps: Deps,
    trigger_id: str,
    context: FormContext,
    prefill: Prefill = Prefill(),
) -> bool:
    """Open the form at once: the trigger ID is good for 3 seconds, once."""
    defaults = await defaults_for(deps, context.channel_id)
    return await open_view(
        client, trigger_id, task_form(context, defaults, prefill=prefill.with_channel(defaults))
    )


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(Action.MORE_OPTIONS)
    async def handle_more_options(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Reveal the advanced options in place, keeping what was typed."""
        await ack()
        view = body["view"]
        context = FormContext.load(view.get("private_metadata"))
        update = task_form(context, defaults_of(deps), advanced=True)

        async def show_more() -> None:
            try:
                await client.views_update(view_id=view["id"], hash=view.get("hash"), view=update)
            except SLACK_ERRORS as exc:
                log.warning("slack.views_update failed: %s", exc)

        deps.inflight.spawn(show_more)

    @app.view(Callback.TASK_FORM)
    async def handle_task_form(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Check every field; answer errors under their fields, or close and start the task."""
        values = form_values(view.get("state", {}))
        context = FormContext.load(view.get("private_metadata"))
        channel_id = context.channel_id or str(values.get(Block.CHANNEL, ""))
        try:
            check_access(deps.policy, body["user"]["id"], channel_id)
            recurring = parse_repeat_fields(values, deps.policy.repeat_floor)
            request = apply_policy(parse_form(values, defaults_of(deps)), deps.policy)
        except FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        except UserInputError as exc:
            block = exc.field if exc.field in values else Block.TASK
            if exc.field == "channel" and Block.CHANNEL in values:
                block = Block.CHANNEL
            await ack(response_action="errors", errors={block: exc.message})
            return
        await ack()
        urls = body.get("response_urls") or []
        origin = Origin(
            team_id=(body.get("team") or {}).get("id", ""),
            channel_id=channel_id,
            user_id=body["user"]["id"],
            thread_ts=context.thread_ts,
            response_url=urls[0]["response_url"] if urls else None,
        )

        async def start() -> None:
            # A double click, or Slack sending the submission again, starts one task, not two.
            if not await first_time(deps, f"view:{view['id']}"):
                return
            chosen = request
            if context.channel_id is None and origin.channel_id:
                # Opened without a channel, so it could not show the channel's defaults: they
                # apply to what the person left empty (checked when they were saved).
                channel = await defaults_for(deps, origin.channel_id)
                defaults = replace(Defaults(), channel=channel.channel)
                chosen = apply_policy(parse_form(values, defaults), deps.policy)
            if recurring is None:
                await start_task(deps, client, chosen, origin)
                return
            await create_schedule(
                deps,
                client,
                origin,
                chosen,
                recurring.repeat,
                on_change=recurring.on_change,
                notify=recurring.notify,
            )

        deps.inflight.spawn(start, on_error=failure_reporter(client, origin))
