"""The web routes a process serves: `POST /slack/events` (signed, checked at the door, one log
line a request), `POST /browser-use/webhook`, `GET /healthz`, `GET /metrics` (with its token),
and with many workspaces the two install routes a browser follows."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot import metrics
from bot.config import Settings
from bot.health import StoreHealth
from bot.store import StoreUnavailable
from bot.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, task_id_of, verify
from bot.workspaces import Workspaces
from handlers import payloads
from handlers.flows.workspace import INSTALL_PATH, OAUTH_REDIRECT_PATH

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
WEBHOOK_PATH = "/browser-use/webhook"
# Slack's payloads are small; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024


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


def build_web_app(
    app: AsyncApp, workspaces: Workspaces, settings: Settings, *, slack_routes: bool = True
) -> web.Application:
    """`POST /slack/events` for everything Slack sends, `POST /browser-use/webhook` for Browser
    Use's task events, `GET /healthz` for the platform (and the work in flight); with many
    workspaces, `GET /slack/install` and `GET /slack/oauth_redirect`, a browser's, unsigned."""
    one = None if workspaces.many else workspaces.all()[0].deps
    inflight = workspaces.inflight
    secret = settings.slack_signing_secret
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
        kind, took = request_kind(body), time.perf_counter() - started
        metrics.ACK_SECONDS.labels(kind.split(":")[0]).observe(took)
        log.info(
            "slack.request kind=%s user=%s channel=%s status=%d ms=%.1f",
            kind,
            user,
            channel,
            bolt_response.status,
            took * 1000,
        )
        return await to_aiohttp_response(bolt_response)

    store_health = StoreHealth(workspaces.store)

    async def health(_: web.Request) -> web.Response:
        # 503 while the store is out of reach: the process can start and report nothing.
        # `in_flight`: the work still running after its ack (starts, clicks, answers). Zero
        # means the process has nothing left to say for what it was sent: a deploy can drain
        # on it. `reading`: reads of a task under way, which may still post its progress or
        # its result (a deploy need not wait: the next process reads again). The tests wait
        # for both to be zero instead of sleeping.
        ok = await store_health.ok()
        reading = sum(w.deps.tracker.reading for w in workspaces.all())
        answer: dict[str, Any] = {"ok": ok, "in_flight": inflight.count, "reading": reading}
        if not ok:
            answer["store"] = "unreachable"
        return web.json_response(answer, status=200 if ok else 503)

    async def browser_use_webhook(request: web.Request) -> web.Response:
        # With many workspaces there is none: webhooks are set per Browser Use project.
        secret = settings.browser_use_webhook_secret
        if secret is None or one is None:
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
        deps = one  # one workspace: its Browser Use project's webhook
        # Keyed on the signature as it was checked (case and spaces aside): the same webhook
        # resent with its signature in upper case is the same webhook.
        replay = request.headers[SIGNATURE_HEADER].strip().lower()
        if not await deps.store.first(f"webhook:{replay}"):
            return web.json_response({"ok": True, "duplicate": True})
        task_id = task_id_of(event)
        log.info("webhook.received type=%s task_id=%s", event.get("type"), task_id)
        if task_id:
            # The event's status is not trusted: it only prompts a read of the task itself.
            deps.inflight.spawn(lambda: deps.tracker.refresh(task_id))
        return web.json_response({"ok": True})

    async def metrics_page(request: web.Request) -> web.Response:
        token = settings.metrics_token
        assert token is not None
        if not metrics.authorized(request.headers.get("Authorization"), token.get_secret_value()):
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})

        async def gauges() -> dict[str, float]:
            read = await workspaces.store.gauges()
            if not workspaces.many:  # the deployment's one workspace, connected by its key
                read["installed"] = read["connected"] = 1.0
            return read

        try:
            page, content_type = await metrics.exposition(gauges)
        except StoreUnavailable:
            return web.Response(status=503, text="the store is out of reach")
        return web.Response(body=page, headers={"Content-Type": content_type})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    if slack_routes:
        # Never in Socket Mode: its requests are not signed, so Bolt does not check signatures.
        web_app.router.add_post(SLACK_EVENTS_PATH, slack_events)
        web_app.router.add_post(WEBHOOK_PATH, browser_use_webhook)
    if slack_routes and app.oauth_flow is not None:
        flow = app.oauth_flow

        async def install(request: web.Request) -> web.StreamResponse:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def oauth_redirect(request: web.Request) -> web.StreamResponse:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        web_app.router.add_get(INSTALL_PATH, install)
        web_app.router.add_get(OAUTH_REDIRECT_PATH, oauth_redirect)
    web_app.router.add_get(HEALTH_PATH, health)
    if settings.metrics_token is not None:  # never served to whoever asks
        web_app.router.add_get(METRICS_PATH, metrics_page)
    return web_app
