"""The App Home tab: your recent tasks, how to use the app, the admin's limits, the credit left."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseError
from bot.config import Settings
from bot.deps import Deps
from bot.models import DEFAULT_LLM, SlackRoute, TaskView, parse_time
from bot.store import Schedule
from handlers.access import is_admin
from handlers.ids import COMMAND, SUGGESTED_PROMPTS, Action
from handlers.slack_io import SLACK_ERRORS
from handlers.slack_text import escape, shorten
from handlers.views.messages import STATES, outcome
from handlers.views.schedules import schedule_blocks

log = logging.getLogger(__name__)
RECENT = 10


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def limits_text(settings: Settings) -> str:
    lines = [f"• Model: `{settings.default_llm or DEFAULT_LLM}` unless you choose another"]
    if settings.allowed_llms:
        lines.append("• Models allowed: " + ", ".join(f"`{m}`" for m in settings.allowed_llms))
    if settings.default_max_steps or settings.max_steps_limit:
        lines.append(
            f"• Max steps: {settings.default_max_steps or 100} by default"
            + (f", {settings.max_steps_limit} at most" if settings.max_steps_limit else "")
        )
    if settings.forced_allowed_domains:
        lines.append("• Every task stays on: " + ", ".join(settings.forced_allowed_domains))
    if settings.max_running_tasks_per_user:
        lines.append(f"• Up to {settings.max_running_tasks_per_user} running tasks per person")
    if settings.max_tasks_per_hour_per_user:
        lines.append(f"• Up to {settings.max_tasks_per_hour_per_user} tasks per person an hour")
    if settings.max_schedules_per_person:
        lines.append(f"• Up to {settings.max_schedules_per_person} recurring tasks per person")
    lines.append(f"• A recurring task repeats at most every {settings.repeat_floor} minutes")
    return "\n".join(lines)


def home_view(
    tasks: list[tuple[TaskView, str | None]],
    settings: Settings,
    credit: float | None,
    *,
    admin: bool = False,
    schedules: list[Schedule] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The Home tab. `tasks` are the person's recent tasks with a link to each thread, then
    their recurring tasks with their buttons; an admin also gets the Settings button. `note`
    (mrkdwn) says what a button just did."""
    blocks: list[dict[str, Any]] = [_section(note)] if note else []
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Your browser tasks"}})
    if not tasks:
        blocks.append(_section("No tasks yet. Start one with the command below."))
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
            _section(
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
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "How to use it"}},
        _section(
            f"• `{COMMAND} <what the browser should do> [options]` in a channel; "
            f"`{COMMAND} help` lists the options\n"
            f"• `{COMMAND}` alone opens the form with every option (secrets too)\n"
            "• *Run in browser* on any message, or *New browser task* from the shortcuts menu\n"
            "• Mention `@Browser Use` or DM me: follow-ups in the thread reuse the same browser; "
            "`--new` starts a fresh one, `done` closes it"
        ),
        {"type": "header", "text": {"type": "plain_text", "text": "Defaults and limits"}},
        _section(limits_text(settings)),
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


async def publish_home(
    deps: Deps, client: AsyncWebClient, user_id: str, *, note: str | None = None
) -> None:
    tasks: list[TaskView] = []
    try:
        listing = await deps.browser_use.list_tasks(page_size=100)
        tasks = [
            t
            for t in listing.items
            if (route := SlackRoute.from_metadata(t.metadata)) and route.user == user_id
        ]
    except BrowserUseError as exc:
        log.warning("home.tasks_unavailable: %s", exc)
    tasks = sorted(tasks, key=lambda t: t.created_at or "", reverse=True)[:RECENT]
    credit = None
    # A key without billing access: the Home tab simply does not show the credit.
    with contextlib.suppress(BrowserUseError):
        credit = (await deps.browser_use.get_account()).total_credits_balance_usd

    async def link(task: TaskView) -> str | None:
        route = SlackRoute.from_metadata(task.metadata)
        if route is None or route.thread_ts is None:
            return None
        try:
            found = await client.chat_getPermalink(
                channel=route.channel, message_ts=route.thread_ts
            )
            return str(found["permalink"])
        except SLACK_ERRORS:
            return None

    links = await asyncio.gather(*(link(t) for t in tasks))
    admin = await is_admin(deps, client, user_id)
    view = home_view(
        list(zip(tasks, links, strict=True)),
        deps.policy,
        credit,
        admin=admin,
        schedules=await deps.store.schedules(user=user_id),
        note=note,
    )
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SLACK_ERRORS as exc:
        log.warning("slack.views_publish failed: %s", exc)


async def suggest_prompts(client: AsyncWebClient, channel_id: str) -> None:
    """The Messages tab's suggested prompts. Under `agent_view` they belong to the DM itself:
    Slack ignores them, silently, when they are sent with a thread."""
    try:
        await client.assistant_threads_setSuggestedPrompts(
            channel_id=channel_id, prompts=[dict(p) for p in SUGGESTED_PROMPTS]
        )
    except SLACK_ERRORS as exc:
        log.warning("slack.suggested_prompts failed: %s", exc)
