"""What the task buttons and `/browser-use stop|status` do, in one place that the listeners call
(the buttons in handlers/listeners/task_buttons.py, the subcommands of the command and of a
mention).

Stop, Live view and Share are for the person who started the task and the admins. The live view
gives full control of the browser (and whatever it is logged in to), so it is only ever told to
the clicker, never posted in the channel.
"""

from __future__ import annotations

import logging

from bot.browser_use import BrowserUseError, NotFoundError
from bot.deps import Deps
from bot.models import SlackRoute, TaskView
from bot.redact import hide
from handlers.errors import UserInputError, failure_text
from handlers.slack_text import escape
from handlers.views import messages

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


async def task_status(deps: Deps, task_id: str) -> messages.Message:
    """The status message of any task of this account, for `/browser-use status`."""
    try:
        task = await deps.browser_use.get_task(task_id)
    except BrowserUseError as exc:
        return messages.notice(failure_text(exc))
    route = SlackRoute.from_metadata(task.metadata) or SlackRoute(
        team="", channel="", thread_ts=None, user=""
    )
    message = messages.task_status(task, route)
    message.pop("metadata", None)
    return message


async def live_view(deps: Deps, user_id: str, task_id: str) -> str:
    """The live view link for `user_id` alone, or why there is none (mrkdwn)."""
    try:
        task = await controlled_task(deps, user_id, task_id, "open its live view")
        session = await deps.browser_use.get_session(task.session_id)
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    if not session.live_url or session.status != "active":
        return (
            "The browser is not up right now, so there is no live view. Try again in a few seconds."
        )
    return (
        f":eyes: Live view (only you see this; it gives full control of the browser, so don't "
        f"share it): {escape(hide(session.live_url))}"
    )


async def share(deps: Deps, user_id: str, task_id: str) -> tuple[str, bool]:
    """A public replay link of the task's session: (the mrkdwn, True to post it in the thread),
    or (why not, False: told to the clicker alone)."""
    try:
        task = await controlled_task(deps, user_id, task_id, "share it")
        shared = await deps.browser_use.share_session(task.session_id)
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc), False
    text = (
        f":link: <@{user_id}> shared a public replay of this browser session: "
        f"{escape(shared.share_url)}"
    )
    return text, True
