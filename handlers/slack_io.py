"""Slack I/O: post, answer privately, open a view, react, set a thread's status. Every call
here is logged and swallowed where a failure must not stop a flow (each says which)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.answers import TaskView
from bot.deps import Deps, Failure
from bot.models import SlackRoute
from handlers.access import is_admin
from handlers.errors import VIEW_FAILED, internal_error_text
from handlers.ids import SlackError
from handlers.views import messages, tracking

log = logging.getLogger(__name__)


# Errors that mean the bot cannot post in the conversation at all (private channel, DM, not joined).
CANNOT_POST = frozenset(
    {
        SlackError.NOT_IN_CHANNEL,
        SlackError.CHANNEL_NOT_FOUND,
        SlackError.IS_ARCHIVED,
        SlackError.RESTRICTED_ACTION,
    }
)

# What a Slack Web API call raises when it fails: an API error, the network, a timeout.
SLACK_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError)


def error_code(exc: SlackApiError) -> str:
    """Slack's error code; "unknown" for an answer that is not Slack's JSON (a 5xx from its
    edge while it is down: the SDK keeps that body as a string)."""
    data = exc.response.data
    code = data.get("error") if isinstance(data, dict) else None
    return str(code) if code else "unknown"


async def respond_ephemeral(url: str | None, message: messages.Message) -> bool:
    """Answer through a `response_url`; True when Slack took it."""
    if not url:
        return False
    webhook = AsyncWebhookClient(
        url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler()],
    )
    try:
        response = await webhook.send_dict(message)
    except SLACK_ERRORS as exc:
        log.warning("slack.respond failed: %s", type(exc).__name__)
        return False
    if response.status_code != 200:
        log.warning("slack.respond status=%s", response.status_code)
    return response.status_code == 200


async def post(
    client: AsyncWebClient, channel: str, message: messages.Message, thread_ts: str | None = None
) -> tuple[str | None, str | None]:
    """Post a message (no unfurls). Returns (its ts, None) or (None, the Slack error code);
    never raises, so a post that fails is logged and the flow goes on."""
    posted, error = await _post(client, channel, message, thread_ts)
    return (posted[1] if posted else None), error


async def dm(
    client: AsyncWebClient, user_id: str, message: messages.Message
) -> tuple[str, str] | None:
    """A DM from the bot: (its conversation, its ts), to edit it later; None if refused."""
    posted, _ = await _post(client, user_id, message, None)
    return posted


async def _post(
    client: AsyncWebClient, channel: str, message: messages.Message, thread_ts: str | None
) -> tuple[tuple[str, str] | None, str | None]:
    """((the conversation it landed in, its ts), None), or (None, the Slack error code)."""
    try:
        result = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message,
        )
    except SlackApiError as exc:
        code = error_code(exc)
        log.warning("slack.post error=%s channel=%s", code, channel)
        return None, code
    except SLACK_ERRORS as exc:
        log.warning("slack.post failed: %s channel=%s", type(exc).__name__, channel)
        return None, "network"
    ts = result.get("ts")
    if not isinstance(ts, str) or not ts:
        # slack_sdk answers None for a missing key: never take it for a message's ts.
        log.warning("slack.post answered without a ts channel=%s", channel)
        return None, "no_ts"
    landed = result.get("channel")
    return (landed if isinstance(landed, str) and landed else channel, ts), None


class SlackFileError(Exception):
    """A shared file could not be read from Slack: `code` says why (data only; the sentence is
    `handlers.errors`'s)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# Slack's file host. The bot token goes there and nowhere else (and to SLACK_API_URL's host: a
# proxy, or the tests' stand-in).
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})


async def download_file(
    url: str, token: str, *, also_host: str | None = None, max_bytes: int
) -> bytes:
    """A shared file's bytes, read with the bot token (`files:read`). Slack answers a request it
    will not serve with an HTML sign-in page and a 200: that is a refusal, not the file. A
    redirect elsewhere does not get the token (httpx drops it across hosts)."""
    host = urlsplit(url).hostname
    if host not in SLACK_FILE_HOSTS and host != also_host:
        raise SlackFileError("not_slack")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx.AsyncClient(timeout=30.0, follow_redirects=True) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            if not response.is_success:
                raise SlackFileError("refused")
            if response.headers.get("content-type", "").startswith("text/html"):
                raise SlackFileError("refused")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SlackFileError("too_big")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError:
        raise SlackFileError("failed") from None


async def tell_clicker(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer (mrkdwn) to the person who clicked a button (`show_clicker`)."""
    await show_clicker(client, body, messages.notice(text))


async def show_clicker(
    client: AsyncWebClient, body: dict[str, Any], message: messages.Message
) -> None:
    """A message only the person who clicked a button sees, in the thread where they clicked
    (or through the click's response_url, where the bot cannot post)."""
    channel = str((body.get("channel") or {}).get("id", ""))
    thread_ts = (body.get("message") or {}).get("thread_ts")
    if not await tell_in_thread(client, channel, body["user"]["id"], thread_ts, message):
        await respond_ephemeral(body.get("response_url"), messages.ephemeral(message))


def clicker_reporter(
    client: AsyncWebClient, body: dict[str, Any]
) -> Callable[[Failure], Awaitable[None]]:
    """For `InFlight.spawn` behind a button: an unexpected failure is told to the clicker."""

    async def report(failure: Failure) -> None:
        await tell_clicker(client, body, internal_error_text(failure))

    return report


async def tell_in_thread(
    client: AsyncWebClient,
    channel: str,
    user: str,
    thread_ts: str | None,
    message: messages.Message,
) -> bool:
    """A message only `user` sees, in a conversation (in a thread, if given); True if sent."""
    shown = {k: v for k, v in message.items() if k not in ("response_type", "replace_original")}
    try:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **shown)
    except SLACK_ERRORS as exc:
        log.info("slack.post_ephemeral failed channel=%s: %s", channel, exc)
        return False
    return True


async def open_for_admin(
    deps: Deps,
    client: AsyncWebClient,
    body: dict[str, Any],
    view: Callable[[], Awaitable[dict[str, Any]]],
    refusal: str,
) -> None:
    """Open the modal `view()` makes for the clicker if they are an admin of what it changes,
    the whole install's (the trigger lasts 3 seconds); else tell them `refusal`."""
    if not await is_admin(deps, client, str(body["user"]["id"]), org=True):
        await tell_clicker(client, body, refusal)
    elif not await open_view(client, str(body["trigger_id"]), await view()):
        await tell_clicker(client, body, VIEW_FAILED)


async def open_view(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> bool:
    """Open a modal; True when Slack took it. The trigger is good for 3 seconds, once."""
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
        return True
    except SLACK_ERRORS as exc:
        log.warning("slack.views_open failed: %s", exc)
        return False


async def edit_status(
    client: AsyncWebClient,
    task: TaskView,
    route: SlackRoute,
    ts: str | None,
    *,
    streamed: bool = False,
) -> None:
    """Bring a task's status message up to date (its state, its step, its buttons; only its
    state and buttons while its steps are `streamed` below it)."""
    if ts is None:
        return
    message = tracking.task_status(task, route, streamed=streamed)
    try:
        await client.chat_update(channel=route.channel, ts=ts, **message)
    except SLACK_ERRORS as exc:
        log.warning("slack.status_update failed task_id=%s: %s", task.id, exc)


async def set_thread_status(
    client: AsyncWebClient, channel: str, thread_ts: str, status: str, messages: list[str]
) -> None:
    """ "<app> is browsing…" under the thread, with rotating loading messages. Slack drops it
    after 2 minutes, or when the app posts in the thread; never worth failing a flow for."""
    try:
        await client.assistant_threads_setStatus(
            channel_id=channel, thread_ts=thread_ts, status=status, loading_messages=messages
        )
    except SLACK_ERRORS as exc:
        log.info("slack.set_status failed channel=%s: %s", channel, exc)


async def set_session(
    client: AsyncWebClient,
    channel: str,
    thread_ts: str,
    status: str,
    *,
    title: str | None = None,
    initiator: str | None = None,
) -> None:
    """The thread's agent session (`agents.sessions.setStatus`): `processing` shows Slack's own
    stop button, `active` and `closed` take it away. The title and the person who started it
    count only when the call makes the session. Never worth failing a flow for."""
    try:
        answer = await client.agents_sessions_setStatus(
            channel_id=channel,
            thread_ts=thread_ts,
            status=status,
            title=title,
            initiator_user_id=initiator,
        )
    except SLACK_ERRORS as exc:
        log.info("slack.session_status failed channel=%s: %s", channel, exc)
        return
    warning = answer.get("warning")
    if warning:
        log.warning("slack.session_status warning=%s", warning)


async def react(
    client: AsyncWebClient, channel: str, ts: str, add: str, remove: str | None = None
) -> None:
    """Put `add` on a message (taking `remove` off first): 👀, then ✅ or ❌. Each step is tried
    on its own: a 👀 that never landed must not keep the ✅ off."""
    steps = [(client.reactions_remove, remove)] if remove else []
    for call, name in [*steps, (client.reactions_add, add)]:
        try:
            await call(channel=channel, timestamp=ts, name=name)
        except SLACK_ERRORS as exc:
            log.info("slack.reaction %s failed: %s", name, exc)


class BotIdentity:
    """Who the bot is and in which team (`auth.test`), asked once per process for the
    deployment's one workspace and shared by Bolt's authorize and the tracker's sink (each
    asked on its own before: two calls at every start). A failed ask is made again next time."""

    def __init__(self, client: AsyncWebClient):
        self.client = client
        self._answer: Any = None
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        """`auth.test`'s answer, or None while Slack cannot say."""
        if self._answer is None:
            async with self._lock:
                if self._answer is None:
                    try:
                        self._answer = await self.client.auth_test()
                    except SLACK_ERRORS as exc:
                        log.warning("slack.auth_test failed (%s)", type(exc).__name__)
        return self._answer
