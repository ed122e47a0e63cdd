"""Block Kit builders: pure functions from data to the message a person sees.

Every piece of untrusted text (task prompts, API details) goes through `escape` and sits in a
`verbatim` mrkdwn object, so it can never mention a person or a channel.
"""

from __future__ import annotations

from typing import Any

from bot.models import TaskCreated
from handlers.ids import COMMAND
from handlers.slack_text import escape, quote, shorten

Message = dict[str, Any]
PARENT_TASK_CHARS = 500


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def usage() -> Message:
    text = (
        f"*Run a Browser Use agent from Slack*\n"
        f"`{COMMAND} <what the browser should do>` starts a task and answers in a thread.\n"
        f"Example: `{COMMAND} Find the three cheapest flights from Berlin to Lisbon next Friday`\n"
        f"`{COMMAND} help` shows this message."
    )
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}


def parent_message(user_id: str, task: str, status: str = "Starting the browser…") -> Message:
    """The channel message a task's thread hangs from: who asked, and what."""
    asked = escape(shorten(task, PARENT_TASK_CHARS))
    head = f"<@{user_id}> asked the browser:"
    return {
        "text": f"{head} {asked}",
        "blocks": [_section(f"{head}\n{quote(asked)}"), _context(status)],
    }


def parent_not_started(user_id: str, task: str) -> Message:
    return parent_message(
        user_id, task, status=":x: The task did not start. Details in the thread."
    )


def task_started(created: TaskCreated) -> Message:
    """The thread reply with both IDs, verbatim in `text` for notifications and search."""
    text = f"Task started. Task ID: {created.id} · Session ID: {created.session_id}"
    body = (
        ":rocket: *Task started*\n"
        f"*Task ID:* `{escape(created.id)}`\n"
        f"*Session ID:* `{escape(created.session_id)}`"
    )
    return {"text": text, "blocks": [_section(body)]}


def task_failed(reason: str) -> Message:
    """`reason` is mrkdwn from `handlers.errors.failure_text`, already escaped."""
    text = f":x: The task did not start. {reason}"
    return {"text": text, "blocks": [_section(text)]}


NO_THREAD_HINT = (
    "I can't post in this conversation, so there is no thread for updates. "
    "Invite me with `/invite @Browser Use` to get replies in a thread."
)


def ephemeral(message: Message, hint: str | None = None) -> Message:
    """A reply that only the person who asked sees (through the command's `response_url`)."""
    blocks = list(message["blocks"])
    if hint:
        blocks.append(_context(hint))
    return {**message, "blocks": blocks, "response_type": "ephemeral", "replace_original": False}
