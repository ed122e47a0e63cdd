"""What the app owes people in Slack while Slack is down: kept in the store, delivered once Slack
takes it, by any process, across restarts, with backoff (`bot.store.outbox`).

Two kinds:
- `ANNOUNCE`: a task that started while its parent could not be posted: its parent, then its
  IDs in the thread (its status message). The task's result waits for it (`Store.owes_task`),
  so a thread reads in order: parent, IDs, result.
- `PRIVATE`: a private answer that reached nobody (a refusal, a failure, the IDs of a task with
  no thread): sent as a DM from the bot.

A post Slack answered with a 5xx may have been posted anyway: delivering it again can double it
(said in docs/promises.md). What is delivered is remembered step by step (a parent posted is
not posted again when its IDs fail).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.store import Owed, Store
from handlers.slack_io import CANNOT_POST, post, set_session, set_thread_status
from handlers.views import messages

log = logging.getLogger(__name__)

ANNOUNCE = "announce"
PRIVATE = "private"

# Slack errors that say Slack, not the request, is the problem: worth trying again later.
SLACK_DOWN = frozenset(
    {
        "network",  # no answer, a broken connection, a timeout
        "unknown",  # an answer that is not Slack's JSON: a 5xx from its load balancer
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }
)
# How long a process has to deliver what it claimed before another may.
CLAIM_SECONDS = 60.0


def slack_down(error: str | None) -> bool:
    return error in SLACK_DOWN


async def owe_private(store: Store, team: str, user: str, message: messages.Message) -> None:
    await store.owe(PRIVATE, {"user": user, "message": message}, team=team)
    log.warning("slack.down: a private answer is kept to send later user=%s", user)


async def owe_announce(store: Store, team: str, task_id: str, body: dict[str, Any]) -> None:
    """Keep a task's announcement (`body`: channel, user, thread_ts, parent, started, react_ts,
    browsing) to post when Slack is back. Its result waits for it."""
    await store.owe(ANNOUNCE, body, team=team, task_id=task_id)
    log.warning("slack.down: task %s is announced when Slack is back", task_id)


async def deliver(deps: Deps, client: AsyncWebClient) -> int:
    """Deliver what is due; what fails is tried again later (backoff up to a few minutes)."""
    timers = deps.settings.timers
    delivered = 0
    for owed in await deps.store.claim_owed(CLAIM_SECONDS):
        try:
            done = await _deliver(deps, client, owed)
        except Exception:
            log.exception("outbox.failed id=%d kind=%s", owed.id, owed.kind)
            done = False
        if done:
            await deps.store.paid(owed.id)
            delivered += 1
            log.info("outbox.delivered id=%d kind=%s after=%d", owed.id, owed.kind, owed.attempts)
        else:
            wait = min(timers.outbox_first * 2**owed.attempts, timers.outbox_most)
            await deps.store.owed_later(owed.id, wait)
    return delivered


async def _deliver(deps: Deps, client: AsyncWebClient, owed: Owed) -> bool:
    if owed.kind == PRIVATE:
        ts, error = await post(client, owed.body["user"], owed.body["message"])
        return ts is not None or not slack_down(error)
    if owed.kind == ANNOUNCE:
        return await _announce(deps, client, owed)
    log.error("outbox.unknown_kind id=%d kind=%s", owed.id, owed.kind)
    return True


async def _announce(deps: Deps, client: AsyncWebClient, owed: Owed) -> bool:
    """The parent (once), then the IDs in its thread; the thread and status message are kept
    with the task, so its result goes under them. A channel that refuses the bot now: the IDs
    go to the person directly."""
    body, task_id = owed.body, owed.task_id
    assert task_id is not None
    channel, thread_ts = body["channel"], body.get("thread_ts")
    if body.get("parent") and not body.get("parent_ts"):
        ts, error = await post(client, channel, body["parent"], thread_ts)
        if ts is None:
            if slack_down(error):
                return False
            return await _ids_privately(client, body, error)
        body["parent_ts"] = ts
        await deps.store.owed_so_far(owed.id, body)
    thread_ts = thread_ts or body.get("parent_ts")
    if not thread_ts:
        return await _ids_privately(client, body, None)
    await deps.store.set_thread(task_id, thread_ts)
    ts, error = await post(client, channel, body["started"], thread_ts)
    if ts is None:
        return not slack_down(error)
    await deps.store.set_status_message(task_id, ts, body.get("react_ts"))
    status, loading = body["browsing"]
    await set_thread_status(client, channel, thread_ts, status, loading)
    # The thread's agent session, as a start with Slack up makes it (its end moves it on).
    title, user = body.get("title"), body.get("user")
    await set_session(client, channel, thread_ts, "processing", title=title, initiator=user)
    return True


async def _ids_privately(client: AsyncWebClient, body: dict[str, Any], error: str | None) -> bool:
    started = {k: v for k, v in body["started"].items() if k != "metadata"}
    hint = messages.NO_THREAD_HINT if error in CANNOT_POST else None
    ts, error = await post(client, body["user"], messages.with_hint(started, hint))
    return ts is not None or not slack_down(error)
