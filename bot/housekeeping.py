"""What every process does at every heartbeat, for each workspace it serves (taking over what
a stopped process left, what Slack could not take, recurring runs, login browsers), once an
hour what is past the retention period, and what it closes for people when it stops."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.config import Settings
from bot.store import Store, StoreUnavailable
from bot.workspaces import Workspace, Workspaces
from handlers.flows import conversations, logins, outbox

log = logging.getLogger(__name__)

# Old rows are looked for this often, by whichever process holds the lease.
RETENTION_LEASE = "retention"
RETENTION_EVERY_SECONDS = 3600.0


async def look_after(workspace: Workspace, interval: float, live: int | None = None) -> None:
    """One round for one workspace: the takeover of its tasks (the tracker), of follow-ups
    whose process stopped waiting for them (the conversations), what Slack could not take
    while it was down (the outbox), its recurring tasks' due runs (the scheduler; the first
    tick, at start-up, finds the runs missed while down), and its login browsers. With many
    workspaces, only what `Workspace.work` says it has (one query found it for all of them)."""
    deps, client, has = workspace.deps, workspace.client, workspace.has
    if workspace.work is None:
        await deps.refresh_policy()  # an admin's change in another process, in seconds
    await deps.tracker.housekeep(interval, live, watch=has("tasks"))
    if not deps.connected:
        return
    if has("follow_ups"):
        await conversations.resume_waiting(deps, client)
    if has("outbox"):
        await outbox.deliver(deps, client)
    if has("schedules"):
        await deps.scheduler.tick()
    if has("logins"):
        # Login browsers: this process's kept watched; overdue or orphaned ones closed.
        await deps.store.renew_login_sessions(deps.settings.follow_lease_seconds)
        await logins.close_overdue(deps, client)


async def forget_old(store: Store, settings: Settings) -> None:
    """What is past the retention period deleted (`Store.forget_old`), by one process an hour."""
    if not await store.claim_lease(RETENTION_LEASE, RETENTION_EVERY_SECONDS):
        return  # another process does it this hour
    gone = await store.forget_old(settings.retention_days * 86400)
    if any(gone.values()):
        log.info("store.forgot %s", " ".join(f"{name}={n}" for name, n in gone.items()))


async def keep_house(workspaces: Workspaces, settings: Settings) -> None:
    """Forever, every heartbeat: the workspaces this process serves (with many, each one
    installed, so some process looks after each), then each looked after; once an hour, what
    is older than the retention period deleted."""
    interval = settings.heartbeat_seconds
    retention_due = 0.0
    while True:
        try:
            if time.monotonic() >= retention_due:
                retention_due = time.monotonic() + RETENTION_EVERY_SECONDS
                await forget_old(workspaces.store, settings)
            live = None
            if workspaces.many:
                # Once for all the workspaces this process serves: it says it is alive, finds
                # which are installed, which have work, and what their admins changed.
                store = workspaces.store
                live = await store.heartbeat(every=interval)
                await workspaces.refresh(await store.tenants())
                work, changed = await store.work(), await store.all_workspace_settings()
                for workspace in workspaces.all():
                    tenant = workspace.tenant or ""
                    workspace.work = work.get(tenant, set())
                    workspace.deps.use_policy(changed.get(tenant))
            for workspace in workspaces.all():
                await look_after(workspace, interval, live)
        except StoreUnavailable as exc:
            log.error("store.unreachable error=%s: housekeeping waits for it", exc.reason)
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(interval)


async def close_for_shutdown(workspaces: Workspaces) -> None:
    """What a stopping process closes for people: its login browsers (and they are told)."""
    for workspace in workspaces.all():
        try:
            await logins.close_own(workspace.deps, workspace.client)
        except Exception:
            log.exception("shutdown: closing login browsers failed; their leases run out")
