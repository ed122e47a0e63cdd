"""Block Kit builders for asking: usage, the parent message (who asked what, with which
options), and the short notices and answers a person reads (a task as it goes: `tracking`; what
it gave: `outcomes`).

Every piece of untrusted text (task prompts, API details) goes through `escape` and sits in a
`verbatim` mrkdwn object, so it can never mention a person or a channel.
"""

from __future__ import annotations

from typing import Any

from bot.models import CreateTaskRequest
from handlers.ids import COMMAND, Action, Block
from handlers.options import OPTIONS
from handlers.slack_text import escape, quote, shorten
from handlers.subcommands import help_lines
from handlers.views import kit
from handlers.views.kit import fit_mrkdwn

Message = dict[str, Any]
PARENT_TASK_CHARS = 500


def usage() -> Message:
    """`/browser-use help`: how to use the command, and every flag with an example."""
    flags = "\n".join(
        f"• `{' | '.join(o.flags)}`: {o.help}. `{o.example}`" for o in OPTIONS if o.inline
    )
    intro = (
        f"*Run a Browser Use agent from Slack*\n{help_lines()}\n"
        f"Example: `{COMMAND} Check the price of the Sony WH-1000XM5 --url https://www.amazon.com "
        f"--model gpt-4.1 --max-steps 30 --flash`. Options can stand anywhere; quote values "
        f"with spaces. Recurring tasks run in your time zone."
    )
    return {
        "response_type": "ephemeral",
        "text": f"{intro}\n*Options*\n{flags}",
        "blocks": [kit.section(intro), kit.section(f"*Options*\n{flags}")],
    }


STARTING = "Starting the browser…"
NOT_STARTED = ":x: The task did not start. Details in the thread."


def describe_options(request: CreateTaskRequest) -> list[str]:
    """The options a person chose, in words (escaped). Secrets are counted, never shown."""
    r, parts = request, []
    if r.accurate:
        parts.append("accurate mode")
    if r.max_cost_usd is not None:
        parts.append(f"at most ${r.max_cost_usd:g}")
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
            # Never its ID in a channel: with it, anyone could act as whoever logged in there.
            parts.append("a saved browser profile")
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


def parent_message(
    user_id: str | None,
    request: CreateTaskRequest,
    status: str = STARTING,
    *,
    workflow: bool = False,
    channel_defaults: tuple[str, ...] = (),
    recurring: str | None = None,
    login: str | None = None,
) -> Message:
    """The message a task's thread hangs from: who asked (a person, a workflow on someone's
    behalf, or a recurring task, which mentions its owner only if `user_id` is given), what, and
    with which options; `login` (mrkdwn) says whose saved login the browser acts as."""
    asked = escape(shorten(request.task, PARENT_TASK_CHARS))
    if recurring is not None:
        head = f":repeat: Recurring task ({escape(recurring)})" + (
            f" for <@{user_id}>:" if user_id else ":"
        )
    elif workflow:
        head = "A workflow asked the browser" + (f" for <@{user_id}>:" if user_id else ":")
    else:
        head = f"<@{user_id}> asked the browser:"
    options = describe_options(request)
    if channel_defaults:
        options.insert(0, "channel defaults: " + escape(", ".join(channel_defaults)))
    if login:
        options.insert(0, login)
    body = f"{head}\n{quote(asked)}"
    context = " · ".join([*options, status]) if options else status
    return {"text": f"{head} {asked}", "blocks": [kit.section(body), kit.context(context)]}


def notice(text: str) -> Message:
    """A one-section message; `text` is mrkdwn that is already escaped."""
    return {"text": fit_mrkdwn(text), "blocks": [kit.section(text)]}


def mention_usage() -> Message:
    return notice(
        "Tell me what the browser should do, like `@Browser Use find the opening hours of the "
        "Louvre`. Options work as on the command (`--model gpt-4.1 --url https://…`; "
        f"`{COMMAND} help` lists them). In this thread, follow-ups run in the same browser "
        "(same cookies, same page); `--new` starts a fresh one, and `done` closes it."
    )


def session_busy(running_task_id: str, queue_value: str | None) -> Message:
    """A follow-up while the thread's browser is still busy: never lost, never a raw error."""
    text = (
        ":hourglass: I'm still working on the previous task in this thread's browser. Stop that "
        "task, or queue your follow-up to run as soon as it is done."
    )
    stop = {
        "type": "button",
        "action_id": Action.STOP_TASK,
        "value": running_task_id,
        "style": "danger",
        "text": {"type": "plain_text", "text": "Stop the previous task"},
    }
    buttons = [stop]
    if queue_value is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": Action.QUEUE_FOLLOW_UP,
                "value": queue_value,
                "text": {"type": "plain_text", "text": "Queue my follow-up"},
            }
        )
    else:
        text += " (Your follow-up is too long to queue: ask again when it is done.)"
    return {
        "text": text,
        "blocks": [
            kit.section(text),
            {"type": "actions", "block_id": Block.BUSY_BUTTONS, "elements": buttons},
        ],
    }


def ran_again(user_id: str) -> Message:
    return notice(f":repeat: <@{user_id}> is running this task again, with the same options.")


def session_closed(reason: str, idle_minutes: int | None = None) -> Message:
    why = f"after {idle_minutes} idle minutes" if reason == "idle" else "as asked"
    return notice(
        f":white_check_mark: I closed this thread's browser {why}, so it no longer costs "
        "anything. Mention me here to start a new one."
    )


def queued(wait: float) -> Message:
    text = (
        f":hourglass: Queued: many tasks were asked for at once, and Browser Use takes them at a "
        f"steady pace. This one goes in about {max(1, round(wait))} s."
    )
    return notice(text)


def task_failed(reason: str) -> Message:
    """`reason` is mrkdwn from `handlers.errors.failure_text`, already escaped."""
    return notice(f":x: The task did not start. {reason}")


NO_THREAD_HINT = (
    "I can't post in this conversation, so there is no thread for updates. "
    "Invite me with `/invite @Browser Use` to get replies in a thread."
)


def with_hint(message: Message, hint: str | None) -> Message:
    """`message` with a line of advice under it."""
    if not hint:
        return message
    return {**message, "blocks": [*message["blocks"], kit.context(hint)]}


def ephemeral(message: Message, hint: str | None = None) -> Message:
    """A reply that only the person who asked sees (through a `response_url`)."""
    return {**with_hint(message, hint), "response_type": "ephemeral", "replace_original": False}
