"""What the task buttons and `/browser-use stop|status` do, in one place that the listeners call
(the buttons in handlers/listeners/task_buttons.py, the subcommands of the command and of a
mention).

Stop, Live view, Share and Take over are for the person who started the task and the admins. The
live view gives full control of the browser (and whatever it is logged in to), so it is only ever
told to the clicker, never posted in the channel.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseError, NotFoundError
from bot.deps import Deps
from bot.models import SESSION_METADATA_KEY, TASK_MAX_CHARS, CreateTaskRequest, SlackRoute
from bot.redact import hide
from bot.store import AuditEvent, Login
from handlers.access import check_browser_of_task
from handlers.errors import UserInputError, failure_text
from handlers.flows.following import session_after
from handlers.flows.logins import saved_domains
from handlers.flows.submit import NotStarted, Origin, first_time, start_task, write_audit
from handlers.slack_io import post, set_session, tell_in_thread
from handlers.slack_text import escape
from handlers.views import messages, tracking

log = logging.getLogger(__name__)


async def controlled_task(deps: Deps, user_id: str, task_id: str, doing: str) -> TaskView:
    """The task, if `user_id` may control it; else a `UserInputError` saying who may."""
    record = await deps.store.task(task_id)
    try:
        task = await deps.browser_use.read(task_id, record.engine if record else "v2")
    except NotFoundError:
        raise UserInputError(
            f"There is no task `{escape(task_id)}` in this Browser Use account.", mrkdwn=True
        ) from None
    # Who started it: the store knows every task of the app (a v4 run has no metadata); a task
    # it lost is known by the Slack route in its Browser Use metadata. First of all, the task
    # must be this workspace's: two workspaces may pay with one Browser Use project.
    route = SlackRoute.from_metadata(task.metadata)
    if record is None and route is not None and not deps.tracker.sink.accepts(route):
        log.warning("task.other_workspace task_id=%s team=%s", task_id, route.team)
        raise UserInputError(
            f"There is no task `{escape(task_id)}` in this workspace.", mrkdwn=True
        )
    owner = record.user_id if record else route.user if route else None
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
        await _stop(deps, user_id, task)
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    return ":octagonal_sign: Stopping the task. Its thread will say when it has stopped."


async def _stop(deps: Deps, user_id: str, task: TaskView) -> None:
    """Stop it at Browser Use (a task, or a v4 run), into the audit trail, and watch it end."""
    await deps.browser_use.stop(task.id, task.engine)
    log.info("task.stop_requested task_id=%s by=%s", task.id, user_id)
    await _audit(deps, user_id, "task.stopped", task.id)
    deps.inflight.spawn(lambda: deps.tracker.refresh(task.id, watch=True))


async def stop_from_slack(
    deps: Deps, client: AsyncWebClient, channel: str, thread_ts: str, user_id: str, click: str
) -> None:
    """Slack's own stop button on a thread's agent session (`agent_session_stopped`): the
    thread's running task (or v4 run) stops under the Stop button's rule (the one who started
    it, or an admin); anyone else is told privately and nothing stops. Once, whichever process
    gets the event, however often Slack sends it (`click`: the event's ts). The session leaves
    `processing` (Slack leaves that to the app)."""
    if not await first_time(deps, f"session-stop:{channel}:{thread_ts}:{click}"):
        return
    latest = await deps.store.latest_in_thread(channel, thread_ts)
    if latest is None or latest.reported_at is not None:
        # Nothing runs: the session says what the thread has (a browser kept, or none).
        after = session_after(latest) if latest else "closed"
        await set_session(client, channel, thread_ts, after)
        await _tell(client, channel, user_id, thread_ts, "Nothing is running in this thread.")
        return
    task_id = latest.task_id
    try:
        task = await controlled_task(deps, user_id, task_id, "stop this task")
        if task.ended:
            await _tell(client, channel, user_id, thread_ts, f"It has already {task.status}.")
            return
        await _stop(deps, user_id, task)
    except (UserInputError, BrowserUseError) as exc:
        # It runs on: Slack's stop button is shown again for those who may use it.
        await set_session(client, channel, thread_ts, "processing")
        await _tell(client, channel, user_id, thread_ts, failure_text(exc))
        return
    text = f":octagonal_sign: <@{user_id}> stopped this task. Its result follows."
    await post(client, channel, messages.notice(text), thread_ts)
    await set_session(client, channel, thread_ts, session_after(latest))


async def _tell(client: AsyncWebClient, channel: str, user: str, thread_ts: str, text: str) -> None:
    await tell_in_thread(client, channel, user, thread_ts, messages.notice(text))


async def _audit(deps: Deps, user_id: str, action: str, task_id: str) -> None:
    record = await deps.store.task(task_id)
    channel, team = (record.channel, record.team) if record else (None, "")
    event = AuditEvent(action, actor=user_id, channel=channel, task_id=task_id, team=team)
    await write_audit(deps, event)


async def task_status(deps: Deps, task_id: str) -> messages.Message:
    """The status message of any task of this account, for `/browser-use status`."""
    record = await deps.store.task(task_id)
    try:
        task = await deps.browser_use.read(task_id, record.engine if record else "v2")
    except BrowserUseError as exc:
        return messages.notice(failure_text(exc))
    route = (
        record.route
        if record
        else SlackRoute.from_metadata(task.metadata)
        or SlackRoute(team="", channel="", thread_ts=None, user="")
    )
    message = tracking.task_status(task, route)
    message.pop("metadata", None)
    return message


async def live_view(deps: Deps, user_id: str, task_id: str) -> str:
    """The live view link for `user_id` alone, or why there is none (mrkdwn)."""
    try:
        task = await controlled_task(deps, user_id, task_id, "open its live view")
        await check_browser_of_task(deps, user_id, task_id, task.session_id)
        if task.engine == "v4":
            live_url = None if task.ended else await deps.browser_use.run_live_url(task_id)
        else:
            session = await deps.browser_use.get_session(task.session_id)
            live_url = session.live_url if session.status == "active" else None
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    if not live_url:
        return (
            "The browser is not up right now, so there is no live view. Try again in a few seconds."
        )
    return (
        f":eyes: Live view (only you see this; it gives full control of the browser, so don't "
        f"share it): {escape(hide(live_url))}"
    )


# The task that goes on after a person took the browser over: the agent is told, in its own task
# text (v2 tasks cannot be paused, so it is a new task in the same browser).
CONTINUE_PROMPT = (
    "A person has just taken over this browser and done what you were stuck on (for example "
    "logging in, solving a check or choosing an option). Go on with the original task from where "
    "the browser is now. The original task: {task}"
)
NOT_KEPT = (
    "Take over needs a browser that outlives its task, and this task's browser is Browser Use's "
    "own: it may close when the task stops. Tasks started with a mention or a DM run in a "
    "browser I keep for the thread."
)


async def take_over(deps: Deps, user_id: str, task_id: str) -> messages.Message:
    """Stop the task, keep its browser, and hand the clicker its live view (theirs alone)."""
    try:
        task = await controlled_task(deps, user_id, task_id, "take over its browser")
        await check_browser_of_task(deps, user_id, task_id, task.session_id)
        if task.metadata.get(SESSION_METADATA_KEY) != task.session_id:
            return messages.notice(NOT_KEPT)
        if not task.ended:
            await deps.browser_use.stop_task(task_id)  # the task; its session (browser) stays
            deps.inflight.spawn(lambda: deps.tracker.refresh(task_id, watch=True))
        session = await deps.browser_use.get_session(task.session_id)
    except (UserInputError, BrowserUseError) as exc:
        return messages.notice(failure_text(exc))
    if not session.active or not session.live_url:
        return messages.notice("The browser is closed, so there is nothing to take over.")
    log.info("task.taken_over task_id=%s by=%s", task_id, user_id)
    await _audit(deps, user_id, "task.taken_over", task_id)
    login = await _saved_login_of(deps, user_id, task.session_id)
    return tracking.taken_over(task_id, hide(session.live_url), login.name if login else None)


async def _saved_login_of(deps: Deps, user_id: str, session_id: str) -> Login | None:
    """The saved login the thread's browser runs on, if the person may save into it (its owner,
    or an admin)."""
    profile = await deps.store.session_profile(session_id)
    login = await deps.store.login_with_profile(profile) if profile else None
    if login is None or not deps.may_control(user_id, login.owner):
        return None
    return login


async def save_taken_over(deps: Deps, client: AsyncWebClient, user_id: str, task_id: str) -> str:
    """ "Save the login": the browser a person took over stops (that is when Browser Use saves
    its profile, the login's), and the login holds what they did. The mrkdwn to tell them."""
    try:
        task = await controlled_task(deps, user_id, task_id, "save its browser")
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    login = await _saved_login_of(deps, user_id, task.session_id)
    if login is None:
        return "This browser does not run on a saved login of yours, so there is nothing to save."
    await deps.browser_use.stop_session(task.session_id)
    record = await deps.store.task(task_id)
    if record is not None and record.thread_ts:
        await set_session(client, record.channel, record.thread_ts, "closed")
    domains = await saved_domains(deps, login.profile_id)
    await deps.store.change_login(login.id, cookie_domains=domains, saved_at=time.time())
    log.info("login.saved_after_take_over login_id=%s sites=%d", login.id, len(domains))
    sites = ", ".join(f"`{escape(d)}`" for d in domains[:20]) or "no site yet"
    return (
        f":white_check_mark: “{escape(login.name)}” is saved: it holds cookies for {sites}. The "
        "thread's browser is closed; the next mention opens a new one."
    )


async def continue_task(
    deps: Deps, client: AsyncWebClient, user_id: str, task_id: str
) -> str | None:
    """ "Done, continue": a new task in the same browser that goes on with the original one.
    None once started (its thread says so), or why not (mrkdwn)."""
    try:
        task = await controlled_task(deps, user_id, task_id, "continue it")
        session = await deps.browser_use.get_session(task.session_id)
    except (UserInputError, BrowserUseError) as exc:
        return failure_text(exc)
    route = SlackRoute.from_metadata(task.metadata)
    if route is None or not session.active:
        return "The browser is closed, so the task cannot go on in it. Start it again instead."
    if session.busy:
        return "The browser is already working on a task."
    text = CONTINUE_PROMPT.format(task=task.task)[:TASK_MAX_CHARS]
    request = CreateTaskRequest.model_validate({"task": text, "session_id": task.session_id})
    origin = Origin(
        team_id=route.team,
        channel_id=route.channel,
        user_id=route.user,
        thread_ts=route.thread_ts,
        announce=False,
        thread_session=task.session_id,
    )
    started = await start_task(deps, client, request, origin)
    return started.reason if isinstance(started, NotStarted) else None


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
