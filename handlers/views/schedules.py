"""What recurring tasks look like in Slack: the announcement, the lists with their buttons, the
"no change since" line, what changed, and the notes to the owner. Pure: tested directly.

Every moment is written as Slack's `<!date^…>`, which each reader sees in their own time zone.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime, timezone
from typing import Any

from bot.models import CreateTaskRequest
from bot.schedules import Repeat
from bot.store import Schedule
from handlers.ids import COMMAND, Action, Block
from handlers.slack_text import escape, quote, shorten
from handlers.views import kit
from handlers.views.kit import fit_mrkdwn
from handlers.views.messages import Message, describe_options, notice
from handlers.views.outcomes import structured

# A message holds at most 50 blocks; each schedule takes two.
MAX_LISTED = 20
DIFF_LINES = 20
LAST = {
    None: "not run yet",
    "finished": ":white_check_mark: finished",
    "changed": ":large_orange_diamond: changed",
    "unchanged": ":zzz: no change",
    "failed": ":x: failed",
    "skipped": ":fast_forward: skipped (I was not running)",
}


def when(seconds: float) -> str:
    """A moment as Slack shows it: in the reader's own time zone (UTC where it cannot)."""
    stamp = int(seconds)
    fallback = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _task(schedule: Schedule, chars: int = 150) -> str:
    return escape(shorten(CreateTaskRequest.from_kept(schedule.request).task, chars))


def _how(schedule: Schedule) -> list[str]:
    how = [escape(Repeat.load(schedule.repeat).describe())]
    if schedule.on_change:
        how.append("posts only when the result changed")
    if schedule.notify:
        how.append(f"mentions <@{schedule.user_id}> at every run")
    return how


def created(schedule: Schedule) -> Message:
    """Posted in the channel when a schedule is set up: what, when (in the owner's own time
    zone, said so), and where to manage it; never a profile's ID."""
    request = CreateTaskRequest.from_kept(schedule.request)
    repeat = Repeat.load(schedule.repeat)
    head = f":repeat: <@{schedule.user_id}> set up a recurring task, {escape(repeat.describe())}:"
    if repeat.kind != "interval":
        head += f"\n_Times are in <@{schedule.user_id}>'s time zone, {escape(repeat.tz)}._"
    asked = escape(shorten(request.task, 500))
    facts = [*_how(schedule)[1:], *describe_options(request)]
    facts.append(f"first run {when(schedule.next_run_at)}")
    facts.append(f"`{COMMAND} schedules` to pause, run now or delete it")
    return {
        "text": f"{head} {asked}",
        "blocks": [kit.section(f"{head}\n{quote(asked)}"), kit.context(" · ".join(facts))],
    }


def _state(schedule: Schedule) -> str:
    if schedule.paused:
        reason = f": {schedule.paused_reason}" if schedule.paused_reason else ""
        return f":double_vertical_bar: *Paused*{reason}"
    return f"Next run {when(schedule.next_run_at)}"


def _controls(schedule: Schedule) -> dict[str, Any]:
    value = str(schedule.id)
    pause = (
        kit.button(Action.SCHEDULE_RESUME, "Resume", value)
        if schedule.paused
        else kit.button(Action.SCHEDULE_PAUSE, "Pause", value)
    )
    delete = kit.button(Action.SCHEDULE_DELETE, "Delete", value) | {
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Delete this recurring task?"},
            "text": {"type": "plain_text", "text": "It will not run again. This can't be undone."},
            "confirm": {"type": "plain_text", "text": "Delete it"},
            "deny": {"type": "plain_text", "text": "Keep it"},
        },
    }
    return {
        "type": "actions",
        "block_id": f"{Block.SCHEDULE_BUTTONS}:{schedule.id}",
        "elements": [pause, kit.button(Action.SCHEDULE_RUN_NOW, "Run now", value), delete],
    }


def schedule_blocks(schedules: list[Schedule], *, empty: str) -> list[dict[str, Any]]:
    """Each schedule with its next run, its last result and its buttons (which check who
    clicks: the owner and the admins may)."""
    if not schedules:
        return [kit.section(empty)]
    shown: list[dict[str, Any]] = []
    for schedule in schedules[:MAX_LISTED]:
        where = f"in <#{schedule.channel}> · by <@{schedule.user_id}>"
        last = LAST.get(schedule.last_status, escape(schedule.last_status or ""))
        shown.append(
            kit.section(
                f"*{_task(schedule)}*\n:repeat: {' · '.join(_how(schedule))} · {where}\n"
                f"{_state(schedule)} · last run: {last}"
            )
        )
        shown.append(_controls(schedule))
    if len(schedules) > MAX_LISTED:
        shown.append(kit.context(f"And {len(schedules) - MAX_LISTED} more."))
    return shown


def channel_list(schedules: list[Schedule], note: str | None = None) -> Message:
    """`/browser-use schedules`: the channel's recurring tasks, to the person who asked. With a
    `note` (what a button did), it replaces the list the button was in."""
    head = [kit.section(note)] if note else []
    shown = schedule_blocks(
        schedules,
        empty=f"No recurring tasks in this channel. Start one with "
        f"`{COMMAND} every weekday at 9:00 <task>`.",
    )
    return {
        "text": f"Recurring tasks in this channel: {len(schedules)}",
        "blocks": [*head, kit.section("*Recurring tasks in this channel*"), *shown],
        "response_type": "ephemeral",
        "replace_original": note is not None,
    }


def comparable(output: str | None) -> str:
    """What two runs are compared by: the structured output (its keys in order), or the text
    without the whitespace around it."""
    value = structured(output)
    if value is not None:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return (output or "").strip()


def what_changed(before: str, after: str, since: float | None) -> Message:
    """The difference between the last result and this one, as lines removed and added."""
    old, new = structured(before), structured(after)
    if isinstance(old, dict) and isinstance(new, dict):
        lines = [
            f"{key}: {json.dumps(old.get(key), ensure_ascii=False)} → "
            f"{json.dumps(new.get(key), ensure_ascii=False)}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
    else:
        lines = [
            line
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
    more = f"\n…and {len(lines) - DIFF_LINES} more lines" if len(lines) > DIFF_LINES else ""
    # Inside a code block a stray ``` would end it early.
    shown = escape("\n".join(lines[:DIFF_LINES]).replace("```", "'''")) or "(whitespace only)"
    since_text = f" since {when(since)}" if since else ""
    text = fit_mrkdwn(f":large_orange_diamond: *What changed{since_text}:*\n```{shown}```{more}")
    return {"text": f"What changed{since_text}", "blocks": [kit.section(text)]}


def unchanged(schedule: Schedule, checked_at: float) -> Message:
    """The one line an unchanged run edits, instead of posting a thread."""
    since = schedule.changed_at or schedule.created_at
    text = (
        f":zzz: No change since {when(since)} in “{_task(schedule, 80)}” "
        f"(last checked {when(checked_at)}, {escape(Repeat.load(schedule.repeat).describe())})"
    )
    return {"text": f"No change in “{_task(schedule, 80)}”", "blocks": [kit.context(text)]}


def skipped(schedule: Schedule, due_at: float) -> Message:
    text = (
        f":fast_forward: Skipped the run of “{_task(schedule, 80)}” that was due "
        f"{when(due_at)}: I was not running then. Next run {when(schedule.next_run_at)}."
    )
    return {"text": "Skipped a run of a recurring task", "blocks": [kit.context(text)]}


def did_not_run(schedule: Schedule, reason: str) -> Message:
    """To the owner, privately: a run could not start. `reason` is escaped mrkdwn."""
    return notice(
        f":x: Your recurring task “{_task(schedule, 80)}” in <#{schedule.channel}> did not "
        f"run: {reason}"
    )


def paused_for_failures(schedule: Schedule, failures: int) -> Message:
    """To the owner: the schedule paused itself, and why."""
    return notice(
        f":double_vertical_bar: I paused your recurring task “{_task(schedule, 80)}” in "
        f"<#{schedule.channel}>: its last {failures} runs failed (the last one is in the "
        f"channel). Resume it from my Home tab or with `{COMMAND} schedules` once it can succeed."
    )
