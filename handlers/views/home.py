"""The App Home tab: your recent tasks, your recurring tasks, how to use the app, the admin's
limits and the credit left. Pure: what it shows comes in as arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.answers import TaskView
from bot.config import Settings
from bot.models import DEFAULT_LLM, parse_time
from bot.store import Schedule
from handlers.ids import COMMAND, Action
from handlers.slack_text import escape, shorten, usd
from handlers.views import kit
from handlers.views.schedules import schedule_blocks
from handlers.views.tracking import STATES, outcome


def limits_text(settings: Settings) -> str:
    lines = [f"• Model: `{settings.default_llm or DEFAULT_LLM}` unless you choose another"]
    if settings.allowed_llms:
        lines.append("• Models allowed: " + ", ".join(f"`{m}`" for m in settings.allowed_llms))
    if settings.default_max_steps or settings.max_steps_limit:
        lines.append(
            f"• Max steps: {settings.default_max_steps or 100} by default"
            + (f", {settings.max_steps_limit} at most" if settings.max_steps_limit else "")
        )
    if settings.domain_fence:
        lines.append("• Every task stays on: " + ", ".join(settings.domain_fence))
    if settings.forced_allowed_domains:
        lines.append("• Added to every task: " + ", ".join(settings.forced_allowed_domains))
    if settings.max_running_tasks_per_user:
        lines.append(f"• Up to {settings.max_running_tasks_per_user} running tasks per person")
    if settings.max_tasks_per_hour_per_user:
        lines.append(f"• Up to {settings.max_tasks_per_hour_per_user} tasks per person an hour")
    if settings.max_schedules_per_person:
        lines.append(f"• Up to {settings.max_schedules_per_person} recurring tasks per person")
    lines.append(f"• A recurring task repeats at most every {settings.repeat_floor} minutes")
    return "\n".join(lines)


@dataclass(frozen=True)
class Spend:
    """This UTC month's spend (US dollars, from the costs tasks reported): the person's own,
    and for admins the biggest spenders by person and by channel."""

    own: float
    by_person: list[tuple[str, float]] | None = None
    by_channel: list[tuple[str, float]] | None = None


def spend_blocks(spend: Spend) -> list[dict[str, Any]]:
    lines = [f"You: {usd(spend.own)} this month (what your tasks reported costing)."]
    if spend.by_person is not None:
        people = ", ".join(f"<@{who}> {usd(amount)}" for who, amount in spend.by_person)
        lines.append(f"By person, the biggest first: {people or 'nothing yet'}.")
    if spend.by_channel is not None:
        places = ", ".join(f"<#{where}> {usd(amount)}" for where, amount in spend.by_channel)
        lines.append(f"By channel: {places or 'nothing yet'}.")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Spend"}},
        kit.section("\n".join(lines)),
    ]


def home_view(
    tasks: list[tuple[TaskView, str | None]],
    settings: Settings,
    credit: float | None,
    *,
    admin: bool = False,
    schedules: list[Schedule] | None = None,
    logins: list[dict[str, Any]] | None = None,
    note: str | None = None,
    connected: list[dict[str, Any]] | None = None,
    spend: Spend | None = None,
) -> dict[str, Any]:
    """The Home tab. `tasks` are the person's recent tasks with a link to each thread, then
    their recurring tasks with their buttons; an admin also gets the Settings button. `note`
    (mrkdwn) says what a button just did; `connected` (many workspaces) shows the Browser Use
    project the workspace pays with."""
    blocks: list[dict[str, Any]] = [kit.section(note)] if note else []
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Your browser tasks"}})
    if not tasks:
        blocks.append(kit.section("No tasks yet. Start one with the command below."))
    for task, link in tasks:
        emoji, headline = outcome(task)
        if not task.ended:
            emoji, headline = STATES.get(task.status, (":grey_question:", task.status, ""))[:2]
        when = parse_time(task.created_at)
        stamp = (
            f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d}>"
            if when
            else ""
        )
        where = f" · <{link}|open the thread>" if link else ""
        blocks.append(
            kit.section(
                f"{emoji} *{escape(headline)}* · {escape(shorten(task.task, 120))}"
                f"\n{stamp}{where} · `{task.id}`"
            )
        )
    blocks += [
        {"type": "header", "text": {"type": "plain_text", "text": "Your recurring tasks"}},
        *schedule_blocks(
            schedules or [],
            empty=f"None. `{COMMAND} every weekday at 9:00 <task>` sets one up.",
        ),
        *(logins or []),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "How to use it"}},
        kit.section(
            f"• `{COMMAND} <what the browser should do> [options]` in a channel; "
            f"`{COMMAND} help` lists the options\n"
            f"• `{COMMAND}` alone opens the form with every option (secrets too)\n"
            "• *Run in browser* on any message, or *New browser task* from the shortcuts menu\n"
            "• Mention `@Browser Use` or DM me: follow-ups in the thread reuse the same browser; "
            "`--new` starts a fresh one, `done` closes it"
        ),
        {"type": "header", "text": {"type": "plain_text", "text": "Defaults and limits"}},
        kit.section(limits_text(settings)),
        *(spend_blocks(spend) if spend is not None else []),
    ]
    if admin:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": Action.OPEN_ADMIN_SETTINGS,
                        "text": {"type": "plain_text", "text": "Settings…"},
                    }
                ],
            }
        )
    blocks += connected or []  # many workspaces: its Browser Use project, and its buttons
    if credit is not None:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"Browser Use credit left: ${credit:,.2f}"}
                ],
            }
        )
    return {"type": "home", "blocks": blocks}
