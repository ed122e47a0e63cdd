"""Build the Bolt app and the web server around it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.browser_use import BrowserUseClient, RetryPolicy
from bot.config import Settings
from bot.deps import Deps, new_reference
from bot.janitor import SessionJanitor
from bot.models import SessionView, SlackRoute
from bot.scheduler import Scheduler
from bot.store import Store, StoreUnavailable
from bot.tracker import Tracker
from bot.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, task_id_of, verify
from handlers import listeners, payloads
from handlers.flows import conversations, logins, outbox, recurring
from handlers.flows.following import SlackTaskSink
from handlers.pacing import SlackPace, limits
from handlers.slack_io import SLACK_ERRORS

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
WEBHOOK_PATH = "/browser-use/webhook"
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


def _field(body: dict[str, Any], *path: str) -> str | None:
    """A string at `path` in a payload, or None: the log line never trusts a payload's shape."""
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def request_kind(body: dict[str, Any]) -> str:
    if command := _field(body, "command"):
        return f"command:{command}"
    kind = _field(body, "type") or "unknown"
    if kind == "event_callback":
        return f"event:{_field(body, 'event', 'type')}"
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        return f"action:{_field(first, 'action_id') if isinstance(first, dict) else None}"
    return kind


def request_who(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, channel) of any payload, for the log line."""
    user = _field(body, "user_id") or _field(body, "user", "id") or _field(body, "event", "user")
    channel = (
        _field(body, "channel_id")
        or _field(body, "channel", "id")
        or _field(body, "event", "channel")
    )
    return user, channel


def build_deps(settings: Settings, store: Store, slack_client: AsyncWebClient) -> Deps:
    """The process's collaborators, each given what it needs when it is made: THE Browser Use
    client (its timeouts, budget and retry policy from the settings), and the tracker with the
    Slack side it reports to."""
    timers = settings.timers
    browser_use = BrowserUseClient(
        settings.browser_use_api_key.get_secret_value(),
        settings.browser_use_api_url,
        timeout=settings.browser_use_timeout,
        requests_per_second=settings.browser_use_requests_per_second,
        retry=RetryPolicy(timers.retry_first, timers.retry_most, timers.retry_jitter),
    )
    tracker = Tracker(
        browser_use,
        store,
        SlackTaskSink(
            slack_client,
            browser_use,
            store,
            SlackPace(limits(settings.slack_updates_per_minute, settings.slack_posts_per_minute)),
        ),
        poll_interval=settings.poll_interval,
        max_poll_interval=timers.poll_ceiling,
        follow_lease=settings.follow_lease_seconds,
        status_refresh=settings.status_refresh_seconds,
        watch=timers.watch,
        sweep_floor=timers.sweep_floor,
        sweep_grace=timers.sweep_grace,
    )
    return Deps(
        settings=settings,
        browser_use=browser_use,
        store=store,
        tracker=tracker,
        scheduler=Scheduler(store),
    )


def one_workspace(client: AsyncWebClient) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's `authorize` for this deployment's one workspace: who the bot is, from `auth.test`
    once it answers (then kept). Bolt's own check calls `auth.test` until it answers and refuses
    every request meanwhile: while Slack's Web API was down, people's commands vanished."""
    known: list[AuthorizeResult] = []

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        token = client.token
        if not known:
            try:
                answer = await client.auth_test()
            except SLACK_ERRORS as exc:
                log.warning("slack.auth_test failed (%s): the request runs", type(exc).__name__)
                return AuthorizeResult(
                    enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=token
                )
            known.append(
                AuthorizeResult.from_auth_test_response(bot_token=token, auth_test_response=answer)
            )
        bot = known[0]
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_token=token,
            user_id=user_id,
        )

    return authorize


def build_app(settings: Settings, deps: Deps, slack_client: AsyncWebClient) -> AsyncApp:
    """The Bolt app with every listener registered. Call it inside the running event loop."""
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        # Named, or Bolt names it after its caller's file with `inspect.stack()`, which reads
        # the source of every module on the stack: 90 ms of each start.
        name="browser-use-slack",
        client=slack_client,
        authorize=one_workspace(slack_client),
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
        """Log what a listener raised, with the request kind and a reference, never the payload."""
        log.error(
            "listener.error kind=%s error=%s ref=%s",
            request_kind(body) if isinstance(body, dict) else "unknown",
            type(error).__name__,
            new_reference(),
            exc_info=error,
        )

    # Attached here, not made with the scheduler: a run is a task started with `deps`.
    deps.scheduler.runs = recurring.SlackRuns(deps, slack_client)
    listeners.register(app, deps)
    return app


def build_janitor(deps: Deps, app: AsyncApp) -> SessionJanitor:
    """Closes idle thread sessions; the thread is told."""
    minutes = deps.settings.session_idle_minutes

    async def on_closed(session: SessionView, route: SlackRoute) -> None:
        # Every process's janitor may close the same idle session: the thread is told once.
        if await deps.store.first(f"idle-close:{session.id}"):
            await conversations.announce_idle_close(app.client, route, minutes)

    floor = deps.settings.timers.janitor_floor
    return SessionJanitor(deps.browser_use, minutes * 60, on_closed, floor=floor)


async def keep_house(deps: Deps, app: AsyncApp) -> None:
    """Forever: the heartbeat and the takeover of tasks (the tracker), of follow-ups whose
    process stopped waiting for them (the conversations), what Slack could not take while it
    was down (the outbox), and the recurring tasks' due runs
    (the scheduler; the first tick, at start-up, finds the runs missed while down)."""
    interval = deps.settings.heartbeat_seconds
    while True:
        try:
            await deps.refresh_policy()  # an admin's change in another process, in seconds
            await deps.tracker.housekeep(interval)
            await conversations.resume_waiting(deps, app.client)
            await outbox.deliver(deps, app.client)
            await deps.scheduler.tick()
            # Login browsers: this process's kept watched; overdue or orphaned ones closed.
            await deps.store.renew_login_sessions(deps.settings.follow_lease_seconds)
            await logins.close_overdue(deps, app.client)
        except StoreUnavailable as exc:
            log.error("store.unreachable error=%s: housekeeping waits for it", exc.reason)
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(interval)


async def close_for_shutdown(deps: Deps, app: AsyncApp) -> None:
    """What a stopping process closes for people: its login browsers (and they are told)."""
    try:
        await logins.close_own(deps, app.client)
    except Exception:
        log.exception("shutdown: closing login browsers failed; their leases run out")


def build_web_app(app: AsyncApp, deps: Deps, *, slack_routes: bool = True) -> web.Application:
    """`POST /slack/events` for everything Slack sends, `POST /browser-use/webhook` for Browser
    Use's task events, and `GET /healthz` for the platform (and the work in flight)."""

    secret = deps.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    async def slack_events(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            raw = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            log.warning("slack.malformed kind=unknown status=400 reason=not UTF-8")
            return web.json_response({"error": "malformed request"}, status=400)
        if verifier is not None and not verifier.is_valid_request(raw, dict(request.headers)):
            # Nothing of an unsigned body is parsed (Bolt would answer the same).
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
            reason = payloads.problem(bolt_request.body)
        except (ValueError, UnicodeDecodeError, TypeError, KeyError, AttributeError) as exc:
            # Bolt's own parsing met a body Slack would never send (not JSON, not a form).
            bolt_request, reason = None, f"unreadable body ({type(exc).__name__})"
        if bolt_request is None or reason is not None:
            body = bolt_request.body if bolt_request is not None else {}
            log.warning(
                "slack.malformed kind=%s status=400 reason=%s",
                request_kind(body) if isinstance(body, dict) else "unknown",
                reason,
            )
            return web.json_response({"error": "malformed request"}, status=400)
        bolt_response = await app.async_dispatch(bolt_request)
        body = bolt_request.body
        # One line per Slack request: what it was and who from, never its text.
        user, channel = request_who(body)
        log.info(
            "slack.request kind=%s user=%s channel=%s status=%d ms=%.1f",
            request_kind(body),
            user,
            channel,
            bolt_response.status,
            (time.perf_counter() - started) * 1000,
        )
        return await to_aiohttp_response(bolt_response)

    async def health(_: web.Request) -> web.Response:
        # `in_flight`: the work still running after its ack (starts, clicks, answers). Zero
        # means the process has nothing left to say for what it was sent: a deploy can drain
        # on it. `reading`: reads of a task under way, which may still post its progress or
        # its result (a deploy need not wait: the next process reads again). The tests wait
        # for both to be zero instead of sleeping.
        return web.json_response(
            {"ok": True, "in_flight": deps.inflight.count, "reading": deps.tracker.reading}
        )

    async def browser_use_webhook(request: web.Request) -> web.Response:
        secret = deps.settings.browser_use_webhook_secret
        if secret is None:
            raise web.HTTPNotFound()
        try:
            event = verify(
                secret.get_secret_value(),
                await request.read(),
                request.headers.get(SIGNATURE_HEADER),
                request.headers.get(TIMESTAMP_HEADER),
            )
        except WebhookRejected as exc:
            log.warning("webhook.rejected reason=%s", exc)
            return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)
        # A signature is only valid for 5 minutes, and remembered for longer (by every process):
        # a replay is ignored.
        if not await deps.store.first(f"webhook:{request.headers[SIGNATURE_HEADER]}"):
            return web.json_response({"ok": True, "duplicate": True})
        task_id = task_id_of(event)
        log.info("webhook.received type=%s task_id=%s", event.get("type"), task_id)
        if task_id:
            # The event's status is not trusted: it only prompts a read of the task itself.
            deps.inflight.spawn(lambda: deps.tracker.refresh(task_id))
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    if slack_routes:
        # Never in Socket Mode: its requests are not signed, so Bolt does not check signatures.
        web_app.router.add_post(SLACK_EVENTS_PATH, slack_events)
        web_app.router.add_post(WEBHOOK_PATH, browser_use_webhook)
    web_app.router.add_get(HEALTH_PATH, health)
    return web_app
