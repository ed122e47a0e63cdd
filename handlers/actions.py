"""The buttons on a task's status message, and the same controls from `/browser-use stop|status`.

Stop, Live view and Share are for the person who started the task and the admins. The live view
gives full control of the browser (and whatever it is logged in to), so it is only ever sent
ephemerally, never posted in the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseError, NotFoundError
from bot.deps import Deps
from bot.models import SlackRoute, TaskView
from handlers import blocks
from handlers.errors import UserInputError, failure_text, internal_error_text
from handlers.ids import Action
from handlers.payloads import task_of
from handlers.slack_io import post, tell_clicker
from handlers.slack_text import escape

log = logging.getLogger(__name__)


async def controlled_task(deps: Deps, user_id: str, task_id: str, doing: str) -> TaskView:
    """The task, if `user_id` may control it; else a `UserInputError` saying who may."""
    try:
        task = await deps.browser_use.get_task(task_id)
    except NotFoundError:
        raise UserInputError(
            f"There is no task `{escape(task_id)}` in this Browser Use account.", mrkdwn=True
        ) from None
    route = SlackRoute.from_metadata(task.metadata)
    owner = route.user if route else None
    if owner is None and user_id not in deps.policy.admin_user_ids:
        raise UserInputError(f"That task was not started from Slack, so only an admin can {doing}.")
    if owner is not None and not deps.may_control(user_id, owner):
        # The owner ID comes from a validated route (Slack ID characters only), so it is safe.
        raise UserInputError(
            f"Only <@{owner}> (who started it) or an admin can {doing}.", mrkdwn=True
        )
    return task


async def stop_task(deps: Deps, user_id: str, task_id: str) -> str:
    """Stop a task for `user_id`; the mrkdwn to tell them."""
    try:
        task = await controlled_task(deps, user_id, task_id, "stop this task")
        if task.ended:
            return f"That task has already {task.status}."
        await deps.browser_use.stop_task(task_id)
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    log.info("task.stop_requested task_id=%s by=%s", task_id, user_id)
    deps.inflight.spawn(lambda: deps.tracker.refresh(task_id))
    return ":octagonal_sign: Stopping the task. Its thread will say when it has stopped."


async def task_status(deps: Deps, task_id: str) -> blocks.Message:
    """The status message of any task of this account, for `/browser-use status`."""
    try:
        task = await deps.browser_use.get_task(task_id)
    except BrowserUseError as exc:
        return blocks.notice(failure_text(exc))
    route = SlackRoute.from_metadata(task.metadata) or SlackRoute(
        team="", channel="", thread_ts=None, user=""
    )
    message = blocks.task_status(task, route)
    message.pop("metadata", None)
    return message


def _reporter(client: AsyncWebClient, body: dict[str, Any]) -> Callable[[str], Awaitable[None]]:
    async def report(reference: str) -> None:
        await tell_clicker(client, body, internal_error_text(reference))

    return report


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(Action.STOP_TASK)
    async def handle_stop(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Stop the task, if the clicker may."""
        await ack()
        task_id = task_of(body)

        async def work() -> None:
            await tell_clicker(client, body, await stop_task(deps, body["user"]["id"], task_id))

        deps.inflight.spawn(work, on_error=_reporter(client, body))

    @app.action(Action.LIVE_VIEW)
    async def handle_live_view(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Send the live view link to the clicker alone."""
        await ack()
        task_id = task_of(body)

        async def work() -> None:
            try:
                task = await controlled_task(
                    deps, body["user"]["id"], task_id, "open its live view"
                )
                session = await deps.browser_use.get_session(task.session_id)
            except (UserInputError, BrowserUseError) as exc:
                await tell_clicker(client, body, failure_text(exc))
                return
            if not session.live_url or session.status != "active":
                await tell_clicker(
                    client,
                    body,
                    "The browser is not up right now, so there is no "
                    "live view. Try again in a few seconds.",
                )
                return
            await tell_clicker(
                client,
                body,
                f":eyes: Live view (only you see this; it gives full control of the browser, "
                f"so don't share it): {escape(session.live_url)}",
            )

        deps.inflight.spawn(work, on_error=_reporter(client, body))

    @app.action(Action.SHARE_SESSION)
    async def handle_share(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Create a public watch link and post it in the thread."""
        await ack()
        task_id = task_of(body)
        user_id = body["user"]["id"]

        async def work() -> None:
            try:
                task = await controlled_task(deps, user_id, task_id, "share it")
                share = await deps.browser_use.share_session(task.session_id)
            except (UserInputError, BrowserUseError) as exc:
                await tell_clicker(client, body, failure_text(exc))
                return
            message = body.get("message") or {}
            text = (
                f":link: <@{user_id}> shared a public replay of this browser session: "
                f"{escape(share.share_url)}"
            )
            thread_ts = message.get("thread_ts") or message.get("ts")
            await post(client, body["channel"]["id"], blocks.notice(text), thread_ts)

        deps.inflight.spawn(work, on_error=_reporter(client, body))
