"""Build the Bolt app and the web server around it."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.deps import Deps
from handlers import commands, modals, shortcuts

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are small; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024


def build_slack_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """One Web API client (and one connection pool) that Bolt copies for every request."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=session,
        timeout=15,
        # Slack asks to wait on `ratelimited`; a 429 means nothing was posted, so a retry never
        # posts twice. Connection errors are retried only where the request was never sent.
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: Settings, deps: Deps, slack_client: AsyncWebClient) -> AsyncApp:
    """The Bolt app with every listener registered. Call it inside the running event loop."""
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        client=slack_client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # Socket Mode requests are not signed; HTTP requests always are.
        request_verification_enabled=not settings.socket_mode,
        # Listeners ack, hand the slow work to `deps.inflight.spawn` and return at once. With
        # this on, Bolt answers Slack the moment a listener returns; with it off, Bolt polls for
        # the ack every 10 ms, which put a 10 ms floor under every ack (see the benchmark).
        process_before_response=True,
    )

    @app.error
    async def handle_error(error: Exception, body: dict[str, Any]) -> None:
        """Log what a listener raised, with the request type, never the payload."""
        log.error(
            "listener.error type=%s error=%s",
            body.get("type") or body.get("command"),
            type(error).__name__,
            exc_info=error,
        )

    for listeners in (commands, modals, shortcuts):
        listeners.register(app, deps)
    return app


def build_web_app(app: AsyncApp) -> web.Application:
    """`POST /slack/events` for everything Slack sends, and `GET /healthz` for the platform."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    web_app.router.add_get(HEALTH_PATH, health)
    return web_app
