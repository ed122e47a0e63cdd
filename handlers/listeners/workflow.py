"""The Workflow Builder step "Run a browser task": its inputs become a task; the step completes
when the task ends (`handlers.flows.workflow.complete_step`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.workspaces import current_client
from handlers.access import apply_policy, check_access, check_profile_id
from handlers.errors import UserInputError
from handlers.flows.channel_defaults import defaults_for
from handlers.flows.logins import use_login
from handlers.flows.submit import NotStarted, Origin, first_time, start_task
from handlers.flows.workflow import (
    NOBODY_UNDER_AN_ALLOW_LIST,
    USER_CONTEXT_INPUT,
    fail_step,
    request_from_inputs,
    user_of_context,
)
from handlers.ids import Callback
from handlers.listeners import PerRequest, bind

log = logging.getLogger(__name__)


async def handle_run_browser_task(
    body: dict[str, Any],
    event: dict[str, Any],
    context: AsyncBoltContext,
    *,
    deps: Deps,
    bot_client: AsyncWebClient,
) -> None:
    """Check the inputs and start the task; the step completes when the task ends."""
    inputs = event.get("inputs") or {}
    execution_id = str(event["function_execution_id"])
    token = event.get("bot_access_token")
    channel = str(inputs.get("channel") or "") or None
    # Who acts is who Slack says ran the workflow (its user context), never a typed-in ID: the
    # person to notify only says whom to mention, and without a user context (a step made
    # before the input existed) the task acts as nobody in particular.
    actor = user_of_context(inputs.get(USER_CONTEXT_INPUT))
    person = actor or str(inputs.get("notify") or "") or None
    origin = Origin(
        team_id=str(body.get("team_id") or ""),
        channel_id=channel or "",
        user_id=person or str(context.bot_user_id or ""),
        announce=channel is not None,
        execution_id=execution_id,
        execution_token=str(token) if token else None,
        quiet=person is None,
        verified=actor is not None,
    )

    async def start() -> None:
        if not await first_time(deps, f"execution:{execution_id}"):
            return
        try:
            if actor is None and deps.policy.allowed_user_ids:
                raise UserInputError(NOBODY_UNDER_AN_ALLOW_LIST)
            check_access(deps.policy, actor or "", channel)
            defaults = await defaults_for(deps, channel)
            request = apply_policy(request_from_inputs(inputs, defaults), deps.policy)
            noted = origin
            asked = bool(str(inputs.get("profile_id") or "").strip())
            await check_profile_id(deps, bot_client, actor or "", asked)
            # A login the notified person owns, or one shared with the channel (its default).
            login = str(inputs.get("login") or "").strip() or (
                None if inputs.get("profile_id") else defaults.channel.get("login")
            )
            if login:
                request, noted = await use_login(deps, origin, request, str(login))
        except UserInputError as exc:
            log.info("workflow.refused execution_id=%s field=%s", execution_id, exc.field)
            await fail_step(bot_client, origin, exc.message)
            return
        started = await start_task(deps, bot_client, request, noted)
        if isinstance(started, NotStarted):
            await fail_step(bot_client, origin, started.reason)

    deps.inflight.spawn(start)


def register(app: AsyncApp, deps: Deps | PerRequest[Deps]) -> None:
    # The bot's own client: the execution's token lasts minutes; the task's thread, hours. With
    # many workspaces, the request's workspace's (the app's own client has no token).
    bot_client = app.client if isinstance(deps, Deps) else PerRequest(current_client)
    handler = bind(handle_run_browser_task, deps, bot_client=bot_client)
    app.function(Callback.RUN_BROWSER_TASK)(handler)
