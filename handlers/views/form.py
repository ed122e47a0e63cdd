"""The task form, built from the option table: its first screen holds what most tasks need;
"More options" reveals the rest in place. The view is rebuilt with the same block and action IDs,
so Slack keeps everything typed so far, and no value (a secret least of all) ever travels back to
Slack in the rebuilt view. Pure: the values it shows come in as arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.models import CreateTaskRequest
from bot.schedules import DAYS
from handlers.ids import Action, Block, Callback
from handlers.options import OPTIONS, Defaults, FormField
from handlers.payloads import FormContext
from handlers.views import kit

# The form's fields come from the option table (`handlers.options.OPTIONS`).
MAX_FORM_FILES = 5  # Slack's file_input takes up to 10; Browser Use's flow here, 5
FIRST_SCREEN = frozenset(
    o.key for o in OPTIONS if isinstance(o.form, FormField) and o.form.first_screen
)
SWITCHES = tuple((o.key, o.form) for o in OPTIONS if o.switch and isinstance(o.form, str))


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
        if r.max_cost_usd is not None:
            values["max_cost_usd"] = f"{r.max_cost_usd:g}"
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
    blocks.append(
        kit.field(
            Block.FILES,
            "Files for the browser",
            {"type": "file_input", "max_files": MAX_FORM_FILES},
            hint="Up to 5, 10 MB each: PDF, Word, Excel, CSV, text, Markdown or images.",
        )
    )
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
