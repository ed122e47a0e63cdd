"""A recurring task's buttons (Pause, Resume, Run now, Delete), in `/browser-use schedules` and
on the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps, Failure
from handlers.errors import internal_error_text
from handlers.flows.home import publish_home
from handlers.flows.recurring import channel_schedules, manage
from handlers.ids import Action
from handlers.listeners import PerRequest, bind
from handlers.payloads import schedule_of
from handlers.slack_io import respond_ephemeral
from handlers.views import messages


async def handle_schedule_button(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """A schedule's button, in `/browser-use schedules` or on the Home tab: done, then the
    list is shown again as it is now, with what happened."""
    await ack()
    action = body["actions"][0]
    user = body["user"]["id"]
    click = f"schedule:{action['value']}:{action.get('action_ts')}"

    async def work() -> None:
        said = await manage(deps, client, user, schedule_of(body), action["action_id"], click)
        if (body.get("view") or {}).get("type") == "home":
            await publish_home(deps, client, user, note=said)
            return
        channel = str((body.get("channel") or {}).get("id", ""))
        await respond_ephemeral(
            body.get("response_url"), await channel_schedules(deps, channel, said)
        )

    async def failed(failure: Failure) -> None:
        message = messages.ephemeral(messages.notice(internal_error_text(failure)))
        await respond_ephemeral(body.get("response_url"), message)

    deps.inflight.spawn(work, on_error=failed)


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    for action_id in (
        Action.SCHEDULE_PAUSE,
        Action.SCHEDULE_RESUME,
        Action.SCHEDULE_RUN_NOW,
        Action.SCHEDULE_DELETE,
    ):
        app.action(action_id)(bind(handle_schedule_button, deps))
