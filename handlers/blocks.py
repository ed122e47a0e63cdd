"""Block Kit builders: pure functions from data to the message a person sees.

Every piece of untrusted text (task prompts, API details) goes through `escape` and sits in a
`verbatim` mrkdwn object, so it can never mention a person or a channel.
"""

from __future__ import annotations

from typing import Any

from bot.models import CreateTaskRequest, TaskCreated
from handlers.ids import COMMAND
from handlers.options import OPTIONS
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
    """`/browser-use help`: how to use the command, and every flag with an example."""
    flags = "\n".join(
        f"• `{' | '.join(o.flags)}`: {o.help}. `{o.example}`" for o in OPTIONS if o.inline
    )
    intro = (
        f"*Run a Browser Use agent from Slack*\n"
        f"`{COMMAND} <what the browser should do> [options]` starts a task and answers in a "
        f"thread. Options can stand anywhere; quote values with spaces.\n"
        f"Example: `{COMMAND} Check the price of the Sony WH-1000XM5 --url https://www.amazon.com "
        f"--model gpt-4.1 --max-steps 30 --flash`\n"
        f"`{COMMAND}` alone (or `{COMMAND} form`) opens the task form with every option, "
        f"secrets included. `{COMMAND} help` shows this message."
    )
    return {
        "response_type": "ephemeral",
        "text": f"{intro}\n*Options*\n{flags}",
        "blocks": [_section(intro), _section(f"*Options*\n{flags}")],
    }


STARTING = "Starting the browser…"
NOT_STARTED = ":x: The task did not start. Details in the thread."


def describe_options(request: CreateTaskRequest) -> list[str]:
    """The options a person chose, in words (escaped). Secrets are counted, never shown."""
    r, parts = request, []
    if r.llm:
        parts.append(f"model `{r.llm}`")
    if r.start_url:
        parts.append(f"starts at {shorten(r.start_url, 80)}")
    if r.max_steps:
        parts.append(f"max {r.max_steps} steps")
    if r.allowed_domains:
        parts.append(f"only {shorten(', '.join(r.allowed_domains), 120)}")
    if r.structured_output:
        parts.append("structured output")
    parts += [
        name
        for name, on in (
            ("flash mode", r.flash_mode),
            ("thinking", r.thinking),
            ("highlighting", r.highlight_elements),
        )
        if on
    ]
    if r.thinking_level:
        parts.append(f"thinking level {r.thinking_level}")
    if r.vision is not None:
        parts.append(f"vision {'auto' if r.vision == 'auto' else 'on' if r.vision else 'off'}")
    if r.system_prompt_extension:
        parts.append("extra instructions")
    if r.judge:
        parts.append("judged" + (" against an expected answer" if r.judge_ground_truth else ""))
    if r.judge_llm:
        parts.append(f"judge model `{r.judge_llm}`")
    if r.session_id:
        parts.append(f"in session `{r.session_id}`")
    s = r.session_settings
    if s is not None:
        if s.profile_id:
            parts.append(f"profile `{s.profile_id}`")
        if "proxy_country_code" in s.model_fields_set:
            parts.append(f"proxy {s.proxy_country_code or 'off'}")
        if s.browser_screen_width or s.browser_screen_height:
            parts.append(f"screen {s.browser_screen_width or '?'}x{s.browser_screen_height or '?'}")
    if r.skill_ids:
        parts.append("all skills" if r.skill_ids == ["*"] else f"{len(r.skill_ids)} skill(s)")
    if r.op_vault_id:
        parts.append("1Password vault")
    if r.secrets:
        parts.append(f"{len(r.secrets)} secret{'s' if len(r.secrets) != 1 else ''} passed")
    if r.metadata:
        parts.append(f"metadata {shorten(', '.join(r.metadata), 80)}")
    return [escape(p) for p in parts]


def parent_message(user_id: str, request: CreateTaskRequest, status: str = STARTING) -> Message:
    """The message a task's thread hangs from: who asked, what, and with which options."""
    asked = escape(shorten(request.task, PARENT_TASK_CHARS))
    head = f"<@{user_id}> asked the browser:"
    options = describe_options(request)
    body = f"{head}\n{quote(asked)}"
    context = " · ".join([*options, status]) if options else status
    return {"text": f"{head} {asked}", "blocks": [_section(body), _context(context)]}


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
