"""The Slack side of following a task: its thread's agent session, its steps streamed (or its
status message edited in place), its result posted once.

`SlackTaskSink` is what `bot.tracker.Tracker` reports to. Where a task's thread and status
message are comes from the store (`bot.store.TaskRecord`); the tracker makes sure one process
reports each task's end. The status message and the result also carry Slack message metadata, so
a task found again after the store was lost is matched to its thread, and a result already there
is not posted twice.

A task's thread is an agent session (`agents.sessions.setStatus`): `processing` while it runs
(Slack shows its own stop button: `handlers.flows.controls.stop_from_slack`), `active` once it
ended in a browser the thread keeps, `closed` when that browser closes or at once when none is
kept. Its steps stream into the thread as Slack's plan, a task card a step (`chat.startStream`,
Tier 4 appends); the stream's message is in the store, so whichever process reads the task next
goes on with it, and whichever reports the end closes it. Slack ends a stream some minutes after
it started, so one is closed and a new one started every `STREAM_ROLL_SECONDS`, and one Slack
ended (or a person's stop button did) is followed by a new one. Where Slack refuses to stream,
the status message is edited as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseClient, BrowserUseError
from bot.models import SlackRoute
from bot.store import Store, TaskRecord
from bot.tracker import ReportLater
from handlers.errors import failure_text
from handlers.flows.outbox import slack_down
from handlers.flows.recurring import report_run
from handlers.flows.workflow import SlackDown, complete_step
from handlers.ids import MetadataEvent, Reaction
from handlers.pacing import SlackPace
from handlers.payloads import TaskMessage
from handlers.slack_io import (
    CANNOT_POST,
    SLACK_ERRORS,
    BotIdentity,
    edit_status,
    error_code,
    post,
    react,
    set_session,
    set_thread_status,
)
from handlers.slack_text import escape, usd
from handlers.views import messages, outcomes, tracking

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
# Slack ends a stream about five minutes after it started, however busy (third-party reports;
# how long is UNCONFIRMED in Slack's docs): one this old is closed, and a new one carries on.
STREAM_ROLL_SECONDS = 240.0
# Slack's answers for a stream that is over: it ended it, or a person's stop button did.
STREAM_OVER = frozenset(
    {"message_not_in_streaming_state", "stopped_by_user", "streaming_state_conflict"}
)


def _status_key(route: SlackRoute, status_ts: str) -> tuple[str, str, str]:
    return ("status", route.channel, status_ts)


def _thread_key(route: SlackRoute) -> tuple[str, str, str]:
    return ("thread", route.channel, route.thread_ts or "")


def _session_key(route: SlackRoute) -> tuple[str, str, str]:
    return ("session", route.channel, route.thread_ts or "")


def session_after(record: TaskRecord) -> str:
    """A thread's agent session once its task ended: `active` while the thread keeps its
    browser for what comes next, else `closed`."""
    return "active" if record.thread_session else "closed"


class SlackTaskSink:
    def __init__(
        self,
        client: AsyncWebClient,
        browser_use: BrowserUseClient,
        store: Store,
        pace: SlackPace | None = None,
        *,
        installed: dict[str, Any] | None = None,
        execution_tokens: dict[str, str] | None = None,
        identity: BotIdentity | None = None,
        streaming: bool = True,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        # Steps streamed into the thread (`SLACK_STREAMING`), or the status message edited.
        self.streaming = streaming
        self._clock = clock
        # With one workspace: who the bot is, asked of Slack once and shared with Bolt.
        self.identity = identity or BotIdentity(client)
        # Workflow steps' execution tokens this process was given (`Deps.execution_tokens`).
        self.execution_tokens = {} if execution_tokens is None else execution_tokens
        self.browser_use = browser_use
        self.store = store
        # The workspace whose tasks these are: from its stored installation (many workspaces:
        # None for an org-wide one, any team of the enterprise), else learned from `auth.test`.
        self.installed = installed
        self.team_id: str | None = installed["team_id"] if installed else None
        self.pace = pace or SlackPace()

    @property
    def waiting(self) -> int:
        return self.pace.owed

    def share(self, processes: int) -> None:
        self.pace.share(processes)

    async def close(self) -> None:
        await self.pace.close()

    async def ready(self) -> None:
        """Learn this app's workspace (`auth.test`, unless its installation says): only its
        tasks are followed."""
        if self.installed is not None:
            return
        answer = await self.identity.get()
        if answer is not None:
            self.team_id = str(answer["team_id"])

    def accepts(self, route: SlackRoute) -> bool:
        """Only tasks this workspace's app started (one Browser Use project may serve several)."""
        return self.team_id is None or not route.team or route.team == self.team_id

    async def _thread(self, route: SlackRoute) -> list[dict[str, Any]]:
        if not route.thread_ts:
            return []
        try:
            reply = await self.client.conversations_replies(
                channel=route.channel, ts=route.thread_ts, include_all_metadata=True, limit=200
            )
        except SLACK_ERRORS as exc:
            log.warning("slack.conversations_replies failed: %s", exc)
            return []
        return list(reply.get("messages") or [])

    @staticmethod
    def _find_message(
        messages: list[dict[str, Any]], event_type: MetadataEvent, task_id: str
    ) -> tuple[dict[str, Any], TaskMessage] | None:
        for message in messages:
            found = TaskMessage.read(message, event_type)
            if found is not None and found.task_id == task_id:
                return message, found
        return None

    async def _status_message(
        self, record: TaskRecord, thread: list[dict[str, Any]] | None = None
    ) -> tuple[str | None, str | None]:
        """(status message ts, message to react to). The store knows them for every task the
        app started; a task recovered after the store was lost has them in its thread's message
        metadata, read once and then kept in the store (as "" when there is none)."""
        if record.status_ts is not None or not record.recovered:
            return record.status_ts or None, record.react_ts
        if thread is None:
            thread = await self._thread(record.route)
        found = self._find_message(thread, MetadataEvent.TASK_STATUS, record.task_id)
        ts, react_ts = (str(found[0]["ts"]), found[1].react_ts) if found else ("", None)
        await self.store.set_status_message(record.task_id, ts, react_ts)
        return ts or None, react_ts

    def show_starting(
        self, route: SlackRoute, status: str, loading: list[str], title: str = ""
    ) -> None:
        """A new task's first "is browsing…" status, and its thread's agent session set to
        `processing` (titled with the task, its person the initiator), offered to the pace like
        every later call (sent at once, they went past Slack's limit when many tasks started in
        a minute)."""
        self._thread_status(route, status, loading)
        self.session(route, "processing", title=title or None)

    def _thread_status(self, route: SlackRoute, status: str, loading: list[str]) -> None:
        """The thread's live "is browsing…" status, at the pace; the latest replaces one not
        sent yet."""
        thread_ts = route.thread_ts
        if thread_ts is None:
            return

        async def set_status() -> None:
            await set_thread_status(self.client, route.channel, thread_ts, status, loading)

        key = _thread_key(route)
        self.pace.offer(key, route.team, "assistant.threads.setStatus", set_status)

    def session(self, route: SlackRoute, status: str, *, title: str | None = None) -> None:
        """The thread's agent session to `status`, at the pace; a newer status for the thread
        replaces one not sent yet (none is owed: the session's own limit is not the results')."""
        thread_ts = route.thread_ts
        if thread_ts is None:
            return

        async def send() -> None:
            await set_session(
                self.client, route.channel, thread_ts, status, title=title, initiator=route.user
            )

        self.pace.offer(_session_key(route), route.team, "agents.sessions.setStatus", send)

    async def progress(self, task: TaskView, record: TaskRecord, *, new_step: bool) -> None:
        """A new step: streamed into the thread (or, where Slack will not stream, the status
        message is edited). Either way the thread's live status is sent (again), before Slack's
        2 minutes run out. All of it is paced (`SlackPace.offer`): sent when Slack's limits have
        room, the latest replacing an unsent older one."""
        route = record.route
        streams = new_step and self._streams(task, record)
        aged = self._clock() - (record.stream_at or 0.0) >= STREAM_ROLL_SECONDS
        method = "chat.appendStream" if record.stream_ts and not aged else "chat.startStream"
        # A first stream waiting for its start (Tier 2: a burst of new tasks waits for it)
        # leaves its steps to the status message meanwhile. The edit is offered first: the
        # stream, once started, withdraws it, and no edit lands after the stream's own.
        waits = streams and record.stream_at is None and not self.pace.has_room(route.team, method)
        if new_step and (not streams or waits):
            status_ts, _ = await self._status_message(record)
            if status_ts:

                async def edit() -> None:
                    await edit_status(self.client, task, route, status_ts)

                self.pace.offer(_status_key(route, status_ts), route.team, "chat.update", edit)
        if streams:

            async def stream() -> None:
                await self._stream(task)

            self.pace.offer(("stream", task.id), route.team, method, stream)
        if not task.ended:
            self._thread_status(route, *tracking.browsing_status(task, route))

    def _streams(self, task: TaskView, record: TaskRecord) -> bool:
        """Whether this task's steps go into a stream: streaming is on, it has a thread and a
        step to show, and Slack did not refuse it a stream."""
        return (
            self.streaming
            and record.thread_ts is not None
            and record.stream_ts != ""
            and task.last_step is not None
        )

    async def _stream(self, task: TaskView) -> None:
        """Send the steps the stream does not show yet: appended to the task's stream while it
        is young and open, else into a new one (the old one closed first)."""
        record = await self.store.task(task.id)
        step = task.last_step
        if record is None or record.reported_at is not None or step is None:
            return
        if record.stream_ts:
            if step.number <= (record.stream_step or 0):
                return  # shown already (by another process, or a newer read)
            if self._clock() - (record.stream_at or 0.0) < STREAM_ROLL_SECONDS:
                try:
                    await self.client.chat_appendStream(
                        channel=record.channel,
                        ts=record.stream_ts,
                        chunks=tracking.step_chunks(task, record.stream_step or 0),
                    )
                except SlackApiError as exc:
                    if error_code(exc) not in STREAM_OVER:
                        log.warning("slack.stream_append error=%s", error_code(exc))
                        return  # tried again with the next step
                    log.info("slack.stream_over task_id=%s: a new one", task.id)
                except SLACK_ERRORS as exc:
                    log.warning("slack.stream_append failed: %s", type(exc).__name__)
                    return
                else:
                    await self.store.set_stream(
                        task.id, record.stream_ts, at=record.stream_at, step=step.number
                    )
                    return
            else:
                # Closed before Slack ends it: its steps so far stay, and a new one goes on.
                await self._stop_stream(task, record, "processing")
        await self._start_stream(task, record)

    async def _start_stream(self, task: TaskView, record: TaskRecord) -> None:
        route = record.route
        assert route.thread_ts is not None
        # A stream makes the thread's session if none is made yet, with no title and nobody as
        # its initiator: the session's own status goes first.
        await self.pace.send_now(_session_key(route))
        try:
            answer = await self.client.chat_startStream(
                channel=route.channel,
                thread_ts=route.thread_ts,
                # In a channel a stream is addressed to its person, of their team.
                recipient_user_id=route.user,
                recipient_team_id=route.team or self.team_id,
                task_display_mode="plan",
                chunks=tracking.step_chunks(task, 0, first=True),
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if slack_down(code) or code == "ratelimited":
                log.warning("slack.stream_start error=%s: tried again at the next step", code)
                return
            # Refused (not an agent app, a plan without it, an argument Slack took against):
            # this task's status message is edited instead, from this step on.
            log.warning("slack.stream_refused error=%s task_id=%s: edits instead", code, task.id)
            await self.store.set_stream(task.id, "")
            status_ts, _ = await self._status_message(record)
            await edit_status(self.client, task, route, status_ts)
            return
        except SLACK_ERRORS as exc:
            log.warning("slack.stream_start failed: %s", type(exc).__name__)
            return
        ts = answer.get("ts")
        if not isinstance(ts, str) or not ts:
            return
        step = task.last_step
        await self.store.set_stream(task.id, ts, at=self._clock(), step=step.number if step else 0)
        if not record.stream_ts and record.status_ts:
            # The status message says it runs (and keeps its buttons); its steps are below. An
            # edit that showed them while the stream waited is not sent after this one.
            await self.pace.withdraw(_status_key(route, record.status_ts))
            await edit_status(self.client, task, route, record.status_ts, streamed=True)

    async def _stop_stream(self, task: TaskView, record: TaskRecord, session: str) -> bool:
        """Close the task's stream with its steps' last states (while the task runs on, the
        steps it does not show yet are left to the next stream); True when Slack took it (a
        stream Slack ended already is not: its steps up to then stay as they were)."""
        assert record.stream_ts
        chunks = tracking.step_chunks(
            task, record.stream_step or 0, shown_only=session == "processing"
        )
        try:
            await self.client.chat_stopStream(
                channel=record.channel,
                ts=record.stream_ts,
                chunks=chunks,
                session_status=session,
            )
        except SLACK_ERRORS as exc:
            log.info("slack.stream_stop failed task_id=%s: %s", task.id, exc)
            return False
        finally:
            # Closed (or over): a later step starts a new one; when it started is kept.
            await self.store.set_stream(task.id, None, at=record.stream_at)
        return True

    async def finished(
        self, task: TaskView, record: TaskRecord, *, maybe_posted: bool = False
    ) -> None:
        """Post the result. Called once per task (the store's report claim decides by whom);
        raises when the result could not be posted, so the claim is released and tried again.
        `maybe_posted`: a process that died held the claim; its result is looked for first."""
        if await self.store.owes_task(task.id):
            raise ReportLater("its thread is not announced yet (Slack was down)")
        route = record.route
        thread = None
        if record.recovered or maybe_posted:
            # Found again after the store was lost, or its reporter died: the result may be in
            # the thread already (its message metadata names the task).
            thread = await self._thread(route)
            if self._find_message(thread, MetadataEvent.TASK_RESULT, task.id):
                log.info("task.already_reported task_id=%s", task.id)
                if route.thread_ts:
                    await self._end_session(task, record)
                return
        streamed = False
        status_ts, react_ts = await self._status_message(record, thread)
        if route.thread_ts:
            await self.pace.withdraw(_thread_key(route))
            streamed = await self._end_session(task, record)
        if status_ts:
            # Its last progress is not worth sending: this edit says how it ended. It goes
            # before any progress, and the result does not wait for it.
            key = _status_key(route, status_ts)
            await self.pace.withdraw(key)

            async def edit() -> None:
                await edit_status(self.client, task, route, status_ts, streamed=streamed)

            self.pace.offer(key, route.team, "chat.update", edit, final=True)
        posted = True
        if record.schedule_id is not None:
            # A recurring task's run: posted, or (only when it changed) not, by its schedule.
            await report_run(self, task, record, react_ts)
        # With no thread (the bot could not post there), the result goes to the person directly;
        # a workflow step with no thread and nobody to notify has its outputs say it all.
        elif route.thread_ts or not record.quiet:
            await self.post_result(task, record, react_ts, mention=not record.quiet)
        else:
            posted = False
        if record.execution_id:
            try:
                token = self.execution_tokens.get(task.id)
                await complete_step(self.client, self.browser_use, task, record, token)
                self.execution_tokens.pop(task.id, None)
            except SlackDown as exc:
                if posted:
                    # Its result is in Slack already: the report is not made twice for this.
                    log.error("workflow.unreported task_id=%s: Slack down (%s)", task.id, exc)
                else:
                    raise ReportLater(f"Slack did not take the step's completion ({exc})") from None

    async def _end_session(self, task: TaskView, record: TaskRecord) -> bool:
        """The thread's session out of `processing`, its stream (if any) closed with the steps'
        last states: by `chat.stopStream` when one is open, else by a status of its own. True
        when its steps were streamed (its status message need not show them)."""
        await self.pace.withdraw(("stream", task.id))
        await self.pace.withdraw(_session_key(record.route))
        # Read again: the stream may have started (or moved on) since this read began.
        record = await self.store.task(task.id) or record
        status = session_after(record)
        streamed = bool(record.stream_ts) or record.stream_at is not None
        if record.stream_ts:
            await self.pace.turn(record.team, "chat.stopStream")
            if await self._stop_stream(task, record, status):
                return True
        self.session(record.route, status)
        return streamed

    async def capped(self, task: TaskView, record: TaskRecord, cost: float, cap: float) -> None:
        """Stopped at its cost cap (`bot.tracker`): said once, in its thread (or to its person),
        before its result."""
        route = record.route
        text = (
            f":octagonal_sign: I stopped this task: it had cost {usd(cost)}, and its cap is "
            f"{usd(cap)}."
        )
        where, thread = (route.channel, route.thread_ts) if route.thread_ts else (route.user, None)
        await post(self.client, where, messages.notice(text), thread)

    async def post_result(
        self, task: TaskView, record: TaskRecord, react_ts: str | None, *, mention: bool
    ) -> None:
        """The result in the task's thread (or to the person directly), its files after it; a
        thread the bot was shut out of since: to the person directly. Slack down: `ReportLater`
        (the report is made again a little later); any other refusal raises as it is."""
        try:
            await self._send_result(task, record, react_ts, mention=mention)
        except SlackApiError as exc:
            code = error_code(exc)
            if code in CANNOT_POST and record.thread_ts:
                log.warning(
                    "slack.result_refused error=%s task_id=%s: sent directly", code, task.id
                )
                await self._send_result(
                    task, replace(record, thread_ts=None), None, mention=mention
                )
            elif slack_down(code):
                raise ReportLater(f"Slack did not take the result ({code})") from None
            else:
                raise
        except SLACK_ERRORS as exc:
            raise ReportLater(f"Slack could not be reached ({type(exc).__name__})") from None

    async def _send_result(
        self, task: TaskView, record: TaskRecord, react_ts: str | None, *, mention: bool
    ) -> None:
        route = record.route
        result = outcomes.task_result(
            task, route, mention_asker=mention, again=record.request is not None
        )
        channel, thread_ts = (
            (route.channel, route.thread_ts) if route.thread_ts else (route.user, None)
        )
        await self.pace.turn(route.team, "chat.postMessage", channel)
        await self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **result.message,
        )
        if react_ts:
            await react(
                self.client, route.channel, react_ts, tracking.end_reaction(task), Reaction.SEEN
            )
        for name, content in result.attachments:
            await self._upload(channel, thread_ts, name, content)
        for output_file in task.output_files:
            await self._attach_output_file(task, channel, thread_ts, output_file.id)

    async def _upload(
        self, channel: str, thread_ts: str | None, name: str, content: bytes, comment: str = ""
    ) -> bool:
        try:
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=name,
                title=name,
                content=content,
                initial_comment=comment or None,
            )
            return True
        except SLACK_ERRORS as exc:
            log.warning("slack.upload failed name_len=%d: %s", len(name), exc)
            return False

    async def _attach_output_file(
        self, task: TaskView, channel: str, thread_ts: str | None, file_id: str
    ) -> None:
        """Download from Browser Use and upload into the thread; else post the link."""
        try:
            link = await self.browser_use.get_output_file(task.id, file_id)
            content = await self.browser_use.download(link.download_url, MAX_FILE_BYTES)
        except BrowserUseError as exc:
            log.warning("browser_use.output_file failed task_id=%s: %s", task.id, exc)
            await self._say(
                channel, thread_ts, f"An output file could not be fetched. {failure_text(exc)}"
            )
            return
        if content is not None and await self._upload(channel, thread_ts, link.file_name, content):
            return
        why = "is over 20 MB" if content is None else "could not be uploaded here"
        await self._say(
            channel,
            thread_ts,
            f"`{escape(link.file_name)}` {why}. Download it (the link expires soon): "
            f"{escape(link.download_url)}",
        )

    async def _say(self, channel: str, thread_ts: str | None, text: str) -> None:
        await post(self.client, channel, messages.notice(text), thread_ts)
