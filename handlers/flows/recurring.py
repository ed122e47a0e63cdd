"""Recurring tasks on the Slack side: set one up, run it (an ordinary task in its channel), post
its result (or, with `--on-change`, only a change), and the buttons that pause, resume, run now
and delete. When a run is due is `bot.scheduler`'s to decide.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.deps import Deps
from bot.models import CreateTaskRequest
from bot.scheduler import moment
from bot.schedules import Repeat
from bot.store import Schedule, Store, TaskRecord
from handlers.access import apply_policy, check_access, is_admin
from handlers.errors import UserInputError, failure_text
from handlers.flows.submit import NotStarted, Origin, first_time, start_task, tell_privately
from handlers.ids import COMMAND, Action
from handlers.slack_io import CANNOT_POST, SLACK_ERRORS, post
from handlers.views import messages
from handlers.views import schedules as views

log = logging.getLogger(__name__)

# A schedule whose runs fail this many times in a row pauses itself and tells its owner.
FAILURES_BEFORE_PAUSE = 3


def run_failed(task: TaskView) -> bool:
    return task.status != "finished" or task.is_success is False


async def time_zone(client: AsyncWebClient, user_id: str) -> str:
    """The person's own time zone, as their Slack profile says (UTC if Slack cannot say)."""
    try:
        user = (await client.users_info(user=user_id)).get("user") or {}
    except SLACK_ERRORS as exc:
        log.warning("slack.users_info failed: %s", exc)
        return "UTC"
    return str(user.get("tz") or "UTC")


# --- setting one up -------------------------------------------------------------------------


async def create_schedule(
    deps: Deps,
    client: AsyncWebClient,
    origin: Origin,
    request: CreateTaskRequest,
    repeat: Repeat,
    *,
    on_change: bool = False,
    notify: bool = False,
) -> int | None:
    """Keep the schedule and announce it in its channel; the person is told privately when it
    cannot be (their limit, or a channel the app cannot post in). Its ID, or None."""
    repeat = replace(repeat, tz=await time_zone(client, origin.user_id))
    now = deps.store.clock()
    schedule = Schedule(
        team=origin.team_id,
        channel=origin.channel_id,
        user_id=origin.user_id,
        repeat=repeat.dump(),
        request=request.to_kept(),
        next_run_at=repeat.next_after(moment(now)).timestamp(),
        on_change=on_change,
        notify=notify,
        created_at=now,
    )
    policy = deps.policy
    limit = None if origin.user_id in policy.admin_user_ids else policy.max_schedules_per_person
    schedule_id = await deps.store.add_schedule(schedule, limit)
    if schedule_id is None:
        kept = f"{limit} recurring task{'s' if limit != 1 else ''}"
        text = (
            f":warning: You have {kept} already, the most one person may keep here. Delete one "
            f"first (`{COMMAND} schedules`, or my Home tab)."
        )
        await tell_privately(client, origin, messages.notice(text), None)
        return None
    ts, error = await post(client, origin.channel_id, views.created(schedule))
    if ts is None:
        # It would run where nobody sees it: not kept.
        await deps.store.delete_schedule(schedule_id)
        hint = messages.NO_THREAD_HINT if error in CANNOT_POST else None
        text = ":x: The recurring task was not set up: I could not post in that conversation."
        await tell_privately(client, origin, messages.notice(text), hint)
        return None
    log.info(
        "schedule.created id=%s channel=%s kind=%s", schedule_id, origin.channel_id, repeat.kind
    )
    return schedule_id


# --- its runs -------------------------------------------------------------------------------


class SlackRuns:
    """What `bot.scheduler.Scheduler` starts: each run is an ordinary task in the channel."""

    def __init__(self, deps: Deps, client: AsyncWebClient):
        self.deps = deps
        self.client = client

    async def start(self, schedule: Schedule) -> None:
        """Start the run in the background: a tick that finds a hundred runs due at 9:00 does
        not hold up the heartbeat, and a shutdown waits for the runs it started."""
        self.deps.inflight.spawn(lambda: self.run(schedule))

    async def run(self, schedule: Schedule) -> None:
        deps = self.deps
        origin = Origin(
            team_id=schedule.team,
            channel_id=schedule.channel,
            user_id=schedule.user_id,
            # With `--on-change`, nothing is posted until the result is known (and changed).
            announce=not schedule.on_change,
            quiet=True,
            notify=schedule.notify,
            kept_request=schedule.request,
            schedule_id=schedule.id,
            recurring=Repeat.load(schedule.repeat).describe(),
        )
        try:
            # The admin's limits as they are now, not as they were when it was set up.
            check_access(deps.policy, schedule.user_id, schedule.channel)
            request = apply_policy(CreateTaskRequest.from_kept(schedule.request), deps.policy)
        except UserInputError as exc:
            await self.did_not_run(schedule, failure_text(exc))
            return
        started = await start_task(deps, self.client, request, origin)
        if isinstance(started, NotStarted):
            await self.did_not_run(schedule, started.reason)
            return
        await deps.store.update_schedule(
            schedule.id, last_run_at=deps.store.clock(), last_task_id=started.id
        )

    async def did_not_run(self, schedule: Schedule, reason: str) -> None:
        # The latest run now, though it has no task: an earlier run ending later is not.
        store = self.deps.store
        await store.update_schedule(schedule.id, last_run_at=store.clock(), last_task_id=None)
        await post(self.client, schedule.user_id, views.did_not_run(schedule, reason))
        await count_failure(self.client, self.deps.store, schedule)

    async def skipped(self, schedule: Schedule, due_at: float) -> None:
        now = await self.deps.store.schedule(schedule.id)  # with its next run
        if now is None:
            return
        await self.deps.store.update_schedule(schedule.id, last_status="skipped")
        await post(self.client, schedule.channel, views.skipped(now, due_at))


async def count_failure(
    client: AsyncWebClient, store: Store, schedule: Schedule, latest_task: str | None = None
) -> None:
    """One more failed run (`latest_task`'s, if it is still the latest); the third in a row
    pauses the schedule and tells its owner."""
    failures = await store.run_failed(schedule.id, latest_task=latest_task)
    if failures < FAILURES_BEFORE_PAUSE or schedule.paused:
        return
    reason = f"its last {failures} runs failed"
    if await store.update_schedule(schedule.id, paused=True, paused_reason=reason):
        log.info("schedule.paused id=%s failures=%d", schedule.id, failures)
        await post(client, schedule.user_id, views.paused_for_failures(schedule, failures))


class ResultPoster(Protocol):
    client: AsyncWebClient
    store: Store

    async def post_result(
        self, task: TaskView, record: TaskRecord, react_ts: str | None, *, mention: bool
    ) -> None: ...


async def report_run(
    sink: ResultPoster, task: TaskView, record: TaskRecord, react_ts: str | None
) -> None:
    """A run ended. It ran in its own thread: the result goes there (mentioning the owner when
    they asked to be, or it failed). With `--on-change`: a result like the last one edits the
    single "no change since" line; a changed one (or a failure) is posted as a new thread."""
    store, client = sink.store, sink.client
    assert record.schedule_id is not None
    schedule = await store.schedule(record.schedule_id)
    failed = run_failed(task)
    mention = failed or (schedule is not None and schedule.notify)
    # Only the latest run says how the schedule is doing: a run that ends after a later one was
    # started (or refused) neither resets the failures counted since nor becomes the baseline.
    # Each write below is conditional on it, in the same statement (`latest_task`).
    if record.thread_ts or schedule is None or not schedule.on_change:
        await sink.post_result(task, record, react_ts, mention=mention)
        status, output = "finished", None
    else:
        output = views.comparable(task.output)
        if not failed and output == schedule.last_output:
            await _unchanged(client, store, schedule)
            await store.update_schedule(
                schedule.id, latest_task=record.task_id, last_status="unchanged", failures=0
            )
            return
        status = "finished" if schedule.last_output is None else "changed"
        await _post_changed(sink, task, record, schedule, mention=mention, failed=failed)
    if schedule is None:
        return
    if failed:
        await count_failure(client, store, schedule, latest_task=record.task_id)
    elif output is not None:
        await store.update_schedule(
            schedule.id,
            latest_task=record.task_id,
            last_status=status,
            failures=0,
            last_output=output,
            changed_at=store.clock(),
            unchanged_ts=None,  # the next "no change" line follows this result
        )
    else:
        await store.update_schedule(
            schedule.id, latest_task=record.task_id, last_status=status, failures=0
        )


async def _post_changed(
    sink: ResultPoster,
    task: TaskView,
    record: TaskRecord,
    schedule: Schedule,
    *,
    mention: bool,
    failed: bool,
) -> None:
    """A thread of its own for a run that changed (or failed), posted after the fact."""
    request = CreateTaskRequest.from_kept(schedule.request)
    first = schedule.last_output is None
    state = "the run failed" if failed else "the first run" if first else "the result changed"
    parent = messages.parent_message(
        schedule.user_id if mention else None,
        request,
        status=state,
        recurring=Repeat.load(schedule.repeat).describe(),
    )
    # Raises when Slack refuses: the report claim is released and the report tried again.
    answer = await sink.client.chat_postMessage(
        channel=schedule.channel, unfurl_links=False, unfurl_media=False, **parent
    )
    thread_ts = str(answer["ts"])
    await sink.store.set_thread(record.task_id, thread_ts)
    await sink.post_result(task, replace(record, thread_ts=thread_ts), None, mention=mention)
    if not failed and not first and schedule.last_output is not None:
        change = views.what_changed(
            schedule.last_output, views.comparable(task.output), schedule.changed_at
        )
        await post(sink.client, schedule.channel, change, thread_ts)


async def _unchanged(client: AsyncWebClient, store: Store, schedule: Schedule) -> None:
    """Edit the "no change since" line (or post it, the first time after a change)."""
    line = views.unchanged(schedule, store.clock())
    if schedule.unchanged_ts:
        try:
            await client.chat_update(channel=schedule.channel, ts=schedule.unchanged_ts, **line)
            return
        except SLACK_ERRORS as exc:  # deleted by someone: post it again
            log.info("slack.unchanged_update failed id=%s: %s", schedule.id, exc)
    ts, _ = await post(client, schedule.channel, line)
    if ts:
        await store.update_schedule(schedule.id, unchanged_ts=ts)


# --- managing them --------------------------------------------------------------------------


async def manage(
    deps: Deps, client: AsyncWebClient, user_id: str, schedule_id: int, action: str, click: str
) -> str:
    """Pause, resume, run now or delete, for the owner or an admin; what to tell the clicker."""
    store = deps.store
    schedule = await store.schedule(schedule_id)
    if schedule is None:
        return "That recurring task was deleted."
    if user_id != schedule.user_id and not await is_admin(deps, client, user_id):
        return f"Only <@{schedule.user_id}> (whose it is) or an admin can change it."
    if action == Action.SCHEDULE_PAUSE:
        await store.update_schedule(schedule_id, paused=True, paused_reason=None)
        return ":double_vertical_bar: Paused. It won't run until it is resumed."
    if action == Action.SCHEDULE_RESUME:
        repeat = Repeat.load(schedule.repeat)
        next_at = repeat.next_after(moment(store.clock())).timestamp()
        await store.update_schedule(
            schedule_id, paused=False, paused_reason=None, failures=0, next_run_at=next_at
        )
        return f":arrow_forward: Resumed. Next run {views.when(next_at)}."
    if action == Action.SCHEDULE_DELETE:
        await store.delete_schedule(schedule_id)
        log.info("schedule.deleted id=%s by=%s", schedule_id, user_id)
        return ":wastebasket: Deleted. It won't run again."
    if await first_time(deps, click):  # run now, once per click
        await SlackRuns(deps, client).start(schedule)
    return f":arrow_forward: Running it now, in <#{schedule.channel}>."


async def channel_schedules(
    deps: Deps, channel_id: str, note: str | None = None
) -> messages.Message:
    return views.channel_list(await deps.store.schedules(channel=channel_id), note)
