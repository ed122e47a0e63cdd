"""The App Home tab, published: the person's recent tasks (with a link to each thread), their
recurring tasks and the credit left, laid out by `handlers.views.home`; and the Messages tab's
suggested prompts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseError
from bot.deps import Deps
from bot.models import SlackRoute
from handlers.access import is_admin
from handlers.ids import SUGGESTED_PROMPTS
from handlers.slack_io import SLACK_ERRORS
from handlers.views import kit
from handlers.views import workspace as views
from handlers.views.home import Spend, home_view
from handlers.views.logins import home_logins

log = logging.getLogger(__name__)
RECENT = 10


async def publish_home(
    deps: Deps, client: AsyncWebClient, user_id: str, *, note: str | None = None
) -> None:
    if not deps.connected:
        # Many workspaces, before Browser Use is connected: where to connect, and who can.
        admin = await is_admin(deps, client, user_id)
        blocks = ([kit.section(note)] if note else []) + views.connect_section(admin)
        await _publish(client, user_id, {"type": "home", "blocks": blocks})
        return
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
    account = None
    # A key without billing access: the Home tab simply does not show the credit.
    with contextlib.suppress(BrowserUseError):
        account = await deps.browser_use.get_account()
    credit = account.total_credits_balance_usd if account else None

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
    connected: list[dict[str, Any]] = []
    if deps.tenant is not None and (key := await deps.store.workspace_key(deps.tenant)):
        # Many workspaces: the project and credit it pays with, never the key.
        project = account.project_id if account else key["project_id"]
        connected = views.connected_blocks(project, credit, key["connected_by"], admin)
        credit = None  # said there
    view = home_view(
        list(zip(tasks, links, strict=True)),
        deps.policy,
        credit,
        admin=admin,
        schedules=await deps.store.schedules(user=user_id),
        logins=home_logins(await deps.store.logins(owner=user_id), user_id),
        note=note,
        connected=connected,
        spend=Spend(
            own=(await deps.store.spent(user_id, None))["max_spend_per_person_month"],
            by_person=await deps.store.spend_by("user_id") if admin else None,
            by_channel=await deps.store.spend_by("channel") if admin else None,
        ),
    )
    await _publish(client, user_id, view)


async def _publish(client: AsyncWebClient, user_id: str, view: dict[str, Any]) -> None:
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
