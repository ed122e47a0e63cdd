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
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.answers import SessionView
from bot.browser_use import BrowserUseClient, RetryPolicy
from bot.config import Settings
from bot.deps import Deps, InFlight, new_reference
from bot.health import StoreHealth
from bot.janitor import SessionJanitor
from bot.models import SlackRoute
from bot.scheduler import Scheduler
from bot.sealed import Sealer, SealError
from bot.store import Store, StoreUnavailable
from bot.tracker import Tracker
from bot.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, task_id_of, verify
from bot.workspaces import Credentials, Workspace, Workspaces, current
from handlers import listeners, payloads
from handlers.flows import conversations, logins, outbox, recurring
from handlers.flows.following import SlackTaskSink
from handlers.flows.workspace import INSTALL_PATH, OAUTH_REDIRECT_PATH, install_callbacks
from handlers.installations import (
    BOT_SCOPES,
    StoreAuthorize,
    StoreInstallations,
    StoreStates,
    bots_of,
)
from handlers.listeners import PerRequest, tenancy
from handlers.pacing import SlackPace, limits
from handlers.slack_io import SLACK_ERRORS

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
WEBHOOK_PATH = "/browser-use/webhook"
# Slack's payloads are small; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024


def build_slack_client(
    settings: Settings, session: aiohttp.ClientSession, token: str | None = None
) -> AsyncWebClient:
    """A Web API client on the process's one connection pool: the one Bolt copies for every
    request (with one workspace, its token), or one workspace's for its background work."""
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return AsyncWebClient(
        token=token,
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


def build_deps(
    settings: Settings,
    store: Store,
    slack_client: AsyncWebClient,
    *,
    api_key: str | None = None,
    tenant: str | None = None,
    installed: dict[str, Any] | None = None,
    inflight: InFlight | None = None,
) -> Deps:
    """A workspace's collaborators, each given what it needs when it is made: THE Browser Use
    client (its key, and its timeouts, budget and retry policy from the settings), and the
    tracker with the Slack side it reports to. With many workspaces, `store` is the workspace's
    view, `api_key` its key (None: not connected yet), `installed` its stored installation (whose
    tasks they are), and the work in flight the process's."""
    timers = settings.timers
    if api_key is None and settings.browser_use_api_key is not None:
        api_key = settings.browser_use_api_key.get_secret_value()
    browser_use = BrowserUseClient(
        api_key or "",
        settings.browser_use_api_url,
        timeout=settings.browser_use_timeout,
        requests_per_second=settings.browser_use_requests_per_second,
        retry=RetryPolicy(timers.retry_first, timers.retry_most, timers.retry_jitter),
    )
    execution_tokens: dict[str, str] = {}
    tracker = Tracker(
        browser_use,
        store,
        SlackTaskSink(
            slack_client,
            browser_use,
            store,
            SlackPace(limits(settings.slack_updates_per_minute, settings.slack_posts_per_minute)),
            installed=installed,
            execution_tokens=execution_tokens,
        ),
        poll_interval=settings.poll_interval,
        max_poll_interval=timers.poll_ceiling,
        follow_lease=settings.follow_lease_seconds,
        report_lease=settings.report_lease_seconds,
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
        inflight=inflight or InFlight(),
        tenant=tenant,
        connected=bool(api_key),
        execution_tokens=execution_tokens,
        org_wide=bool(installed and installed.get("is_enterprise_install")),
    )


def build_workspace(
    deps: Deps, client: AsyncWebClient, credentials: Credentials | None = None
) -> Workspace:
    """A workspace's world: `deps`, and `client` (its bot token) for its background work."""
    # Attached here, not made with the scheduler: a run is a task started with `deps`.
    deps.scheduler.runs = recurring.SlackRuns(deps, client)
    return Workspace(deps.tenant, deps, client, credentials)


def start_background(workspace: Workspace) -> None:
    """Its tasks started before a restart followed again (none left unreported), its sweeps,
    and its idle thread browsers closed. Not part of the work a shutdown waits for: the next
    process does it again anyway."""
    if not workspace.deps.connected:
        return  # nothing runs before Browser Use is connected
    tracker, loop = workspace.deps.tracker, asyncio.get_running_loop()
    workspace.background = [
        loop.create_task(tracker.resume()),
        loop.create_task(tracker.run_sweeps(lambda: workspace.has("tasks"))),
        loop.create_task(build_janitor(workspace).run(lambda: workspace.has("threads"))),
    ]


def build_workspaces(
    settings: Settings, store: Store, session: aiohttp.ClientSession, slack_client: AsyncWebClient
) -> Workspaces:
    """The workspaces this process serves: the deployment's one, or (`SLACK_CLIENT_ID`) every
    installed one, each world made from its stored tokens and key when first needed."""
    if not settings.many_workspaces:
        deps = build_deps(settings, store, slack_client)
        return Workspaces.single(store, build_workspace(deps, slack_client))
    assert settings.encryption_keys is not None
    sealer = Sealer(settings.encryption_keys.get_secret_value())
    inflight = InFlight()

    async def credentials(tenant: str) -> Credentials | None:
        found = await store.credentials(tenant)
        if found is None:
            return None
        key = found["api_key"]
        try:
            return Credentials(
                tenant, sealer.open(found["bot_token"]), sealer.open(key) if key else None, found
            )
        except SealError as exc:
            # Its key was dropped from ENCRYPTION_KEYS before a rekey: it cannot be served.
            log.error("workspace.unreadable tenant=%s error=%s", tenant, exc)
            return None

    async def build(found: Credentials) -> Workspace:
        client = build_slack_client(settings, session, found.bot_token)
        deps = build_deps(
            settings,
            store.scoped(found.tenant),
            client,
            api_key=found.api_key,
            tenant=found.tenant,
            installed=found.installation,
            inflight=inflight,
        )
        await deps.refresh_policy()
        workspace = build_workspace(deps, client, found)
        start_background(workspace)
        return workspace

    return Workspaces(
        store, build, credentials, inflight=inflight, settings=settings, sealer=sealer
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


def oauth_settings(settings: Settings, store: Store, sealer: Sealer) -> AsyncOAuthSettings:
    """Many workspaces: "Add to Slack" (`GET /slack/install`, `GET /slack/oauth_redirect`), with
    the installations and states in the app's store, never Bolt's file stores."""
    assert settings.slack_client_id and settings.slack_client_secret
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        redirect_uri=settings.slack_redirect_uri,
        authorization_url=settings.slack_api_url.removesuffix("api/") + "oauth/v2/authorize",
        # A 302 to Slack's authorize page, as Slack's direct install (and the Marketplace) needs.
        install_page_rendering_enabled=False,
        installation_store=StoreInstallations(store, sealer),
        installation_store_bot_only=True,
        state_store=StoreStates(store),
        callback_options=install_callbacks(settings.slack_api_url, store),
    )


def build_app(settings: Settings, workspaces: Workspaces, slack_client: AsyncWebClient) -> AsyncApp:
    """The Bolt app with every listener registered. Call it inside the running event loop.
    Built explicitly in both modes: with `SLACK_CLIENT_ID` in the environment and no
    `oauth_settings`, Bolt would switch to file stores on its own (notes §12)."""
    signing_secret = settings.slack_signing_secret
    if workspaces.many:
        sealer = workspaces.sealer
        assert sealer is not None
        auth: dict[str, Any] = {
            # Through the workspace's world: the one read of the store a request makes.
            "authorize": StoreAuthorize(bots_of(workspaces)),
            "oauth_settings": oauth_settings(settings, workspaces.store, sealer),
        }
    else:
        auth = {"authorize": one_workspace(slack_client)}
    app = AsyncApp(
        # Named, or Bolt names it after its caller's file with `inspect.stack()`, which reads
        # the source of every module on the stack: 90 ms of each start.
        name="browser-use-slack",
        client=slack_client,
        **auth,
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

    listeners.register(app, PerRequest(current) if workspaces.many else workspaces.all()[0].deps)
    if workspaces.many:
        tenancy.register(app, workspaces)
    else:
        tenancy.register_one(app, workspaces.all()[0].deps)
    return app


# Old rows are looked for this often, by whichever process holds the lease.
RETENTION_LEASE = "retention"
RETENTION_EVERY_SECONDS = 3600.0


def build_janitor(workspace: Workspace) -> SessionJanitor:
    """Closes idle thread sessions; the thread is told."""
    deps, client = workspace.deps, workspace.client
    minutes = deps.settings.session_idle_minutes

    async def on_closed(session: SessionView, route: SlackRoute) -> None:
        # Every process's janitor may close the same idle session: the thread is told once.
        if await deps.store.first(f"idle-close:{session.id}"):
            await conversations.announce_idle_close(client, route, minutes)

    floor = deps.settings.timers.janitor_floor
    return SessionJanitor(deps.browser_use, minutes * 60, on_closed, floor=floor)


async def look_after(workspace: Workspace, interval: float, live: int | None = None) -> None:
    """One round for one workspace: the takeover of its tasks (the tracker), of follow-ups
    whose process stopped waiting for them (the conversations), what Slack could not take
    while it was down (the outbox), its recurring tasks' due runs (the scheduler; the first
    tick, at start-up, finds the runs missed while down), and its login browsers. With many
    workspaces, only what `Workspace.work` says it has (one query found it for all of them)."""
    deps, client, has = workspace.deps, workspace.client, workspace.has
    if workspace.work is None:
        await deps.refresh_policy()  # an admin's change in another process, in seconds
    await deps.tracker.housekeep(interval, live, watch=has("tasks"))
    if not deps.connected:
        return
    if has("follow_ups"):
        await conversations.resume_waiting(deps, client)
    if has("outbox"):
        await outbox.deliver(deps, client)
    if has("schedules"):
        await deps.scheduler.tick()
    if has("logins"):
        # Login browsers: this process's kept watched; overdue or orphaned ones closed.
        await deps.store.renew_login_sessions(deps.settings.follow_lease_seconds)
        await logins.close_overdue(deps, client)


async def forget_old(store: Store, settings: Settings) -> None:
    """What is past the retention period deleted (`Store.forget_old`), by one process an hour."""
    if not await store.claim_lease(RETENTION_LEASE, RETENTION_EVERY_SECONDS):
        return  # another process does it this hour
    gone = await store.forget_old(settings.retention_days * 86400)
    if any(gone.values()):
        log.info("store.forgot %s", " ".join(f"{name}={n}" for name, n in gone.items()))


async def keep_house(workspaces: Workspaces, settings: Settings) -> None:
    """Forever, every heartbeat: the workspaces this process serves (with many, each one
    installed, so some process looks after each), then each looked after; once an hour, what
    is older than the retention period deleted."""
    interval = settings.heartbeat_seconds
    retention_due = 0.0
    while True:
        try:
            if time.monotonic() >= retention_due:
                retention_due = time.monotonic() + RETENTION_EVERY_SECONDS
                await forget_old(workspaces.store, settings)
            live = None
            if workspaces.many:
                # Once for all the workspaces this process serves: it says it is alive, finds
                # which are installed, which have work, and what their admins changed.
                store = workspaces.store
                live = await store.heartbeat(every=interval)
                await workspaces.refresh(await store.tenants())
                work, changed = await store.work(), await store.all_workspace_settings()
                for workspace in workspaces.all():
                    tenant = workspace.tenant or ""
                    workspace.work = work.get(tenant, set())
                    workspace.deps.use_policy(changed.get(tenant))
            for workspace in workspaces.all():
                await look_after(workspace, interval, live)
        except StoreUnavailable as exc:
            log.error("store.unreachable error=%s: housekeeping waits for it", exc.reason)
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(interval)


async def close_for_shutdown(workspaces: Workspaces) -> None:
    """What a stopping process closes for people: its login browsers (and they are told)."""
    for workspace in workspaces.all():
        try:
            await logins.close_own(workspace.deps, workspace.client)
        except Exception:
            log.exception("shutdown: closing login browsers failed; their leases run out")


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
