"""What a task gave: its result message (the answer laid out, structured output as fields, long
output attached whole) and the buttons under it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.answers import TaskView
from bot.models import SESSION_METADATA_KEY, SlackRoute
from handlers.ids import Action, Block, MetadataEvent
from handlers.payloads import TaskMessage
from handlers.slack_text import escape, escape_within, shorten
from handlers.views import kit
from handlers.views.messages import Message
from handlers.views.tracking import outcome

SECTION_CHARS = 2900
PREVIEW_CHARS = 1500


def structured(output: str | None) -> Any:
    """The output as JSON, when it is a JSON object or list (structured output)."""
    if not output or output.lstrip()[:1] not in ("{", "["):
        return None
    try:
        value = json.loads(output)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _json_fields(value: Any) -> tuple[list[dict[str, Any]], int]:
    """Up to ten `key: value` fields of a JSON object (or of each row of a list): (fields, left)."""
    rows = value if isinstance(value, list) else [value]
    pairs: list[tuple[str, Any]] = []
    for i, row in enumerate(rows):
        items = row.items() if isinstance(row, dict) else [("value", row)]
        prefix = f"{i + 1}. " if isinstance(value, list) else ""
        pairs += [(f"{prefix}{k}", v) for k, v in items]
    # A field holds 2,000 characters as Slack counts them: after escaping.
    fields = [
        kit.mrkdwn(
            f"*{escape_within(str(k), 400)}*\n"
            f"{escape_within(v if isinstance(v, str) else json.dumps(v), 1500)}"
        )
        for k, v in pairs[:10]
    ]
    return fields, max(0, len(pairs) - 10)


@dataclass(frozen=True)
class Result:
    """The result reply, and what to attach to the thread after it."""

    message: Message
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def task_result(
    task: TaskView, route: SlackRoute, *, mention_asker: bool = True, again: bool = True
) -> Result:
    """The reply that tells the person how it ended, mentioning them so they are notified
    (nobody, for a workflow step that names nobody), with Run again and Change and run (for
    the person who asked and the admins; `again=False` when the request was not kept)."""
    emoji, headline = outcome(task)
    mention = f"<@{route.user}>" if mention_asker else ""
    blocks: list[dict[str, Any]] = []
    attachments: list[tuple[str, bytes]] = []
    head = f"{emoji} {mention} *{headline}.*".replace("  ", " ")
    step = task.last_step
    if task.status in ("failed", "stopped"):
        where = []
        if step is not None:
            where.append(f"It stopped at step {step.number}")
            if step.url:
                where.append(f"on {escape(shorten(step.url, 150))}")
            if step.next_goal:
                where.append(f"while trying to: {escape(shorten(step.next_goal, 300))}")
        head += " " + (" ".join(where) + "." if where else "It ended before taking a step.")
    blocks.append(kit.section(head))
    value = structured(task.output)
    if value is not None:
        fields, left = _json_fields(value)
        if fields:
            blocks.append({"type": "section", "fields": fields})
        note = f"+{left} more in result.json" if left else "The raw JSON is in result.json"
        blocks.append(kit.context(note))
        attachments.append(
            ("result.json", json.dumps(value, indent=2, ensure_ascii=False).encode())
        )
    elif task.output and task.output.strip():
        output = task.output.strip()
        # Measured as Slack counts it: escaping turns each `&` into five characters.
        if len(escape(output)) > SECTION_CHARS:
            blocks.append(kit.section(escape_within(output, PREVIEW_CHARS)))
            blocks.append(
                kit.context(f"The whole output ({len(output):,} characters) is in output.txt")
            )
            attachments.append(("output.txt", output.encode()))
        else:
            blocks.append(kit.section(escape(output)))
    elif task.status == "finished":
        blocks.append(kit.context("The agent gave no written answer."))
    if task.output_files:
        names = ", ".join(escape(f.file_name) for f in task.output_files[:10])
        blocks.append(kit.context(f"Files from the task: {names}"))
    buttons = [
        kit.button(Action.RUN_AGAIN, "Run again", task.id),
        kit.button(Action.CHANGE_AND_RUN, "Change and run…", task.id),
    ]
    if task.metadata.get(SESSION_METADATA_KEY):
        blocks.append(
            kit.context(
                "The browser stays open for this thread: mention me here to keep "
                "going in it, or say `done` to close it."
            )
        )
        buttons.append(kit.button(Action.CLOSE_SESSION, "Close session", task.session_id))
    if not again:
        buttons = buttons[2:]
    if buttons:
        blocks.append({"type": "actions", "block_id": Block.RESULT_BUTTONS, "elements": buttons})
    text = f"{mention} {headline}: {escape(shorten(task.output or '', 200)) or task.status}"
    text = text.strip()
    return Result(
        message={
            "text": text,
            "blocks": blocks,
            "metadata": TaskMessage(task_id=task.id, session_id=task.session_id).metadata(
                MetadataEvent.TASK_RESULT
            ),
        },
        attachments=attachments,
    )
