"""The flow after `ack()`: parent message, Create Task, thread reply; every failure told once.

Every entry point (command, form, shortcut) ends here with a validated `CreateTaskRequest`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseError
from bot.deps import Deps, Failure
from bot.models import CreateTaskRequest, SlackRoute, TaskCreated
from bot.store import AuditEvent, Store, StoreUnavailable, TaskRecord
from handlers.access import check_accurate, check_login_use, take_slot
from handlers.errors import UserInputError, failure_text, internal_error_text
from handlers.flows import approvals
from handlers.flows.outbox import owe_announce, owe_private, slack_down
from handlers.slack_io import (
    CANNOT_POST,
    SLACK_ERRORS,
    edit_status,
    post,
    respond_ephemeral,
)
from handlers.views import messages, tracking

log = logging.getLogger(__name__)

# Tell the person their task is queued when it will wait this long for the request budget.


@dataclass(frozen=True)
class Origin:
    """Where a request came from and where its answers go."""

    team_id: str
    channel_id: str
    user_id: str
    # Set when the request belongs to an existing thread (a message shortcut on a message).
    thread_ts: str | None = None
    response_url: str | None = None
    # False for a mention or a DM: the person's own message heads the thread already.
    announce: bool = True
    # The message to react to (👀, then ✅ or ❌): a mention or a DM.
    react_ts: str | None = None
    # The browser session the app opened for this thread (kept alive between tasks).
    thread_session: str | None = None
    # A Workflow Builder step: its execution (completed when the task ends) and its token.
    execution_id: str | None = None
    execution_token: str | None = field(default=None, repr=False)
    # Nobody asked in person (a workflow step with nobody to notify): no mention, no DM.
    quiet: bool = False
    # The request to keep for Run again, when it is not the one sent (see `run_in_thread`).
    kept_request: str | None = None
    # The channel defaults the task started from, in words (the parent message says so).
    defaults_note: tuple[str, ...] = ()
    # A run of a recurring task: its schedule, and when it repeats (in words, for the parent).
    schedule_id: int | None = None
    recurring: str | None = None
    # Mention the person in the parent even though `quiet` (a recurring task's `--notify`).
    notify: bool = False
    # Whose saved login the browser acts as, in words (mrkdwn), for the parent message.
    login_note: str | None = None
    # Accurate mode in a conversation: the session the run makes becomes the thread's (kept
    # before its IDs are posted, so a quick follow-up finds it).
    keeps_session: bool = False
    # Whether Slack verified `user_id` as the person acting (the command's, the mention's, the
    # clicker, a step's user context). False: it only says whom to mention (a Workflow step
    # Slack gave no user for), and the task acts as nobody in particular.
    verified: bool = True
    # An approver said yes to this task (`handlers.flows.approvals`): it is not asked again.
    approved: bool = False

    @property
    def acting(self) -> str | None:
        """The person the task acts as: their logins, their limits; None for nobody."""
        return self.user_id if self.verified else None


@dataclass(frozen=True)
class NotStarted:
    """The task did not start; `reason` (mrkdwn, escaped) was told where the person looks."""

    reason: str


async def audit(
    deps: Deps,
    origin: Origin,
    action: str,
    *,
    task_id: str | None = None,
    login: str | None = None,
    detail: str | None = None,
) -> None:
    """Into the audit trail: who acted (nobody, for a Workflow step Slack gave no user for),
    where, what. A trail that cannot be written is logged, and what happened still happens."""
    event = AuditEvent(
        action,
        actor=origin.acting or "",
        channel=origin.channel_id or None,
        task_id=task_id,
        login=login,
        detail=detail,
        team=origin.team_id,
    )
    await write_audit(deps, event)


async def write_audit(deps: Deps, event: AuditEvent) -> None:
    """`event` into the audit trail; one that cannot be written is logged, and what happened
    still happens."""
    try:
        await deps.store.record(event)
    except Exception:
        log.exception("audit.failed action=%s", event.action)


async def first_time(deps: Deps, key: str) -> bool:
    """True the first time any process sees this Slack request (by its ID): Slack re-sends, a
    person double-clicks, and with several processes each copy may reach another one."""
    if await deps.store.first(key):
        return True
    log.info("request.duplicate key=%s", key.split(":")[0])
    return False


async def tell_privately(
    client: AsyncWebClient,
    origin: Origin,
    message: messages.Message,
    hint: str | None,
    store: Store | None = None,
) -> None:
    """No thread to answer in: the command's response_url, else a DM from the bot; with Slack
    down, the DM is kept in the `store`'s outbox and sent when Slack is back."""
    if origin.quiet:
        return  # nobody to tell: a workflow step's outputs say it all
    if await respond_ephemeral(origin.response_url, messages.ephemeral(message, hint)):
        return
    dm = messages.with_hint(message, hint)
    ts, error = await post(client, origin.user_id, dm)
    if ts is None and store is not None and slack_down(error):
        await owe_private(store, origin.team_id, origin.user_id, dm)
    elif ts is None:
        log.error("slack.unreported user=%s: no thread, response_url or DM", origin.user_id)


def failure_reporter(
    client: AsyncWebClient, origin: Origin
) -> Callable[[Failure], Awaitable[None]]:
    """For `InFlight.spawn`: tells the person privately when starting their task crashed."""

    async def report(failure: Failure) -> None:
        await tell_privately(client, origin, messages.notice(internal_error_text(failure)), None)

    return report


async def start_task(
    deps: Deps, client: AsyncWebClient, request: CreateTaskRequest, origin: Origin
) -> TaskCreated | NotStarted:
    """Post the parent, create the task with its Slack route, and answer in the thread."""
    try:
        # Checked at every start, not only where the login was named: Run again, a recurring
        # run and a reply in a thread's browser act as whoever acts now.
        login = await check_login_use(deps, origin.acting, origin.channel_id, request)
        if request.accurate:
            await check_accurate(deps, client, origin.user_id)
        if reasons := approvals.needs_approval(deps, request, origin, login):
            said = await approvals.ask(deps, client, request, origin, reasons)
            await tell_privately(client, origin, messages.notice(said), None, deps.store)
            return NotStarted(said)
        # Last, so a refusal above takes no slot; given back below if the task never starts.
        slot = await take_slot(deps, origin.user_id, request.engine or "v2", origin.channel_id)
    except UserInputError as exc:
        log.info("task.refused user=%s field=%s", origin.user_id, exc.field)
        reason = failure_text(exc)
        await audit(deps, origin, "task.refused", detail=exc.message)
        warning = messages.notice(f":warning: {reason}")
        await tell_privately(client, origin, warning, None, deps.store)
        return NotStarted(reason)
    asker = None if origin.quiet and not origin.notify else origin.user_id
    parent = None
    if origin.announce:
        parent = messages.parent_message(
            asker,
            request,
            workflow=origin.execution_id is not None,
            channel_defaults=origin.defaults_note,
            recurring=origin.recurring,
            login=origin.login_note,
        )
        parent_ts, post_error = await post(client, origin.channel_id, parent, origin.thread_ts)
        thread_ts = (origin.thread_ts or parent_ts) if parent_ts else None
    else:
        parent_ts, post_error, thread_ts = None, None, origin.thread_ts
    route = SlackRoute(
        team=origin.team_id,
        channel=origin.channel_id,
        thread_ts=thread_ts,
        user=origin.user_id,
        max_steps=request.max_steps,
        request_id=uuid.uuid4().hex[:16],
    )
    request = route.attach(request, thread_session=origin.thread_session)
    hint = messages.NO_THREAD_HINT if post_error in CANNOT_POST else None

    notice = None
    wait = deps.browser_use.budget.expected_wait()
    timers = deps.settings.timers
    if wait >= timers.queue_notice_after and thread_ts:
        # A burst is sent at the pace Browser Use accepts; say so rather than go quiet.
        async def tell_queued() -> None:
            await asyncio.sleep(timers.queue_notice_delay)
            later = wait - timers.queue_notice_delay
            await post(client, origin.channel_id, messages.queued(later), thread_ts)

        notice = asyncio.get_running_loop().create_task(tell_queued())
    try:
        created = await create_once(deps, request, route)
    except Exception as exc:
        if slot is not None:
            await deps.store.give_back_slot(slot)
        if notice is not None:
            notice.cancel()
        if not isinstance(exc, BrowserUseError | UserInputError):
            log.exception("create_task crashed")
        log.warning(
            "task.not_started channel=%s error=%s status=%s",
            origin.channel_id,
            type(exc).__name__,
            getattr(exc, "status", None),
        )
        reason = failure_text(exc)
        failed = messages.task_failed(reason)
        if thread_ts and (await post(client, origin.channel_id, failed, thread_ts))[0]:
            await _mark_not_started(client, origin, parent_ts, request)
        else:
            await tell_privately(client, origin, failed, hint, deps.store)
        return NotStarted(reason)

    if notice is not None:
        notice.cancel()
    log.info(
        "task.created task_id=%s session_id=%s channel=%s thread_ts=%s",
        created.id,
        created.session_id,
        origin.channel_id,
        thread_ts,
    )
    thread_session = origin.thread_session is not None
    record = TaskRecord.from_route(
        created.id,
        created.session_id,
        route,
        thread_session=thread_session,
        react_ts=origin.react_ts,
        execution_id=origin.execution_id,
        quiet=origin.quiet,
        request=origin.kept_request or request.to_kept(),
        schedule_id=origin.schedule_id,
        engine=request.engine or "v2",
    )
    if origin.execution_token:
        deps.execution_tokens[created.id] = origin.execution_token
    try:
        if slot is not None:
            await deps.store.slot_started(slot, created.id)
        await deps.store.add_task(record)
        if origin.keeps_session and thread_ts:
            await deps.store.set_thread_session(
                origin.channel_id, thread_ts, created.session_id, engine=record.engine
            )
        await audit(
            deps,
            origin,
            "task.started",
            task_id=created.id,
            login=login.name if login else None,
            detail=f"engine {record.engine}" + (", recurring" if origin.schedule_id else ""),
        )
    except Exception:
        # The task exists (and costs money): the person still gets its IDs. Its route rides in
        # its Browser Use metadata, so a webhook for it still finds its thread.
        log.exception("store.add_task failed task_id=%s", created.id)
    started = tracking.task_started(
        created, react_ts=origin.react_ts, thread_session=thread_session
    )
    status_ts, status_error = (
        await post(client, origin.channel_id, started, thread_ts)
        if thread_ts
        else (None, post_error)
    )
    browsing = tracking.browsing_status(
        TaskView(id=created.id, session_id=created.session_id, status="created"), route
    )
    if status_ts is None and slack_down(status_error):
        # Slack is down: the task runs, and its parent (if it failed too) and IDs are posted
        # when Slack is back; its result waits for them.
        body = {
            "channel": origin.channel_id,
            "user": origin.user_id,
            "thread_ts": thread_ts or origin.thread_ts,
            "parent": parent if origin.announce and parent_ts is None else None,
            "started": started,
            "react_ts": origin.react_ts,
            "browsing": browsing,
            "title": tracking.session_title(request.task),
        }
        await owe_announce(deps.store, origin.team_id, created.id, body)
        deps.tracker.follow(created.id, record.engine)
        return created
    if status_ts and thread_ts:
        try:
            ended = await deps.store.set_status_message(created.id, status_ts, origin.react_ts)
        except StoreUnavailable as exc:
            # The task runs and its thread has its IDs; only the edits of its status message
            # are lost (the result is still posted, under it).
            log.error("store.unreachable task_id=%s error=%s", created.id, exc.reason)
            ended = False
        if ended:
            # Ended and reported while its status message was being posted (a Stop at once):
            # the report could not edit the message, so it is brought up to date here, and the
            # thread is not told the browser is starting.
            await _show_ended(deps, client, created.id, route, status_ts)
        else:
            status, loading = browsing
            # Paced with the thread's later statuses, not sent past Slack's limit.
            title = tracking.session_title(request.task)
            deps.tracker.sink.show_starting(route, status, loading, title)
    if status_ts is None:
        # No thread to answer in: the IDs still reach the person, never lost.
        started.pop("metadata", None)
        await tell_privately(client, origin, started, hint, deps.store)
    deps.tracker.follow(created.id, record.engine)
    return created


async def _show_ended(
    deps: Deps, client: AsyncWebClient, task_id: str, route: SlackRoute, status_ts: str
) -> None:
    record = await deps.store.task(task_id)
    try:
        task = await deps.browser_use.read(task_id, record.engine if record else "v2")
    except BrowserUseError as exc:
        log.warning("task.read_failed task_id=%s error=%s", task_id, exc)
        return
    await edit_status(client, task, route, status_ts)


async def create_once(deps: Deps, request: CreateTaskRequest, route: SlackRoute) -> TaskCreated:
    """Create the task. When the outcome is unknown (a timeout or a broken connection after
    sending, a 5xx), look the task up by this request's ID before saying anything: it is either
    there (and this is a success) or it is not (and the person can safely try again)."""
    sent_at = datetime.now(timezone.utc)
    try:
        return await deps.browser_use.start(request)
    except BrowserUseError as exc:
        # A v4 run carries no metadata to find it by: its person is told to look first.
        if not exc.outcome_unknown or request.accurate:
            raise
        log.warning("task.outcome_unknown request_id=%s error=%s", route.request_id, exc)

        def ours(task: TaskView) -> bool:
            found = SlackRoute.from_metadata(task.metadata)
            return found is not None and found.request_id == route.request_id

        waits = deps.settings.timers.lookup_waits
        for n, wait in enumerate(waits, 1):
            await asyncio.sleep(wait)
            try:
                task = await deps.browser_use.find_task(sent_at, ours)
            except BrowserUseError:
                continue
            if task is not None:
                log.info("task.found_after_unknown_outcome task_id=%s", task.id)
                return TaskCreated(id=task.id, session_id=task.session_id)
            if n == len(waits):
                exc.outcome_unknown, exc.not_created = False, True  # looked: it is not there
        raise


async def _mark_not_started(
    client: AsyncWebClient, origin: Origin, ts: str | None, request: CreateTaskRequest
) -> None:
    if ts is None:
        return
    try:
        asker = None if origin.quiet and not origin.notify else origin.user_id
        workflow = origin.execution_id is not None
        await client.chat_update(
            channel=origin.channel_id,
            ts=ts,
            **messages.parent_message(
                asker,
                request,
                status=messages.NOT_STARTED,
                workflow=workflow,
                channel_defaults=origin.defaults_note,
                recurring=origin.recurring,
                login=origin.login_note,
            ),
        )
    except SLACK_ERRORS as exc:
        log.warning("slack.parent_update failed: %s", exc)
