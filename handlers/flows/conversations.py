"""Talking to the browser: @mentions and DMs, in threads that keep their browser session.

The first task in a thread gets a browser session the app opens itself (kept alive); every
follow-up in that thread runs in it, with the same cookies and the same open page. The link from
thread to session, and a follow-up queued while the browser is busy, are kept in the store, so
they survive a restart and work across processes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import SessionView, TaskView
from bot.browser_use import BrowserUseError
from bot.deps import Deps
from bot.models import CreateTaskRequest, SlackRoute, TaskCreated
from bot.store import FollowUp, TaskRecord
from handlers.access import (
    apply_policy,
    asks_profile,
    check_access,
    check_login_use,
    check_profile_id,
    check_quota,
)
from handlers.errors import UserInputError, failure_text
from handlers.flags import (
    AuditRequest,
    ChannelSettings,
    Every,
    Help,
    Logins,
    OpenForm,
    Run,
    SaveLogin,
    Schedules,
    Status,
    Stop,
    parse_command,
)
from handlers.flows import files
from handlers.flows.audit import export_audit
from handlers.flows.channel_defaults import defaults_for, defaults_of, settings_prompt
from handlers.flows.controls import stop_task, task_status
from handlers.flows.logins import SAVE_LOGIN_BY_COMMAND, find_login, logins_here, with_login
from handlers.flows.recurring import channel_schedules, create_schedule
from handlers.flows.said import (
    Said,
    follow_up_value,
    origin_of,
    react_to,
    refuse,
    said_of,
    say,
    words_of,
)
from handlers.flows.submit import NotStarted, Origin, start_task
from handlers.ids import Reaction
from handlers.slack_io import post, set_session, tell_in_thread
from handlers.views import messages, tracking

log = logging.getLogger(__name__)

ACCURATE_NO_FILES = "Accurate mode cannot take files yet: ask without `--accurate` to share them."
V2_THREAD = (
    "This thread already has a browser of its own (not in accurate mode). Add `"
    "{flag}` to start an accurate-mode conversation here instead."
)
ACCURATE_QUEUED = (
    ":hourglass: Queued with Browser Use: it runs in this thread's browser as soon as the current "
    "step is done, and its result comes here."
)

CLOSE_WORDS = {"done", "close", "close session", "end", "end session", "bye", "thanks, done"}
NEW_SESSION_FLAG = "--new"
# A queued follow-up rides in a button's value: Slack takes at most 2,000 characters there.
QUEUE_WAIT_SECONDS = 30 * 60


async def thread_session_id(deps: Deps, said: Said) -> str | None:
    """The browser session the app opened for this thread (kept in the store)."""
    return await deps.store.thread_session(said.channel_id, said.thread_ts)


async def _live_session(deps: Deps, session_id: str | None) -> SessionView | None:
    if session_id is None:
        return None
    try:
        session = await deps.browser_use.get_session(session_id)
    except BrowserUseError as exc:
        log.info("session.unavailable session_id=%s: %s", session_id, exc)
        return None
    return session if session.active else None


async def converse(deps: Deps, client: AsyncWebClient, said: Said) -> None:
    """What a mention or a DM asks for: a task (in the thread's browser), help, or `done`."""
    text = words_of(said.text)
    new_session = NEW_SESSION_FLAG in text.split()
    if new_session:
        text = " ".join(word for word in text.split(" ") if word != NEW_SESSION_FLAG)
    if text.lower().strip(" .!") in CLOSE_WORDS:
        await close_thread_session(deps, client, said)
        return
    defaults = await defaults_for(deps, said.channel_id)
    asked_session = False
    try:
        parsed = parse_command(text, defaults, deps.policy.repeat_floor)
        if not isinstance(parsed, Help | ChannelSettings):  # for everyone, as on the command
            check_access(deps.policy, said.user_id, said.channel_id)
        if isinstance(parsed, Run | Every):
            # What the person asked for, not the channel's: a follow-up in a thread with a
            # browser already keeps that browser's profile and proxy; a raw profile ID of
            # their own is the admin's to allow.
            own = parse_command(text, defaults_of(deps))
            mine = own.request if isinstance(own, Run | Every) else None
            asked_session = isinstance(own, Run) and (
                own.request.session_settings is not None or own.login is not None
            )
            await check_profile_id(deps, client, said.user_id, bool(mine and asks_profile(mine)))
            request = apply_policy(parsed.request, deps.policy)
            if parsed.login is not None:  # the browser opens on the login's profile
                login = await find_login(
                    deps, said.team_id, said.user_id, said.channel_id, parsed.login
                )
                request = with_login(request, login)
            parsed = replace(parsed, request=request)
    except UserInputError as exc:
        await refuse(client, said, messages.notice(f":warning: {failure_text(exc)}"))
        return
    if isinstance(parsed, Help | OpenForm):
        await say(client, said, messages.mention_usage())
        await react_to(client, said, Reaction.HELP, remove=Reaction.SEEN)
        return
    if isinstance(parsed, Stop):
        await say(
            client, said, messages.notice(await stop_task(deps, said.user_id, parsed.task_id))
        )
        return
    if isinstance(parsed, Status):
        await say(client, said, await task_status(deps, parsed.task_id))
        return
    if isinstance(parsed, ChannelSettings):
        await say(client, said, settings_prompt(deps, defaults, said.channel_id))
        return
    if isinstance(parsed, Schedules):
        listing = await channel_schedules(deps, said.channel_id)
        await tell_in_thread(client, said.channel_id, said.user_id, said.thread_ts, listing)
        return
    if isinstance(parsed, Logins):
        listing = await logins_here(deps, client, said.team_id, said.user_id, said.channel_id)
        await tell_in_thread(client, said.channel_id, said.user_id, said.thread_ts, listing)
        return
    if isinstance(parsed, SaveLogin):
        await say(client, said, messages.notice(SAVE_LOGIN_BY_COMMAND))
        return
    if isinstance(parsed, Every):
        origin = Origin(team_id=said.team_id, channel_id=said.channel_id, user_id=said.user_id)
        made = await create_schedule(
            deps,
            client,
            origin,
            parsed.request,
            parsed.repeat,
            on_change=parsed.on_change,
            notify=parsed.notify,
        )
        await react_to(
            client, said, Reaction.RECURRING if made else Reaction.FAILED, remove=Reaction.SEEN
        )
        return
    if isinstance(parsed, AuditRequest):
        told = messages.notice(await export_audit(deps, client, said.user_id, parsed))
        await tell_in_thread(client, said.channel_id, said.user_id, said.thread_ts, told)
        return
    await run_in_thread(
        deps,
        client,
        said,
        parsed.request,
        new_session=new_session,
        asked_session=asked_session,
        defaults_note=tuple(defaults.applied(parsed.request)),
    )


async def run_in_thread(
    deps: Deps,
    client: AsyncWebClient,
    said: Said,
    request: CreateTaskRequest,
    *,
    new_session: bool = False,
    asked_session: bool | None = None,
    defaults_note: tuple[str, ...] = (),
) -> None:
    """Run the task in the thread's browser session, opening one for the thread's first task,
    with the files shared with the message uploaded into it."""
    thread = await deps.store.thread_kept(said.channel_id, said.thread_ts)
    if thread is None and not new_session:
        # A thread a command or the form started in accurate mode: its engine carries over, and
        # a mention there is the next run of its v4 session.
        run_session = await deps.store.thread_run(said.channel_id, said.thread_ts)
        thread = (run_session, "v4") if run_session else None
    thread_engine = thread[1] if thread else None
    if request.accurate or (thread_engine == "v4" and not new_session):
        if thread_engine == "v2" and not new_session:
            await refuse(client, said, messages.notice(V2_THREAD.format(flag=NEW_SESSION_FLAG)))
            return
        continuing = thread[0] if thread and thread_engine == "v4" and not new_session else None
        await run_accurate_in_thread(deps, client, said, request, continuing, defaults_note)
        return
    session: SessionView | None = None
    kept = None
    uploads: list[files.Upload] = []
    if said.files:
        try:  # checked and read before any browser is opened for them
            uploads = await files.gather(deps, client, said.files)
        except UserInputError as exc:
            await refuse(client, said, messages.notice(f":warning: {failure_text(exc)}"))
            return
    if request.session_id is None:
        try:
            await check_quota(deps, said.user_id)  # before a browser is opened for nothing
        except UserInputError as exc:
            await refuse(client, said, messages.notice(f":warning: {failure_text(exc)}"))
            return
        if not new_session:
            session = await _live_session(deps, await thread_session_id(deps, said))
        if session is not None:
            # The thread's browser may be logged in as its opener's saved login: a reply from
            # someone that login is not shared with runs nowhere near it (nor do their files).
            try:
                kept_browser = CreateTaskRequest.model_validate(
                    {"task": request.task, "session_id": session.id}
                )
                await check_login_use(deps, said.user_id, said.channel_id, kept_browser)
            except UserInputError as exc:
                await refuse(client, said, messages.notice(f":warning: {failure_text(exc)}"))
                return
        if asked_session is None:
            asked_session = request.session_settings is not None
        if session is not None and not asked_session:
            request = CreateTaskRequest.model_validate(
                {
                    n: getattr(request, n)
                    for n in request.model_fields_set
                    if n != "session_settings"
                }
            )  # the channel's profile and proxy went to this thread's browser when it opened
        if session is not None and asked_session:
            await refuse(
                client,
                said,
                messages.notice(
                    "Profile, proxy and screen size apply to a new browser, and this thread "
                    f"already has one. Add `{NEW_SESSION_FLAG}` to start a fresh one with them."
                ),
            )
            return
        if session is not None and session.busy:
            running = next(task.id for task in session.tasks if not task.ended)
            queue = follow_up_value(said, session.id)
            await say(client, said, messages.session_busy(running, queue))
            await react_to(client, said, Reaction.QUEUED, remove=Reaction.SEEN)
            return
        if session is None:
            try:
                session = await files.open_session(deps, request)
            except BrowserUseError as exc:
                await refuse(client, said, messages.task_failed(failure_text(exc)))
                return
            settings = request.session_settings
            profile = str(settings.profile_id) if settings and settings.profile_id else None
            await deps.store.set_thread_session(
                said.channel_id, said.thread_ts, session.id, profile
            )
        fields = {name: getattr(request, name) for name in request.model_fields_set}
        fields.pop("session_settings", None)  # they went to the session itself
        kept = request.to_kept()  # as asked, session settings included: for Run again
        request = CreateTaskRequest.model_validate({**fields, "session_id": session.id})
    if uploads and request.session_id is not None:
        try:
            await files.upload(deps, str(request.session_id), uploads)
        except BrowserUseError as exc:
            await refuse(client, said, messages.task_failed(failure_text(exc)))
            return
        request = files.naming(request, uploads)
    origin = origin_of(
        said,
        thread_session=session.id if session else None,
        kept_request=kept,
        defaults_note=defaults_note,
    )
    created = await start_task(deps, client, request, origin)
    if isinstance(created, NotStarted):
        await react_to(client, said, Reaction.FAILED, remove=Reaction.SEEN)


async def run_accurate_in_thread(
    deps: Deps,
    client: AsyncWebClient,
    said: Said,
    request: CreateTaskRequest,
    continuing: str | None,
    defaults_note: tuple[str, ...],
) -> None:
    """A conversation in accurate mode: the thread's first run makes its v4 session (v4 makes
    sessions with runs), and each follow-up, its text, is the next run in it. One sent while a
    run goes on is queued with Browser Use (`POST /sessions/{id}/queue`) and found as a run
    once it starts (`wait_then_run`)."""
    if said.files:
        await refuse(client, said, messages.notice(ACCURATE_NO_FILES))
        return
    if continuing is not None:
        if await deps.store.session_busy(continuing):
            try:
                queued = await deps.browser_use.queue_message(continuing, request.task)
            except BrowserUseError as exc:
                await refuse(client, said, messages.task_failed(failure_text(exc)))
                return
            waiting = FollowUp(
                channel=said.channel_id,
                thread_ts=said.thread_ts,
                user_id=said.user_id,
                text=request.task,
                ts=said.ts,
                session_id=continuing,
                team=said.team_id,
                queued_id=queued,
            )
            hold = deps.policy.follow_lease_seconds
            waiting = replace(
                waiting,
                id=await deps.store.queue_follow_up(waiting, hold),
                created_at=deps.store.clock(),
            )
            log.info("follow_up.queued_at_browser_use session_id=%s", continuing)
            await say(client, said, messages.notice(ACCURATE_QUEUED))
            await react_to(client, said, Reaction.QUEUED, remove=Reaction.SEEN)
            deps.inflight.spawn(functools.partial(wait_then_run, deps, client, waiting))
            return
        # The next turn of the thread's conversation: its text, in its session.
        request = CreateTaskRequest.model_validate(
            {"task": request.task, "engine": "v4", "session_id": continuing}
        )
    origin = origin_of(said, defaults_note=defaults_note, keeps_session=continuing is None)
    created = await start_task(deps, client, request, origin)
    if isinstance(created, NotStarted):
        await react_to(client, said, Reaction.FAILED, remove=Reaction.SEEN)


async def _wait_for_queued_run(deps: Deps, client: AsyncWebClient, waiting: FollowUp) -> None:
    """A follow-up Browser Use queued in a v4 session: once it becomes a run, that run is
    recorded and followed like any task of the thread; it is told if Browser Use dropped it."""
    assert waiting.id is not None and waiting.queued_id is not None
    said = said_of(waiting)
    hold = deps.policy.follow_lease_seconds
    while deps.store.clock() < waiting.created_at + QUEUE_WAIT_SECONDS:
        if not await deps.store.hold_follow_up(waiting.id, hold):
            return  # another process waits for it now
        try:
            status, run_id = await deps.browser_use.queued_run(
                waiting.session_id, waiting.queued_id
            )
        except BrowserUseError as exc:
            log.warning("follow_up.queue_read_failed id=%s error=%s", waiting.id, exc)
            status, run_id = "pending", None
        if run_id is not None:
            if await deps.store.start_follow_up(waiting.id):
                await _adopt_run(deps, client, waiting, run_id)
            return
        if status in ("cancelled", "superseded", "failed"):
            if await deps.store.start_follow_up(waiting.id):
                await say(
                    client,
                    said,
                    messages.notice(
                        f"<@{said.user_id}> Browser Use did not run your queued follow-up "
                        f"({status}). Ask again."
                    ),
                )
            return
        await asyncio.sleep(min(deps.policy.poll_interval, hold / 3))
    if await deps.store.start_follow_up(waiting.id):
        await say(
            client,
            said,
            messages.notice(
                f"<@{said.user_id}> your queued follow-up had not started after 30 minutes."
            ),
        )


async def _adopt_run(deps: Deps, client: AsyncWebClient, waiting: FollowUp, run_id: str) -> None:
    """The run a queued follow-up became: recorded with its thread, its IDs posted there, and
    followed to its result."""
    route = SlackRoute(
        team=waiting.team,
        channel=waiting.channel,
        thread_ts=waiting.thread_ts,
        user=waiting.user_id,
        request_id=uuid.uuid4().hex[:16],
    )
    record = TaskRecord.from_route(
        run_id, waiting.session_id, route, react_ts=waiting.ts, engine="v4"
    )
    if not await deps.store.add_task(record):
        return  # found by another process already
    log.info("task.created task_id=%s session_id=%s from=queue", run_id, waiting.session_id)
    created = TaskCreated(id=run_id, session_id=waiting.session_id)
    started = tracking.task_started(created, react_ts=waiting.ts, thread_session=False)
    ts, _ = await post(client, waiting.channel, started, waiting.thread_ts)
    if ts is not None:
        await deps.store.set_status_message(run_id, ts, waiting.ts)
        status, loading = tracking.browsing_status(
            TaskView(id=run_id, session_id=waiting.session_id, status="created"), route
        )
        title = tracking.session_title(waiting.text)
        deps.tracker.sink.show_starting(route, status, loading, title)
    deps.tracker.follow(run_id, "v4")


async def close_thread_session(deps: Deps, client: AsyncWebClient, said: Said) -> None:
    session = await _live_session(deps, await thread_session_id(deps, said))
    if session is None:
        await say(client, said, messages.notice("There is no open browser in this thread."))
        return
    try:
        await deps.browser_use.stop_session(session.id)
    except BrowserUseError as exc:
        await say(client, said, messages.notice(failure_text(exc)))
        return
    log.info("session.closed session_id=%s by=%s", session.id, said.user_id)
    await say(client, said, messages.session_closed(reason="asked"))
    await set_session(client, said.channel_id, said.thread_ts, "closed")
    await react_to(client, said, Reaction.DONE, remove=Reaction.SEEN)


async def wait_then_run(deps: Deps, client: AsyncWebClient, waiting: FollowUp) -> None:
    """A queued follow-up: start it as soon as the thread's browser is free. It is kept in the
    store, held by this process while it waits; if this process stops, another one picks it up
    (`resume_waiting`), and only one ever starts it."""
    assert waiting.id is not None
    if waiting.queued_id is not None:
        await _wait_for_queued_run(deps, client, waiting)
        return
    said = said_of(waiting)
    hold = deps.policy.follow_lease_seconds
    deadline = waiting.created_at + QUEUE_WAIT_SECONDS
    while deps.store.clock() < deadline:
        if not await deps.store.hold_follow_up(waiting.id, hold):
            return  # another process waits for it now
        session = await _live_session(deps, waiting.session_id)
        if session is None or not session.busy:
            if await deps.store.start_follow_up(waiting.id):
                await converse(deps, client, said)
            return
        await asyncio.sleep(min(deps.policy.poll_interval, hold / 3))
    if await deps.store.start_follow_up(waiting.id):  # given up on, once
        await say(
            client,
            said,
            messages.notice(
                f"<@{said.user_id}> your queued follow-up did not start: the previous task was "
                "still running after 30 minutes. Stop it, or ask again."
            ),
        )


async def resume_waiting(deps: Deps, client: AsyncWebClient) -> None:
    """Wait for the follow-ups whose process stopped waiting for them (a restart, a crash)."""
    for waiting in await deps.store.claim_follow_ups(deps.policy.follow_lease_seconds):
        log.info("follow_up.resumed id=%s", waiting.id)
        deps.inflight.spawn(functools.partial(wait_then_run, deps, client, waiting))


async def announce_idle_close(client: AsyncWebClient, route: SlackRoute, minutes: float) -> None:
    """Tell a thread its browser was closed for being idle."""
    if route.thread_ts is None:
        return
    message = messages.session_closed("idle", idle_minutes=max(1, round(minutes)))
    await post(client, route.channel, message, route.thread_ts)
    await set_session(client, route.channel, route.thread_ts, "closed")
