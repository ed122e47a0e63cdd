"""The settings: the admin's (App Home → Settings) and each channel's defaults (`/browser-use
settings` and its button). Saved after the ack; who may is checked there, through Slack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.store import AuditEvent
from handlers.access import check_profile_id, is_admin
from handlers.errors import VIEW_FAILED, FormErrors, UserInputError
from handlers.flows.admin_settings import parse_admin
from handlers.flows.channel_defaults import (
    check_login,
    check_profile,
    may_change,
    open_settings,
    parse_settings,
)
from handlers.flows.home import publish_home
from handlers.flows.modals import form_values
from handlers.flows.submit import write_audit
from handlers.ids import Action, Callback
from handlers.listeners import PerRequest, bind
from handlers.slack_io import open_for_admin, post, tell_clicker
from handlers.views import messages
from handlers.views.settings import admin_view, changes

log = logging.getLogger(__name__)


async def handle_open_admin_settings(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open the Settings modal, for an admin (the trigger lasts 3 seconds)."""
    await ack()

    async def view() -> dict[str, Any]:
        return admin_view(await deps.refresh_policy())

    refusal = "Only admins can change the settings."
    deps.inflight.spawn(lambda: open_for_admin(deps, client, body, view, refusal))


async def handle_admin_settings(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Check every field, save, and use the change at once."""
    user = str(body["user"]["id"])
    policy = deps.policy
    try:
        chosen = parse_admin(form_values(view.get("state", {})), policy)
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    # Who is an admin comes from Slack (`users.info`), so it is checked after the ack.
    await ack()

    async def save() -> None:
        if not await is_admin(deps, client, user, org=True):
            log.warning("settings.refused user=%s: not an admin", user)
            return
        await deps.store.save_workspace_settings(chosen, user)
        await deps.refresh_policy()
        log.info("settings.workspace_changed by=%s keys=%s", user, ",".join(sorted(chosen)))
        changed = "changed " + ", ".join(sorted(chosen))
        await write_audit(deps, AuditEvent("settings.changed", actor=user, detail=changed))
        await publish_home(deps, client, user)  # the admin sees the new limits at once

    deps.inflight.spawn(save)


async def handle_open_settings(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Open the channel's defaults (the trigger lasts 3 seconds)."""
    await ack()
    channel, user = str(body["channel"]["id"]), str(body["user"]["id"])

    async def work() -> None:
        team = str((body.get("team") or {}).get("id", ""))
        if not await open_settings(deps, client, body["trigger_id"], channel, user, team):
            await tell_clicker(client, body, VIEW_FAILED)

    deps.inflight.spawn(work)


async def handle_settings(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
) -> None:
    """Check every field (the profile at Browser Use too), save, and tell the channel."""
    user = str(body["user"]["id"])
    channel = str(view.get("private_metadata") or "")
    if not channel or not await may_change(deps, client, user):
        await ack(response_action="errors", errors={"llm": "Only admins can change them."})
        return
    try:
        fields = parse_settings(form_values(view.get("state", {})))
        await check_profile(deps, fields)
        asked = "profile_id" in (fields.get("session_settings") or {})
        try:
            await check_profile_id(deps, client, user, asked)
        except UserInputError as exc:
            raise FormErrors({"profile_id": exc.message}) from None
        await check_login(deps, str((body.get("team") or {}).get("id", "")), channel, fields)
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    await ack()

    async def save() -> None:
        stored = await deps.store.channel_defaults(channel)
        old = stored.values if stored else {}
        await deps.store.save_channel_defaults(channel, fields, user)
        log.info("settings.channel_changed channel=%s by=%s", channel, user)
        changed = "changed " + ", ".join(sorted(fields)) if fields else "cleared"
        event = AuditEvent("channel_defaults.changed", actor=user, channel=channel, detail=changed)
        await write_audit(deps, event)
        said = changes(old, fields)
        if said:
            text = f":gear: <@{user}> changed this channel's defaults for browser tasks: {said}"
            await post(client, channel, messages.notice(text))

    deps.inflight.spawn(save)


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    app.action(Action.OPEN_ADMIN_SETTINGS)(bind(handle_open_admin_settings, deps))
    app.view(Callback.ADMIN_SETTINGS)(bind(handle_admin_settings, deps))
    app.action(Action.OPEN_CHANNEL_SETTINGS)(bind(handle_open_settings, deps))
    app.view(Callback.CHANNEL_SETTINGS)(bind(handle_settings, deps))
