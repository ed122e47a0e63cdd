"""The buttons on a task's status message: Stop, Live view, Share, Take over (and its Done,
continue), and Slack's own stop button on the thread's agent session. What each does is in
handlers/flows/controls.py; these listeners ack, and tell the clicker (or the thread) what it
said."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.flows import controls
from handlers.ids import Action
from handlers.listeners import PerRequest, bind
from handlers.payloads import task_of
from handlers.slack_io import (
    clicker_reporter,
    post,
    respond_ephemeral,
    show_clicker,
    tell_clicker,
)
from handlers.views import messages


async def handle_stop(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Stop the task, if the clicker may."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        await tell_clicker(client, body, await controls.stop_task(deps, user, task_id))

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_session_stopped(
    body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Slack's stop button on a thread's agent session (`agent_session_stopped`): who clicked is
    the event's `user`, as Slack signed it."""
    event = body.get("event") or {}
    channel, thread_ts, user = event.get("channel"), event.get("thread_ts"), event.get("user")
    if not (channel and thread_ts and user):
        return
    click = str(event.get("event_ts") or body.get("event_id") or "")

    async def work() -> None:
        await controls.stop_from_slack(deps, client, channel, thread_ts, user, click)

    deps.inflight.spawn(work)


async def handle_live_view(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Send the live view link to the clicker alone."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        await tell_clicker(client, body, await controls.live_view(deps, user, task_id))

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_share(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Create a public watch link and post it in the thread."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        text, public = await controls.share(deps, user, task_id)
        if not public:
            await tell_clicker(client, body, text)
            return
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        await post(client, body["channel"]["id"], messages.notice(text), thread_ts)

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_take_over(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Stop the task, keep its browser, and give its live view to the clicker alone."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        await show_clicker(client, body, await controls.take_over(deps, user, task_id))

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_continue(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Done, continue: the task goes on in the same browser; the private link is taken away."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        refused = await controls.continue_task(deps, client, user, task_id)
        if refused:
            await tell_clicker(client, body, refused)
            return
        done = {"replace_original": True, "text": ":arrow_forward: Going on in the browser."}
        await respond_ephemeral(body.get("response_url"), done)

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_save_taken_over(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Save the login: the taken-over browser closes, and its saved login keeps what was done."""
    await ack()
    user, task_id = body["user"]["id"], task_of(body)

    async def work() -> None:
        said = await controls.save_taken_over(deps, client, user, task_id)
        await respond_ephemeral(body.get("response_url"), {"replace_original": True, "text": said})

    deps.inflight.spawn(work, on_error=clicker_reporter(client, body))


async def handle_open_browser(ack: AsyncAck, *, deps: Deps) -> None:
    """The link button opens the browser in the person's own; Slack still sends the click."""
    await ack()


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.action(Action.STOP_TASK)(bind(handle_stop, deps))
    app.event("agent_session_stopped")(bind(handle_session_stopped, deps))
    app.action(Action.LIVE_VIEW)(bind(handle_live_view, deps))
    app.action(Action.SHARE_SESSION)(bind(handle_share, deps))
    app.action(Action.TAKE_OVER)(bind(handle_take_over, deps))
    app.action(Action.CONTINUE_TASK)(bind(handle_continue, deps))
    app.action(Action.OPEN_TAKEN_OVER)(bind(handle_open_browser, deps))
    app.action(Action.SAVE_TAKEN_OVER)(bind(handle_save_taken_over, deps))
