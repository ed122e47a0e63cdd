"""Block Kit builders: pure functions from data to the message a person sees.

Every piece of untrusted text (task prompts, API details) goes through `escape` and sits in a
`verbatim` mrkdwn object, so it can never mention a person or a channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.models import (
    SESSION_METADATA_KEY,
    CreateTaskRequest,
    SlackRoute,
    TaskCreated,
    TaskView,
    parse_time,
)
from handlers.ids import COMMAND, Action, Block, MetadataEvent, Reaction
from handlers.options import OPTIONS
from handlers.payloads import TaskMessage
from handlers.slack_text import escape, escape_within, quote, shorten, slack_to_plain
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


STATES = {
    "created": (":hourglass_flowing_sand:", "Task started", "Waiting for a browser…"),
    "started": (":globe_with_meridians:", "Running", ""),
    "finished": (":white_check_mark:", "Finished", ""),
    "failed": (":x:", "Failed", ""),
    "stopped": (":octagonal_sign:", "Stopped", ""),
}


def _ids(task_id: str, session_id: str) -> str:
    return f"*Task ID:* `{escape(task_id)}`\n*Session ID:* `{escape(session_id)}`"


def _buttons(task_id: str, *, take_over: bool = False) -> dict[str, Any]:
    """Stop, Live view, Share; and Take over where the browser outlives its task (one the app
    keeps for a thread: stopping a task Browser Use made a browser for may close it)."""
    stop = {
        "type": "button",
        "action_id": Action.STOP_TASK,
        "text": {"type": "plain_text", "text": "Stop"},
        "style": "danger",
        "value": task_id,
        "confirm": {
            "title": {"type": "plain_text", "text": "Stop this task?"},
            "text": {
                "type": "plain_text",
                "text": "The agent stops where it is. This can't be undone.",
            },
            "confirm": {"type": "plain_text", "text": "Stop it"},
            "deny": {"type": "plain_text", "text": "Keep going"},
        },
    }
    live = {
        "type": "button",
        "action_id": Action.LIVE_VIEW,
        "value": task_id,
        "text": {"type": "plain_text", "text": "Live view"},
    }
    share = {
        "type": "button",
        "action_id": Action.SHARE_SESSION,
        "value": task_id,
        "text": {"type": "plain_text", "text": "Share"},
    }
    elements = [stop, live, share]
    if take_over:
        elements.append(kit.button(Action.TAKE_OVER, "Take over", task_id))
    return {"type": "actions", "block_id": Block.TASK_BUTTONS, "elements": elements}


def _save_button(task_id: str, login_name: str) -> dict[str, Any]:
    return kit.button(Action.SAVE_TAKEN_OVER, shorten(f"Save the login {login_name}", 75), task_id)


def taken_over(task_id: str, live_url: str, login_name: str | None = None) -> Message:
    """To the person who took over, alone: the browser, and how to hand it back; and, when the
    browser runs on a saved login of theirs, the button that saves what they did into it."""
    open_button = {
        **kit.button(Action.OPEN_TAKEN_OVER, "Open the browser", task_id),
        "url": live_url,
        "style": "primary",
    }
    text = (
        ":raising_hand: *The task is stopped and its browser is yours.* Open it, do what the "
        "agent was stuck on (log in, solve a check, pick an option), then click *Done, "
        "continue*: a new task goes on from there, in the same browser. The link is yours "
        "alone: whoever has it controls that browser."
    )
    return {
        "text": "The task is stopped and its browser is yours.",
        "blocks": [
            kit.section(text),
            {
                "type": "actions",
                "elements": [
                    open_button,
                    kit.button(Action.CONTINUE_TASK, "Done, continue", task_id),
                    *([_save_button(task_id, login_name)] if login_name else []),
                ],
            },
        ],
    }


def task_started(
    created: TaskCreated, *, react_ts: str | None = None, thread_session: bool = False
) -> Message:
    """The thread reply with both IDs, verbatim in `text` for notifications and search.

    It is the task's status message from then on, edited in place, with its buttons."""
    text = f"Task started. Task ID: {created.id} · Session ID: {created.session_id}"
    body = f":rocket: *Task started*\n{_ids(created.id, created.session_id)}"
    return {
        "text": text,
        "blocks": [
            kit.section(body),
            kit.context(STATES["created"][2]),
            _buttons(created.id, take_over=thread_session),
        ],
        # Found again in the thread after a restart: the task, the message to react to, and
        # whether this session is the thread's own (kept alive for follow-ups).
        "metadata": TaskMessage(
            task_id=created.id,
            session_id=created.session_id,
            react_ts=react_ts,
            thread_session=thread_session,
        ).metadata(MetadataEvent.TASK_STATUS),
    }


STATUS_MESSAGE_CHARS = 150  # a loading message is one line under the app's name


def browsing_status(task: TaskView, route: SlackRoute) -> tuple[str, list[str]]:
    """The thread's live status while the browser works ("<app> is browsing amazon.com…"), and
    the loading messages Slack rotates under it: the agent's goal, the step, the page."""
    step = task.last_step
    if step is None:
        return "is starting a browser…", ["Opening a browser for this task…"]
    host = urlsplit(step.url).hostname if step.url else None
    status = f"is browsing {host}…" if host else "is working in the browser…"
    of = f" of {route.max_steps}" if route.max_steps else ""
    messages = [shorten(step.next_goal, STATUS_MESSAGE_CHARS)] if step.next_goal else []
    messages.append(f"Step {step.number}{of}")
    if step.url:
        messages.append(shorten(step.url, STATUS_MESSAGE_CHARS))
    return status, messages


def _duration(task: TaskView) -> str | None:
    start, end = parse_time(task.started_at or task.created_at), parse_time(task.finished_at)
    if start is None or end is None or end < start:
        return None
    seconds = int((end - start).total_seconds())
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def end_reaction(task: TaskView) -> str:
    """The reaction a mention gets when its task ends."""
    good = task.status == "finished" and task.is_success is not False
    return Reaction.DONE if good else Reaction.FAILED


def outcome(task: TaskView) -> tuple[str, str]:
    """(emoji, headline) for a task's state, the agent's own success claim included."""
    emoji, headline, _ = STATES.get(task.status, (":grey_question:", task.status.title(), ""))
    if task.status == "finished" and task.is_success is False:
        return ":warning:", "Finished, but the agent says it did not succeed"
    return emoji, headline


def task_status(task: TaskView, route: SlackRoute) -> Message:
    """The status message, edited in place as the task moves; buttons only while it runs."""
    emoji, headline = outcome(task)
    step = task.last_step
    lines = [f"{emoji} *{headline}*"]
    details: list[str] = []
    if task.status == "started" and step is not None:
        of = f" of {route.max_steps}" if route.max_steps else ""
        lines[0] += f" · step {step.number}{of}"
        if step.url:
            details.append(f"On {escape(shorten(step.url, 150))}")
        if step.next_goal:
            details.append(f"Next: {escape(shorten(step.next_goal, 300))}")
    if task.ended:
        steps = len(task.steps)
        facts = [
            _duration(task),
            f"{steps} step{'s' if steps != 1 else ''}" if steps else None,
            f"${task.cost}" if task.cost else None,
            f"model `{escape(task.llm)}`" if task.llm else None,
        ]
        if task.judge_verdict is not None:
            facts.append("judge: passed" if task.judge_verdict else "judge: failed")
        if task.engine == "v4":
            # v4 reports no steps and no success claim of the agent's own: said, not guessed.
            facts.append("accurate mode (v4): steps and the agent's own success claim not reported")
        details.append(" · ".join(f for f in facts if f))
    text = f"{headline}. Task ID: {task.id} · Session ID: {task.session_id}"
    blocks = [kit.section("\n".join(lines) + "\n" + _ids(task.id, task.session_id))]
    if task.steps:
        blocks.append(steps_plan(task))
    if details:
        blocks.append(kit.context("\n".join(details)))
    if not task.ended:
        kept = task.metadata.get(SESSION_METADATA_KEY) == task.session_id
        blocks.append(_buttons(task.id, take_over=kept))
    # No metadata: chat.update keeps the message's own (with what only the first post knew).
    return {"text": text, "blocks": blocks}


PLAN_STEPS = 8  # the latest steps; the step count and the fallback text say how many in all
STEP_TITLE_CHARS = 150


def plain(text: str) -> str:
    """Untrusted text for a plain-text field: Slack's markup (`<@U…>`, `<!here>`, links) shown as
    the words it stands for (`@U…`, `@here`), so no control sequence reaches Slack at all."""
    return slack_to_plain(text).replace("<", "‹").replace(">", "›")


def steps_plan(task: TaskView) -> dict[str, Any]:
    """The agent's steps as Slack's plan: a task card per step (its goal, its page, its state).
    Titles and details are plain text (never mrkdwn), and untrusted text goes through `plain`."""
    steps = sorted(task.steps, key=lambda s: s.number)
    shown = steps[-PLAN_STEPS:]
    cards = []
    for step in shown:
        last = step is shown[-1]
        state = "complete"
        if last and not task.ended:
            state = "in_progress"
        elif last and task.status in ("failed", "stopped"):
            state = "error"
        card: dict[str, Any] = {
            "type": "task_card",
            "task_id": f"step-{step.number}",
            "title": shorten(plain(f"{step.number}. {step.next_goal or 'Step'}"), STEP_TITLE_CHARS),
            "status": state,
        }
        if step.url:
            card["details"] = {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "text", "text": shorten(plain(step.url), 300)}],
                    }
                ],
            }
        cards.append(card)
    earlier = len(steps) - len(shown)
    title = f"Steps ({earlier} earlier not shown)" if earlier else "Steps"
    return {"type": "plan", "title": title, "tasks": cards}


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
        ":hourglass: I'm still working on the previous step in this thread's browser. Stop it, "
        "or queue your follow-up to run as soon as it is done."
    )
    stop = {
        "type": "button",
        "action_id": Action.STOP_TASK,
        "value": running_task_id,
        "style": "danger",
        "text": {"type": "plain_text", "text": "Stop the previous step"},
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
