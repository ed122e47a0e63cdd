"""The task form: "More options" reveals the rest in place; a submission is checked field by field
(errors under their fields) or closes and starts the task, or sets up a recurring one."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.access import apply_policy, check_access, check_profile_id
from handlers.errors import FormErrors, UserInputError, failure_text
from handlers.flows import files
from handlers.flows.channel_defaults import defaults_for, defaults_of
from handlers.flows.logins import use_login
from handlers.flows.modals import (
    form_values,
    parse_form,
    parse_repeat_fields,
)
from handlers.flows.recurring import create_schedule
from handlers.flows.submit import (
    Origin,
    failure_reporter,
    first_time,
    start_task,
    tell_privately,
)
from handlers.ids import Action, Block, Callback
from handlers.listeners import PerRequest, bind
from handlers.options import NO_LOGIN, Defaults
from handlers.payloads import FormContext, form_files
from handlers.slack_io import SLACK_ERRORS
from handlers.views import messages
from handlers.views.form import task_form

log = logging.getLogger(__name__)


async def handle_more_options(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Reveal the advanced options in place, keeping what was typed."""
    await ack()
    view = body["view"]
    context = FormContext.load(view.get("private_metadata"))
    update = task_form(context, replace(defaults_of(deps), logins=context.logins), advanced=True)

    async def show_more() -> None:
        try:
            await client.views_update(view_id=view["id"], hash=view.get("hash"), view=update)
        except SLACK_ERRORS as exc:
            log.warning("slack.views_update failed: %s", exc)

    deps.inflight.spawn(show_more)


async def handle_task_form(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Check every field; answer errors under their fields, or close and start the task."""
    values = form_values(view.get("state", {}))
    context = FormContext.load(view.get("private_metadata"))
    channel_id = context.channel_id or str(values.get(Block.CHANNEL, ""))
    try:
        check_access(deps.policy, body["user"]["id"], channel_id)
        recurring = parse_repeat_fields(values, deps.policy.repeat_floor)
        request = apply_policy(parse_form(values, defaults_of(deps)), deps.policy)
        shared = form_files(view.get("state", {}))
        if shared and recurring is not None:
            raise FormErrors({Block.FILES: "A recurring task cannot take files."})
        if shared and request.accurate:
            raise FormErrors({Block.FILES: "Accurate mode cannot take files yet."})
        try:
            files.check(shared)
        except UserInputError as exc:
            raise FormErrors({Block.FILES: exc.message}) from None
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    except UserInputError as exc:
        block = exc.field if exc.field in values else Block.TASK
        if exc.field == "channel" and Block.CHANNEL in values:
            block = Block.CHANNEL
        await ack(response_action="errors", errors={block: exc.message})
        return
    await ack()
    urls = body.get("response_urls") or []
    origin = Origin(
        team_id=(body.get("team") or {}).get("id", ""),
        channel_id=channel_id,
        user_id=body["user"]["id"],
        thread_ts=context.thread_ts,
        response_url=urls[0]["response_url"] if urls else None,
    )

    async def start() -> None:
        # A double click, or Slack sending the submission again, starts one task, not two.
        if not await first_time(deps, f"view:{view['id']}"):
            return
        chosen, noted = request, origin
        if context.channel_id is None and origin.channel_id:
            # Opened without a channel, so it could not show the channel's defaults: they
            # apply to what the person left empty (checked when they were saved).
            channel = await defaults_for(deps, origin.channel_id)
            defaults = replace(Defaults(), channel=channel.channel)
            chosen = apply_policy(parse_form(values, defaults), deps.policy)
        try:
            await check_profile_id(deps, client, origin.user_id, "profile_id" in values)
            if values.get("login") not in (None, NO_LOGIN):
                chosen, noted = await use_login(deps, origin, chosen, str(values["login"]))
            uploads = await files.gather(deps, client, shared) if shared else []
        except UserInputError as exc:  # told privately; nothing is created
            refusal = messages.notice(f":warning: {failure_text(exc)}")
            await tell_privately(client, origin, refusal, None)
            return
        if uploads:
            await files.start_with_files(deps, client, chosen, noted, uploads)
            return
        if recurring is None:
            await start_task(deps, client, chosen, noted)
            return
        await create_schedule(
            deps,
            client,
            origin,
            chosen,
            recurring.repeat,
            on_change=recurring.on_change,
            notify=recurring.notify,
        )

    deps.inflight.spawn(start, on_error=failure_reporter(client, origin))


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.action(Action.MORE_OPTIONS)(bind(handle_more_options, deps))
    app.view(Callback.TASK_FORM)(bind(handle_task_form, deps))
