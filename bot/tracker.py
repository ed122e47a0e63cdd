"""Follows tasks to their end: the watched ones polled, all of them swept, webhook nudges, and
takeover across processes.

The tracker knows Browser Use, not Slack: it hands what it learns to a `TaskSink` (the Slack side
implements it). It trusts no event's status: every nudge is a prompt to read the task itself.
Every read goes through the client's shared request budget.

Two ways of following, because a thousand per-task polls would spend the whole budget:
- a task someone is likely watching (started in the last `watch` seconds, or one of its buttons
  clicked) is polled on its own, so its thread shows each step; at most `watch_most` at a time;
- every task is covered by the sweep: one process lists the tasks running at Browser Use, a
  page of 100 at a time, and reads any task the store has running that the list lacks.

Which process does what is the store's to decide, never this process's memory:
- one process polls a watched task: the one holding its follow lease, renewed at every poll; a
  lease that runs out (its process died) is taken over by another process's housekeeping;
- one process sweeps: the one holding the sweep's lease;
- one process reports a task's end: the one whose report claim wins, renewed while the result
  waits for Slack; a claim whose process died expires, and the report is made by another, which
  first looks for the result in the thread (the dead one may have posted it);
- each live process takes its share of the request budget (its heartbeat counts it).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot import metrics
from bot.answers import TaskStatusView, TaskView
from bot.browser_use import BrowserUseClient, BrowserUseError, NotFoundError, Priority
from bot.models import ACCURATE, SESSION_METADATA_KEY, Engine, SlackRoute
from bot.store import AuditEvent, Claim, Store, StoreUnavailable, TaskRecord

log = logging.getLogger(__name__)

RESUME_RUNNING_WITHIN = timedelta(days=1)
RESUME_ENDED_WITHIN = timedelta(hours=6)
RESUME_MAX_PAGES = 10
MAX_REPORT_TRIES = 10
# A claim on posting a result lasts this long unless renewed: the claiming process renews it
# while the result waits for Slack, so a claim this old is a dead (or stuck) process's.
REPORT_LEASE_SECONDS = 120.0
# Request keys (one task per Slack request) are kept this long; Slack retries within minutes.
REQUEST_KEYS_KEPT_SECONDS = 24 * 3600.0
# At most this many tasks are watched (polled on their own) by one process.
WATCH_MOST = 10
# The sweep: what counts as running, the share of the request budget it may spend, its lease,
# and how many pages of 100 it reads of each status at most.
RUNNING_STATUSES = ("created", "started")
SWEEP_SHARE = 0.25
SWEEP_LEASE = "sweep"
SWEEP_MAX_PAGES = 100
# A report the sink put off (`ReportLater`: Slack down, say) is tried again after this, doubled
# each time up to the most, rather than at every read of the task.
LATER_FIRST_SECONDS = 2.0
LATER_MOST_SECONDS = 15.0


class ReportLater(Exception):
    """Raised by a sink that cannot report a task's end yet (Slack is down, or its thread is not
    announced yet): the report is released and made again at a read a little later."""


def cost_of(task: TaskStatusView) -> float | None:
    """What Browser Use says the task cost, in US dollars (v2's `cost`, v4's `totalCostUsd`),
    or None when it says nothing readable."""
    try:
        return float(task.cost) if task.cost else None
    except ValueError:
        return None


class ClaimLost(Exception):
    """This process's claim on reporting a task ran out and another process holds it now (this
    process was stalled past the lease): the report is left to that one."""


class TaskSink(Protocol):
    """Where news of a task goes. Both calls must be safe to repeat."""

    async def ready(self) -> None:
        """Before the tracker resumes: learn what `accepts` needs."""

    def accepts(self, route: SlackRoute) -> bool: ...

    def show_starting(
        self, route: SlackRoute, status: str, loading: list[str], title: str = ""
    ) -> None:
        """A new task's first live status ("is browsing…") and its thread's agent session
        (`title`: the task), sent at the pace of the others."""

    async def progress(self, task: TaskView, record: TaskRecord, *, new_step: bool) -> None:
        """The task moved (`new_step`), or only its live status is due to be sent again."""

    async def finished(
        self, task: TaskView, record: TaskRecord, *, maybe_posted: bool = False
    ) -> None:
        """Post the result, unless it is there already (looked for when `maybe_posted`)."""

    async def capped(self, task: TaskView, record: TaskRecord, cost: float, cap: float) -> None:
        """The task was stopped at its cost cap: say so where its person looks."""

    @property
    def waiting(self) -> int:
        """How tasks ended, passed on and not all sent yet (the sink paces its calls; progress
        not sent yet is not counted: it may wait a minute, or be replaced)."""

    def share(self, processes: int) -> None:
        """Take this process's share of the sink's own limits."""

    async def close(self) -> None: ...


class Tracker:
    def __init__(
        self,
        client: BrowserUseClient,
        store: Store,
        sink: TaskSink,
        *,
        poll_interval: float = 3.0,
        max_poll_interval: float = 15.0,
        progress_every: float | None = None,
        follow_lease: float = 30.0,
        report_lease: float = REPORT_LEASE_SECONDS,
        status_refresh: float = 90.0,
        watch: float = 120.0,
        watch_most: int = WATCH_MOST,
        sweep_floor: float = 5.0,
        sweep_grace: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.client = client
        self.store = store
        self.sink = sink
        self.poll_interval = poll_interval
        # The lease outlives the longest wait between two polls, or a live follower would lose it.
        self.max_poll_interval = min(max_poll_interval, follow_lease / 2, status_refresh / 3)
        self.follow_lease = follow_lease
        self.report_lease = report_lease
        # How often the status message shows the agent's latest step.
        self.progress_every = progress_every or 3 * poll_interval
        # A running task's progress is passed on at least this often, even without a new step:
        # Slack drops a thread's "is browsing…" status after 2 minutes unless it is sent again.
        self.status_refresh = status_refresh
        # Polled on its own this long after it starts or a click; this many at most.
        self.watch = watch
        self.watch_most = watch_most
        # The shortest wait between two sweeps; how new a task may be and not be listed yet.
        self.sweep_floor = sweep_floor
        self.sweep_grace = sweep_grace
        self._sleep = sleep
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._watched: dict[str, float] = {}  # until when (monotonic), by task ID
        self._later: dict[str, tuple[float, int]] = {}  # reports put off: (until, how often)
        self._caps: dict[str, float] = {}  # the cost caps of tasks this process has read
        self._costs: dict[str, str] = {}  # what the last full read said each task cost
        self._locks: dict[str, asyncio.Lock] = {}
        self._reading = 0
        self._pruned_at = time.monotonic()

    @property
    def following(self) -> int:
        return len(self._loops)

    @property
    def reading(self) -> int:
        """Reads of a task under way (`refresh`), any of which may still pass on its progress
        or its result, and ends the sink has not finished saying. Zero: every result this
        process has seen is said (its progress may still be paced)."""
        return self._reading + self.sink.waiting

    @property
    def watched(self) -> int:
        return len(self._watched)

    def _watched_for_a_while(self) -> dict[str, float]:
        """The watched tasks the sweep takes back in time (v2's), by until when."""
        return {t: until for t, until in self._watched.items() if until != math.inf}

    def follow(self, task_id: str, engine: Engine = "v2") -> None:
        """Watch `task_id`: poll it on its own for the next `watch` seconds (or until it ends),
        if no other process does. Past `watch_most`, the task watched the longest is left to the
        sweep. A v4 run (accurate mode) is polled until it ends: v4 cannot list runs by status,
        so the sweep cannot follow it."""
        if engine == ACCURATE:
            self._watched[task_id] = math.inf
        else:
            self._watched[task_id] = time.monotonic() + self.watch
            swept = self._watched_for_a_while()
            if len(swept) > self.watch_most:
                del self._watched[min(swept, key=swept.__getitem__)]
        if task_id in self._loops:
            return
        loop = asyncio.get_running_loop().create_task(self._poll(task_id, engine))
        self._loops[task_id] = loop
        loop.add_done_callback(lambda _: self._forget(task_id))

    def _forget(self, task_id: str) -> None:
        """A task no longer followed (ended, gone, given up on, or followed elsewhere)."""
        self._loops.pop(task_id, None)
        self._caps.pop(task_id, None)
        self._costs.pop(task_id, None)
        self._watched.pop(task_id, None)
        lock = self._locks.get(task_id)
        if lock is not None and not lock.locked():
            del self._locks[task_id]

    async def close(self, *, release: bool = True) -> None:
        """Stop polling, and hand every lease on at once: another process takes over (not when
        the workspace is gone: `release` False)."""
        loops = list(self._loops.values())
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await self.sink.close()
        if not release:
            return
        try:
            await self.store.release_all()
        except StoreUnavailable as exc:
            log.error("store.unreachable error=%s: the leases run out by themselves", exc.reason)
        except Exception:
            log.exception("tracker.release_failed: the leases run out by themselves")

    async def _poll(self, task_id: str, engine: Engine) -> None:
        """Cheap `/status` reads, at twice the first pace while the task moves and with backoff
        once it does not; the full task (for the step shown in Slack) every `progress_every`
        seconds, and as soon as the status or the cost (a step) changes. Once the task is no
        longer watched, it is handed to the sweep."""
        interval = self.poll_interval
        since_full_read = 0.0
        last_status = ""
        moved_at = -math.inf  # when its status or its cost (a step) last changed
        tries_after_end = 0
        while tries_after_end < MAX_REPORT_TRIES:
            # The lease is renewed before each wait, and covers it.
            if not await self.store.claim_follow(task_id, self.follow_lease):
                return  # reported, or followed by another process
            await self._sleep(interval * random.uniform(0.9, 1.1))  # noqa: S311
            # Whether it is still watched is asked after the wait, just before the read: in a
            # burst of creates each new task leaves an older one to the sweep while it waits, and
            # reading it anyway cost a request per task created, queued behind the creates.
            if time.monotonic() >= self._watched.get(task_id, 0.0):
                await self.store.release_follow(task_id)
                return
            since_full_read += interval
            # What its last full read said it cost (`_refresh` keeps it): v2 bills per step, so
            # a cost that moved since is a step.
            seen = self._costs.get(task_id, "")
            moved = False
            if since_full_read >= self.progress_every:
                since_full_read = 0.0
                await self.refresh(task_id, Priority.POLL)
                moved = self._costs.get(task_id, seen) != seen
            else:
                try:
                    status = await self.client.read_status(task_id, engine, background=True)
                except NotFoundError:
                    log.warning("tracker.gone task_id=%s", task_id)
                    await self.store.reported(task_id, "gone")  # nothing left to report
                    return
                except BrowserUseError as exc:
                    log.warning("tracker.poll_failed task_id=%s error=%s", task_id, exc)
                    interval = self._next_interval(interval, moved_at)
                    continue
                cap = self._caps.get(task_id)
                if cap is not None and not status.ended and (cost_of(status) or 0.0) >= cap:
                    await self.refresh(task_id, Priority.CHANGED)  # stopped there (`_keep_to_cap`)
                if status.ended or status.status != last_status:
                    # A task's first status is news to this loop, not a change: read at a poll's
                    # priority, or a thousand tasks followed at once would each jump the queue.
                    changed = status.ended or bool(last_status)
                    last_status, since_full_read = status.status, 0.0
                    moved = changed and not status.ended
                    if status.ended:
                        moved_at = -math.inf  # looked at again with backoff (its report may wait)
                    await self.refresh(task_id, Priority.CHANGED if changed else Priority.POLL)
                    # Reported, or the report failed (or is another process's) and is looked at
                    # again.
                    tries_after_end += status.ended
                elif (status.cost or "") != seen:
                    # A step: read now, so it shows in the thread within a poll, not a full
                    # read's period.
                    moved, since_full_read = True, 0.0
                    await self.refresh(task_id, Priority.POLL)
            if moved:
                moved_at = time.monotonic()
            interval = self._next_interval(interval, moved_at)
        log.error("tracker.unreported task_id=%s after %d tries", task_id, tries_after_end)

    def _next_interval(self, interval: float, moved_at: float) -> float:
        """The wait before a watched task's next poll: twice the first pace while it moves, so
        a step shows within a second or two; backing off once it has not moved for a while."""
        if time.monotonic() - moved_at < self.progress_every:
            return self.poll_interval / 2
        return min(interval * 1.5, self.max_poll_interval)

    async def refresh(
        self, task_id: str, priority: Priority = Priority.WEBHOOK, *, watch: bool = False
    ) -> None:
        """Read the task and pass on what changed; then, if `watch` (someone clicked one of its
        buttons), poll it on its own for a while. Safe to call from anywhere, any number of
        times, in any process: a webhook, a poll, the sweep, a button, or two of them at once.
        The read waits for the request budget by `priority` (a webhook's first, a poll's last)."""
        self._reading += 1
        try:
            engine = await self._refresh(task_id, priority)
            if engine is not None and watch:
                self.follow(task_id, engine)
        finally:
            self._reading -= 1

    async def _refresh(self, task_id: str, priority: Priority) -> Engine | None:
        """Read and pass on; the task's engine while it is still running, as far as this read
        knows (None once it ended, or is not this app's)."""
        known = await self.store.task(task_id)
        if known is not None and known.reported_at is not None:
            return None
        engine: Engine = "v4" if known is not None and known.engine == "v4" else "v2"
        later = self._later.get(task_id)
        if later is not None and time.monotonic() < later[0] and priority != Priority.WEBHOOK:
            return engine  # its report was put off: not read again until then
        # Read before taking the task's lock: a webhook's read must not queue behind a poll's
        # read of the same task that holds the lock while it waits its (later) turn. Two reads
        # of one task at once cost a request; the store still decides who reports.
        try:
            task = await self.client.read(task_id, engine, background=True, priority=priority)
        except NotFoundError:
            log.warning("tracker.gone task_id=%s", task_id)
            await self.store.reported(task_id, "gone")  # nothing left to report
            return None
        except BrowserUseError as exc:
            log.warning("tracker.read_failed task_id=%s error=%s", task_id, exc)
            return engine
        if task_id in self._loops:
            self._costs[task_id] = task.cost or ""  # its poll sees a step by it (`_poll`)
        lock = self._locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            record = await self.store.task(task_id)
            if record is not None and record.reported_at is not None:
                return None
            if record is None:
                record = await self._recover(task)
                if record is None:
                    return None  # not a task this app started
            try:
                if task.ended:
                    await self._report(task, record)
                    return None
                await self._keep_to_cap(task, record)
                step = task.last_step.number if task.last_step else 0
                period = int(time.time() // self.status_refresh)
                new_step = await self.store.show_progress(task_id, f"{task.status}:{step}", period)
                if new_step is not None:
                    await self.sink.progress(task, record, new_step=new_step)
                    if new_step:
                        log.info(
                            "task.progress task_id=%s status=%s step=%d",
                            task_id,
                            task.status,
                            step,
                        )
            except ReportLater as exc:
                tries = (self._later.get(task_id) or (0.0, 0))[1] + 1
                wait = min(LATER_FIRST_SECONDS * 2 ** (tries - 1), LATER_MOST_SECONDS)
                self._later[task_id] = (time.monotonic() + wait, tries)
                log.info("task.report_later task_id=%s why=%s in=%.0fs", task_id, exc, wait)
            except StoreUnavailable as exc:
                log.error("store.unreachable task_id=%s error=%s", task_id, exc.reason)
            except Exception:
                log.exception("tracker.report_failed task_id=%s", task_id)
        return engine

    async def _report(self, task: TaskView, record: TaskRecord) -> None:
        claim = await self.store.claim_report(task.id, self.report_lease)
        if claim is None:
            return  # another process reports it (or has)
        # Read again once claimed: a status message stored since is edited by this report (one
        # stored after it is edited by whoever stored it: `Store.set_status_message`).
        record = await self.store.task(task.id) or record
        # A claim taken over from a process that died may have died just after posting.
        report = self.sink.finished(task, record, maybe_posted=claim is Claim.TAKEN_OVER)
        try:
            await self._holding_claim(task.id, report)
        except ClaimLost:
            log.warning("task.report_lost task_id=%s: another process reports it", task.id)
            return
        except BaseException:
            await self.store.release_report(task.id)
            raise
        cost = cost_of(task)
        await self.store.reported(task.id, task.status, cost)
        metrics.TASKS_ENDED.labels(record.engine, task.status).inc()
        await self._audit_end(task, record, cost)
        self._later.pop(task.id, None)
        log.info("task.%s task_id=%s session_id=%s", task.status, task.id, task.session_id)

    async def _keep_to_cap(self, task: TaskView, record: TaskRecord) -> None:
        """A v2 task with a cost cap (v4 keeps its own, `maxCostUsd`) is stopped once the cost
        Browser Use reports reaches it: by one process, said once in its thread."""
        cap = record.cost_cap
        if cap is None or record.engine != "v2":
            return
        self._caps[task.id] = cap
        cost = cost_of(task)
        if cost is None or cost < cap:
            return
        # Stopped at every read past its cap until it has (a stop said twice is harmless); said
        # once, by whichever process first stopped it.
        try:
            await self.client.stop(task.id, "v2")
        except BrowserUseError as exc:
            log.warning("tracker.cap_stop_failed task_id=%s error=%s", task.id, exc)
            return
        if await self.store.first(f"cost-cap:{task.id}"):
            log.info("task.cost_cap task_id=%s cost=%.4f cap=%.4f", task.id, cost, cap)
            await self.sink.capped(task, record, cost, cap)

    async def _audit_end(self, task: TaskView, record: TaskRecord, cost: float | None) -> None:
        """The end into the audit trail, with what Browser Use says it cost."""
        event = AuditEvent(
            "task.ended",
            actor=record.user_id,
            channel=record.channel,
            task_id=task.id,
            cost=cost,
            detail=task.status,
            team=record.team,
        )
        try:
            await self.store.record(event)
        except Exception:
            log.exception("audit.failed action=task.ended task_id=%s", task.id)

    async def _holding_claim(self, task_id: str, report: Awaitable[None]) -> None:
        """Make `report` while renewing this process's claim on it: a result waits its turn in
        Slack's pace (a busy channel after a deploy: minutes), and a claim left to run out
        meanwhile was taken by another process, which posted the same result again. Raises
        `ClaimLost` (the report cancelled) if another process holds the claim after all."""
        job = asyncio.ensure_future(report)
        try:
            while True:
                done, _ = await asyncio.wait({job}, timeout=self.report_lease / 3)
                if done:
                    return job.result()
                try:
                    held = await self.store.claim_report(task_id, self.report_lease)
                except StoreUnavailable as exc:
                    # Not known to be lost: renewed again at the next turn, or it runs out.
                    log.error("store.unreachable task_id=%s error=%s", task_id, exc.reason)
                    continue
                if not held:
                    raise ClaimLost(task_id)
        finally:
            if not job.done():
                job.cancel()
                await asyncio.gather(job, return_exceptions=True)

    async def _recover(self, task: TaskView) -> TaskRecord | None:
        """A task of this app the store does not know (the store was lost, or a webhook beat the
        create's own record): recorded from the Slack route in its Browser Use metadata."""
        route = SlackRoute.from_metadata(task.metadata)
        if route is None or not self.sink.accepts(route):
            return None
        record = TaskRecord.from_route(
            task.id,
            task.session_id,
            route,
            thread_session=bool(task.metadata.get(SESSION_METADATA_KEY)),
            recovered=True,
        )
        await self.store.add_task(record)
        return await self.store.task(task.id)

    async def resume(self) -> int:
        """After a (re)start: watch the tasks started in the last `watch` seconds (the follow
        leases decide which process polls which); the sweep follows every other unreported
        task the store knows. With an empty store (a new database, or SQLite on a disk the
        platform wiped), the tasks are found at Browser Use by their metadata."""
        await self.sink.ready()
        if await self.store.has_tasks():
            unreported = len(await self.store.unreported(limit=None))
            await self._watch_recent()
            log.info("tracker.resumed from=store tasks=%d watched=%d", unreported, self.watched)
            return unreported
        return await self._resume_from_browser_use()

    async def _watch_recent(self) -> None:
        """Watch the newest tasks started in the last `watch` seconds that nobody polls, while
        there is room (a task left to the sweep to make room is not taken back here)."""
        for task_id in await self.store.unreported(unfollowed=True, engine="v4", limit=None):
            self.follow(task_id, "v4")  # runs are always polled
        room = self.watch_most - len(self._watched_for_a_while())
        if room <= 0:
            return
        recent = await self.store.unreported(
            unfollowed=True, created_after=self.store.clock() - self.watch, engine="v2", limit=None
        )
        for task_id in recent[-room:]:
            if task_id not in self._loops:
                self.follow(task_id)

    async def _resume_from_browser_use(self) -> int:
        now = datetime.now(timezone.utc)
        seen = 0
        for statuses, within in (
            (("created", "started"), RESUME_RUNNING_WITHIN),
            (("finished", "failed", "stopped"), RESUME_ENDED_WITHIN),
        ):
            after = (now - within).strftime("%Y-%m-%dT%H:%M:%SZ")
            for status in statuses:
                for page in range(1, RESUME_MAX_PAGES + 1):
                    try:
                        listing = await self.client.list_tasks(
                            status=status, after=after, page=page, background=True
                        )
                    except BrowserUseError as exc:
                        log.warning("tracker.resume_failed status=%s error=%s", status, exc)
                        break
                    for item in listing.items:
                        route = SlackRoute.from_metadata(item.metadata)
                        if route and self.sink.accepts(route):
                            seen += 1
                            await self.refresh(item.id, Priority.POLL)
                    if page * listing.page_size >= listing.total_items or not listing.items:
                        break
        log.info("tracker.resumed from=browser_use tasks=%d following=%d", seen, self.following)
        return seen

    async def housekeep(
        self, heartbeat_seconds: float, live: int | None = None, *, watch: bool = True
    ) -> None:
        """One round of housekeeping: say this process is alive (unless the caller did, and
        counted `live` processes) and take its share of the request budget; watch the recent
        tasks whose watcher stopped renewing its lease (unless the caller knows there is no
        unreported task: `watch` False); once an hour, forget old request keys."""
        if live is None:
            live = await self.store.heartbeat(every=heartbeat_seconds)
        self.client.budget.share(live)
        self.sink.share(live)
        if watch:
            await self._watch_recent()
        if time.monotonic() - self._pruned_at > 3600:
            self._pruned_at = time.monotonic()
            await self.store.prune(REQUEST_KEYS_KEPT_SECONDS)

    async def run_sweeps(self, has_tasks: Callable[[], bool] = lambda: True) -> None:
        """Forever: a sweep whenever this process holds the sweep's lease, as often as the
        request budget allows (`sweep`); not even the store is asked while `has_tasks()` says
        there is nothing unreported (with many workspaces, most have nothing running)."""
        while True:
            wait = self.sweep_floor
            try:
                if has_tasks():
                    wait = await self.sweep()
            except StoreUnavailable as exc:
                log.error("store.unreachable error=%s: the sweep waits for it", exc.reason)
            except Exception:
                log.exception("tracker.sweep_failed")
            await self._sleep(wait)

    async def sweep(self) -> float:
        """One sweep, by the one process holding its lease: list the tasks running at Browser
        Use (pages of 100) and read each unreported task of the store that nobody polls and the
        list lacks. Returns the wait before the next sweep: at most `SWEEP_SHARE` of the budget.

        A list is never taken to mean a task ended, only to choose which tasks to read: the read
        decides. So whatever the list's order (UNCONFIRMED) and however its pages shift while
        statuses change (a row moved across a page boundary is missing, or listed twice),
        nothing is missed; the store's report claim keeps a result from being posted twice.
        """
        began = self.store.clock()
        # A stop may cancel the sweep in the middle of a store call: the store's calls are
        # shielded (`bot.store.base`), so none is left mid-statement.
        followed = await self.store.unreported(
            unfollowed=True, created_before=began - self.sweep_grace, engine="v2", limit=None
        )
        if not followed:
            return self.sweep_floor  # nothing to sweep: no lease is taken (no write)
        lease = max(self.follow_lease, 3 * self.sweep_floor)
        if not await self.store.claim_lease(SWEEP_LEASE, lease):
            return self.sweep_floor
        running: set[str] = set()
        costs: dict[str, float] = {}  # what each running task has cost so far, as listed
        pages = 0
        try:
            for status in RUNNING_STATUSES:
                for page in range(1, SWEEP_MAX_PAGES + 1):
                    listing = await self.client.list_tasks(
                        status=status, page=page, background=True, priority=Priority.SWEEP
                    )
                    pages += 1
                    running.update(item.id for item in listing.items)
                    costs.update(
                        (item.id, cost)
                        for item in listing.items
                        if (cost := cost_of(item)) is not None
                    )
                    if not listing.items or page * listing.page_size >= listing.total_items:
                        break
        except BrowserUseError as exc:
            log.warning("tracker.sweep_failed error=%s", exc)
            return self.sweep_floor
        missing = [task_id for task_id in followed if task_id not in running]
        # A task with a cost cap that the list says has reached it is read (and so stopped).
        if costs:
            caps = await self.store.cost_caps()
            missing += [t for t, cost in costs.items() if t in caps and cost >= caps[t]]
        log.info("tracker.swept tasks=%d pages=%d missing=%d", len(followed), pages, len(missing))
        await asyncio.gather(*(self.refresh(task_id, Priority.CHANGED) for task_id in missing))
        return max(self.sweep_floor, pages / (self.client.budget.rate * SWEEP_SHARE))
