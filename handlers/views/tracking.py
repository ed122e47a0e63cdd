"""A task as it goes: its status message (how it stands, its steps as a plan, its buttons), the
thread's live "is browsing…" status, the reaction it ends with, and Take over's private message."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.answers import TaskStep, TaskView
from bot.models import SESSION_METADATA_KEY, SlackRoute, TaskCreated, parse_time
from handlers.ids import Action, Block, MetadataEvent, Reaction
from handlers.payloads import TaskMessage
from handlers.slack_text import escape, shorten, slack_to_plain
from handlers.views import kit
from handlers.views.messages import Message

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


def task_status(task: TaskView, route: SlackRoute, *, streamed: bool = False) -> Message:
    """The status message, edited in place as the task moves; buttons only while it runs.
    `streamed`: its steps stream into the thread below it, so it says where, not which."""
    emoji, headline = outcome(task)
    step = task.last_step
    lines = [f"{emoji} *{headline}*"]
    details: list[str] = []
    if streamed and not task.ended:
        details.append("Its steps are shown as they happen, below.")
    elif task.status == "started" and step is not None:
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
    if task.steps and not streamed:
        blocks.append(steps_plan(task))
    if details:
        blocks.append(kit.context("\n".join(details)))
    if not task.ended:
        kept = task.metadata.get(SESSION_METADATA_KEY) == task.session_id
        blocks.append(_buttons(task.id, take_over=kept))
    # No metadata: chat.update keeps the message's own (with what only the first post knew).
    return {"text": text, "blocks": blocks}


SESSION_TITLE_CHARS = 200  # Slack's limit for an agent session's title


def session_title(task: str) -> str:
    """An agent session's title: the task, shortened, as plain text."""
    return shorten(plain(" ".join(task.split())), SESSION_TITLE_CHARS) or "Browser task"


STREAM_TEXT_CHARS = 250  # a streamed task card's title and details (Slack's: about 256)
STREAM_TITLE = "Browser steps"


def step_state(task: TaskView, number: int) -> str:
    """A step's card status as Slack spells it: the last one runs until the task ends."""
    steps = task.steps
    last = max((s.number for s in steps), default=0)
    if number != last:
        return "complete"
    if not task.ended:
        return "in_progress"
    return "error" if task.status in ("failed", "stopped") else "complete"


def step_chunks(
    task: TaskView, after: int, *, first: bool = False, shown_only: bool = False
) -> list[dict[str, Any]]:
    """What a stream is sent for the steps after step `after`: a task card each (its goal, its
    page as details, sent once: Slack appends details), and the last card shown before them
    brought to its state (complete, or error). `first`: a new stream, which opens its plan
    with its title and the latest `PLAN_STEPS` steps. `shown_only`: that last card alone (a
    stream closed for a new one to show the rest)."""
    steps = sorted(task.steps, key=lambda s: s.number)
    chunks: list[dict[str, Any]] = []
    if first:
        chunks.append({"type": "plan_update", "title": STREAM_TITLE})
        new = steps[-PLAN_STEPS:]
    else:
        new = [] if shown_only else [s for s in steps if s.number > after]
        shown = [s for s in steps if s.number == after]
        chunks += [
            {
                "type": "task_update",
                "id": f"step-{s.number}",
                "title": step_title(s, STREAM_TEXT_CHARS),
                "status": step_state(task, s.number),
            }
            for s in shown
        ]
    for step in new:
        card: dict[str, Any] = {
            "type": "task_update",
            "id": f"step-{step.number}",
            "title": step_title(step, STREAM_TEXT_CHARS),
            "status": step_state(task, step.number),
        }
        if step.url:
            card["details"] = shorten(plain(step.url), STREAM_TEXT_CHARS)
        chunks.append(card)
    return chunks


def step_title(step: TaskStep, limit: int) -> str:
    """A step's card title (a stream's, a plan's): its number and goal, as plain text."""
    return shorten(plain(f"{step.number}. {step.next_goal or 'Step'}"), limit)


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
        card: dict[str, Any] = {
            "type": "task_card",
            "task_id": f"step-{step.number}",
            "title": step_title(step, STEP_TITLE_CHARS),
            "status": step_state(task, step.number),
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
