"""Conversations: a mention or a DM is a task (or a follow-up in its thread's browser), and the
buttons under a thread's messages: Queue, Run again, Change and run, Close the browser."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.store import FollowUp
from handlers.flows.again import change_and_run, run_again
from handlers.flows.conversations import close_thread_session, converse, wait_then_run
from handlers.flows.said import Said, react_to, reporter, said_from_event, say
from handlers.flows.submit import first_time
from handlers.ids import Action, Reaction
from handlers.listeners import PerRequest, bind
from handlers.payloads import follow_up_of
from handlers.slack_io import clicker_reporter
from handlers.views import messages

log = logging.getLogger(__name__)


async def _said(
    body: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient, *, deps: Deps
) -> None:
    said = said_from_event(body)
    if said is None:
        return
    event_id = body.get("event_id") or f"{said.channel_id}:{said.ts}"
    retry = request.headers.get("x-slack-retry-num", [""])[0]

    async def work() -> None:
        # Slack re-delivers an event it thinks failed, to any process; and a mention in a DM
        # comes twice (as a mention and as a message). Either way: one task.
        if not await first_time(deps, f"event:{event_id}") or not await first_time(
            deps, f"message:{said.channel_id}:{said.ts}"
        ):
            log.info("event.duplicate event_id=%s retry=%s", event_id, retry)
            return
        await react_to(client, said, Reaction.SEEN)
        await converse(deps, client, said)

    deps.inflight.spawn(work, on_error=reporter(client, said))


async def handle_mention(
    body: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient, *, deps: Deps
) -> None:
    """@Browser Use in a channel or a thread: a task, answered in that message's thread."""
    await _said(body, request, client, deps=deps)


async def handle_message(
    body: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient, *, deps: Deps
) -> None:
    """A direct message to the bot works like a mention; other messages are not for us."""
    if (body.get("event") or {}).get("channel_type") == "im":
        await _said(body, request, client, deps=deps)


async def handle_queue(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Run the follow-up when the thread's browser is free."""
    await ack()
    try:
        value = follow_up_of(body)
    except ValidationError:
        log.warning("action.malformed_value action=%s", Action.QUEUE_FOLLOW_UP)
        return
    if body["user"]["id"] != value.user:
        return  # only the person who asked may queue their follow-up
    message = body.get("message") or {}
    said = Said(
        team_id=str((body.get("team") or {}).get("id", "")),
        channel_id=str(body["channel"]["id"]),
        user_id=value.user,
        text=value.text,
        ts=value.ts,
        thread_ts=str(message.get("thread_ts") or message.get("ts")),
    )

    action_ts = body["actions"][0].get("action_ts") or message.get("ts")

    async def queue() -> None:
        if not await first_time(deps, f"queue:{said.channel_id}:{said.ts}:{action_ts}"):
            return
        waiting = FollowUp(
            said.channel_id,
            said.thread_ts,
            said.user_id,
            said.text,
            said.ts,
            value.session,
            team=said.team_id,
            created_at=deps.store.clock(),
        )
        waiting_id = await deps.store.queue_follow_up(waiting, deps.policy.follow_lease_seconds)
        notice = ":hourglass: Queued: it starts as soon as the current step is done."
        await say(client, said, messages.notice(notice))
        await wait_then_run(deps, client, replace(waiting, id=waiting_id))

    deps.inflight.spawn(queue, on_error=reporter(client, said))


async def handle_run_again(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """The same task again, once per click."""
    await ack()
    click = f"again:{body['actions'][0]['value']}:{body['actions'][0].get('action_ts')}"

    async def work() -> None:
        if await first_time(deps, click):
            await run_again(deps, client, body)

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_change_and_run(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open the form prefilled with the earlier task (the trigger lasts 3 seconds)."""
    await ack()
    deps.inflight.spawn(
        lambda: change_and_run(deps, client, body), on_error=clicker_reporter(client, body)
    )


async def handle_close(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Close the thread's browser (anyone in the thread may: it only saves money)."""
    await ack()
    message = body.get("message") or {}
    said = Said(
        team_id=str((body.get("team") or {}).get("id", "")),
        channel_id=str(body["channel"]["id"]),
        user_id=str(body["user"]["id"]),
        text="done",
        ts=str(message.get("ts")),
        thread_ts=str(message.get("thread_ts") or message.get("ts")),
    )
    deps.inflight.spawn(
        lambda: close_thread_session(deps, client, said), on_error=reporter(client, said)
    )


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.event("app_mention")(bind(handle_mention, deps))
    app.event("message")(bind(handle_message, deps))
    app.action(Action.QUEUE_FOLLOW_UP)(bind(handle_queue, deps))
    app.action(Action.RUN_AGAIN)(bind(handle_run_again, deps))
    app.action(Action.CHANGE_AND_RUN)(bind(handle_change_and_run, deps))
    app.action(Action.CLOSE_SESSION)(bind(handle_close, deps))
