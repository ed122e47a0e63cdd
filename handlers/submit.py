"""The flow after `ack()`: parent message, Create Task, thread reply; every failure told once.

Every entry point (command, form, shortcut) ends here with a validated `CreateTaskRequest`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.browser_use import BrowserUseError
from bot.deps import Deps
from bot.models import CreateTaskRequest, SlackRoute, TaskCreated
from handlers import blocks
from handlers.errors import UserInputError, failure_text

log = logging.getLogger(__name__)

# Errors that mean the bot cannot post in the conversation at all (private channel, DM, not joined).
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


@dataclass(frozen=True)
class Origin:
    """Where a request came from and where its answers go."""

    team_id: str
    channel_id: str
    user_id: str
    response_url: str | None = None


# What a Slack Web API call raises when it fails: an API error, the network, a timeout.
SLACK_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError)


async def respond_ephemeral(url: str | None, message: blocks.Message) -> bool:
    """Answer through a command's `response_url`; True when Slack took it."""
    if not url:
        return False
    webhook = AsyncWebhookClient(
        url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler()],
    )
    try:
        response = await webhook.send_dict(message)
    except SLACK_ERRORS:
        log.exception("slack.respond failed")
        return False
    if response.status_code != 200:
        log.warning("slack.respond status=%s", response.status_code)
    return response.status_code == 200


async def _post_parent(
    client: AsyncWebClient, origin: Origin, task: str
) -> tuple[str | None, str | None]:
    """Post the parent message. Returns (its ts, None) or (None, the Slack error code)."""
    try:
        result = await client.chat_postMessage(
            channel=origin.channel_id,
            unfurl_links=False,
            unfurl_media=False,
            **blocks.parent_message(origin.user_id, task),
        )
        return str(result["ts"]), None
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown"))
        log.warning("slack.parent_message error=%s channel=%s", code, origin.channel_id)
        return None, code
    except SLACK_ERRORS as exc:
        log.warning("slack.parent_message failed: %s", type(exc).__name__)
        return None, "network"


async def _post_in_thread(
    client: AsyncWebClient, origin: Origin, thread_ts: str, message: blocks.Message
) -> bool:
    try:
        await client.chat_postMessage(
            channel=origin.channel_id,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message,
        )
        return True
    except SLACK_ERRORS as exc:
        log.warning("slack.thread_reply failed: %s", exc)
        return False


async def _mark_parent_not_started(
    client: AsyncWebClient, origin: Origin, ts: str, task: str
) -> None:
    try:
        await client.chat_update(
            channel=origin.channel_id, ts=ts, **blocks.parent_not_started(origin.user_id, task)
        )
    except SLACK_ERRORS as exc:
        log.warning("slack.parent_update failed: %s", exc)


async def start_task(
    deps: Deps, client: AsyncWebClient, request: CreateTaskRequest, origin: Origin
) -> TaskCreated | None:
    """Post the parent, create the task with its Slack route, and answer in the thread."""
    thread_ts, post_error = await _post_parent(client, origin, request.task)
    route = SlackRoute(
        team=origin.team_id, channel=origin.channel_id, thread_ts=thread_ts, user=origin.user_id
    )
    request = route.attach(request)

    try:
        created = await deps.browser_use.create_task(request)
    except Exception as exc:
        if not isinstance(exc, BrowserUseError | UserInputError):
            log.exception("create_task crashed")
        log.warning(
            "task.not_started channel=%s error=%s status=%s",
            origin.channel_id,
            type(exc).__name__,
            getattr(exc, "status", None),
        )
        failed = blocks.task_failed(failure_text(exc))
        if thread_ts and await _post_in_thread(client, origin, thread_ts, failed):
            await _mark_parent_not_started(client, origin, thread_ts, request.task)
        else:
            await respond_ephemeral(origin.response_url, blocks.ephemeral(failed))
        return None

    log.info(
        "task.created task_id=%s session_id=%s channel=%s thread_ts=%s",
        created.id,
        created.session_id,
        origin.channel_id,
        thread_ts,
    )
    started = blocks.task_started(created)
    if thread_ts and await _post_in_thread(client, origin, thread_ts, started):
        return created
    # No thread to answer in: the IDs still reach the person, never lost.
    hint = blocks.NO_THREAD_HINT if post_error in CANNOT_POST else None
    if not await respond_ephemeral(origin.response_url, blocks.ephemeral(started, hint)):
        log.error("task.unreported task_id=%s session_id=%s", created.id, created.session_id)
    return created
