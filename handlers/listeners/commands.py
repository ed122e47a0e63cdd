"""`/browser-use`: parse, answer within Slack's 3 seconds, then start the task or open the form."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps, Failure
from handlers.access import apply_policy, asks_profile, check_access, check_profile_id, is_admin
from handlers.errors import (
    FORM_FAILED,
    VIEW_FAILED,
    UserInputError,
    failure_text,
    internal_error_text,
)
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
from handlers.flows.audit import export_audit
from handlers.flows.channel_defaults import defaults_for, defaults_of, open_settings, where_from
from handlers.flows.controls import stop_task, task_status
from handlers.flows.logins import channel_proxy, logins_here, use_login
from handlers.flows.modals import open_task_form
from handlers.flows.recurring import channel_schedules, create_schedule
from handlers.flows.submit import (
    Origin,
    failure_reporter,
    first_time,
    start_task,
    tell_privately,
)
from handlers.ids import COMMAND
from handlers.listeners import PerRequest, bind
from handlers.payloads import FormContext
from handlers.slack_io import open_view, respond_ephemeral
from handlers.views import messages
from handlers.views.logins import login_form


async def handle_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Answer at once; the task is created after the ack so Browser Use never delays it."""
    try:
        floor = deps.policy.repeat_floor
        parsed = parse_command(command.get("text", ""), defaults_of(deps), floor)
        if not isinstance(parsed, Help):
            check_access(deps.policy, command["user_id"], command["channel_id"])
        if isinstance(parsed, Run | Every):
            parsed = replace(parsed, request=apply_policy(parsed.request, deps.policy))
    except UserInputError as exc:
        await ack(response_type="ephemeral", text=f":warning: {failure_text(exc)}")
        return
    if isinstance(parsed, Help):
        await ack(**messages.usage())
        url, channel = command.get("response_url"), command["channel_id"]

        async def defaults_here() -> None:
            # After the ack: the channel's defaults are in the store.
            defaults = await defaults_for(deps, channel)
            text = f"*Browser tasks in this channel start from:*\n{where_from(deps, defaults)}"
            await respond_ephemeral(url, messages.ephemeral(messages.notice(text)))

        deps.inflight.spawn(defaults_here)
        return
    await ack()
    url = command.get("response_url")

    async def failed(failure: Failure) -> None:
        notice = messages.notice(internal_error_text(failure))
        await respond_ephemeral(url, messages.ephemeral(notice))

    if isinstance(parsed, ChannelSettings):
        trigger, channel, user = (
            command["trigger_id"],
            command["channel_id"],
            command["user_id"],
        )

        async def show_settings() -> None:
            team = command.get("team_id", "")
            if not await open_settings(deps, client, trigger, channel, user, team):
                message = {"response_type": "ephemeral", "text": FORM_FAILED}
                await respond_ephemeral(url, message)

        deps.inflight.spawn(show_settings, on_error=failed)
        return
    if isinstance(parsed, Schedules):

        async def show_schedules() -> None:
            await respond_ephemeral(url, await channel_schedules(deps, command["channel_id"]))

        deps.inflight.spawn(show_schedules, on_error=failed)
        return
    if isinstance(parsed, SaveLogin):

        async def open_login_form() -> None:
            context = FormContext(channel_id=command["channel_id"])
            proxy = parsed.proxy or await channel_proxy(deps, command["channel_id"])
            admin = await is_admin(deps, client, command["user_id"])
            view = login_form(context, name=parsed.name, url=parsed.url, proxy=proxy, admin=admin)
            if not await open_view(client, command["trigger_id"], view):
                await respond_ephemeral(url, {"response_type": "ephemeral", "text": VIEW_FAILED})

        deps.inflight.spawn(open_login_form, on_error=failed)
        return
    if isinstance(parsed, AuditRequest):
        asked = parsed

        async def send_audit() -> None:
            said = await export_audit(deps, client, command["user_id"], asked)
            await respond_ephemeral(url, messages.ephemeral(messages.notice(said)))

        deps.inflight.spawn(send_audit, on_error=failed)
        return
    if isinstance(parsed, Logins):

        async def list_logins() -> None:
            listing = await logins_here(
                deps, client, command.get("team_id", ""), command["user_id"], command["channel_id"]
            )
            await respond_ephemeral(url, messages.ephemeral(listing))

        deps.inflight.spawn(list_logins, on_error=failed)
        return
    if isinstance(parsed, OpenForm):
        context = FormContext(channel_id=command["channel_id"])

        async def open_form() -> None:
            person = (command.get("team_id", ""), command["user_id"])
            if not await open_task_form(
                client, deps, command["trigger_id"], context, person=person
            ):
                message = {"response_type": "ephemeral", "text": FORM_FAILED}
                await respond_ephemeral(command.get("response_url"), message)

        deps.inflight.spawn(open_form, on_error=failed)
        return
    if isinstance(parsed, Status | Stop):

        async def control() -> None:
            if isinstance(parsed, Stop):
                text = await stop_task(deps, command["user_id"], parsed.task_id)
                message: messages.Message = {"text": text}
            else:
                message = await task_status(deps, parsed.task_id)
            await respond_ephemeral(url, {**message, "response_type": "ephemeral"})

        deps.inflight.spawn(control, on_error=failed)
        return
    origin = Origin(
        team_id=command.get("team_id", ""),
        channel_id=command["channel_id"],
        user_id=command["user_id"],
        response_url=command.get("response_url"),
    )

    async def start() -> None:
        # The same command reaching two processes (or Slack re-sending it) starts one task.
        if not await first_time(deps, f"command:{command['trigger_id']}"):
            return
        # Checked in the ack with the workspace's defaults; built now with the channel's too.
        defaults = await defaults_for(deps, command["channel_id"])
        again = parse_command(command.get("text", ""), defaults, deps.policy.repeat_floor)
        assert isinstance(again, Run | Every)
        request = apply_policy(again.request, deps.policy)
        noted = replace(origin, defaults_note=tuple(defaults.applied(request)))
        try:
            # A raw profile ID of the person's own (the ack's parse had no channel defaults).
            await check_profile_id(deps, client, origin.user_id, asks_profile(parsed.request))
            if again.login is not None:
                request, noted = await use_login(deps, noted, request, again.login)
        except UserInputError as exc:  # told privately; nothing is created
            refusal = messages.notice(f":warning: {failure_text(exc)}")
            await tell_privately(client, origin, refusal, None)
            return
        if isinstance(again, Every):
            await create_schedule(
                deps,
                client,
                origin,
                request,
                again.repeat,
                on_change=again.on_change,
                notify=again.notify,
            )
            return
        await start_task(deps, client, request, noted)

    deps.inflight.spawn(start, on_error=failure_reporter(client, origin))


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.command(COMMAND)(bind(handle_command, deps))
