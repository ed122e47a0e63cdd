"""The composition root: the Slack client, each workspace's collaborators (`build_deps`), the
workspaces a process serves, and the Bolt app with its listeners. The web routes around it are
`bot.web`'s; what a process does every heartbeat, `bot.housekeeping`'s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import SessionView
from bot.browser_use import BrowserUseClient, RetryPolicy
from bot.config import Settings
from bot.deps import Deps, InFlight, new_reference
from bot.janitor import SessionJanitor
from bot.models import SlackRoute
from bot.scheduler import Scheduler
from bot.sealed import Sealer, SealError
from bot.store import Store
from bot.tracker import Tracker
from bot.web import request_kind
from bot.workspaces import Credentials, Workspace, Workspaces, current
from handlers import listeners
from handlers.flows import conversations, recurring
from handlers.flows.following import SlackTaskSink
from handlers.flows.workspace import install_callbacks
from handlers.installations import (
    BOT_SCOPES,
    StoreAuthorize,
    StoreInstallations,
    StoreStates,
    bots_of,
)
from handlers.listeners import PerRequest, tenancy
from handlers.pacing import SlackPace, limits
from handlers.slack_io import BotIdentity

log = logging.getLogger(__name__)


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
            streaming=settings.slack_streaming,
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


def one_workspace(identity: BotIdentity) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's `authorize` for this deployment's one workspace: who the bot is, from `auth.test`
    once it answers (then kept, and shared with the tracker). Bolt's own check calls `auth.test`
    until it answers and refuses every request meanwhile: while Slack's Web API was down,
    people's commands vanished."""
    known: list[AuthorizeResult] = []

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        token = identity.client.token
        if not known:
            answer = await identity.get()
            if answer is None:  # Slack cannot say now: the request runs all the same
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
        sink = workspaces.all()[0].deps.tracker.sink
        assert isinstance(sink, SlackTaskSink)
        auth = {"authorize": one_workspace(sink.identity)}
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


def build_janitor(workspace: Workspace) -> SessionJanitor:
    """Closes idle thread sessions; the thread is told."""
    deps, client = workspace.deps, workspace.client
    minutes = deps.settings.session_idle_minutes

    async def on_closed(session: SessionView, route: SlackRoute) -> None:
        # Every process's janitor may close the same idle session: the thread is told once.
        if await deps.store.first(f"idle-close:{session.id}"):
            await conversations.announce_idle_close(client, route, minutes)

    floor = deps.settings.timers.janitor_floor
    return SessionJanitor(
        deps.browser_use, minutes * 60, on_closed, busy=deps.store.busy_sessions, floor=floor
    )
