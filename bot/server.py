"""The process serving: the store, the clients, Bolt, the HTTP server (or Socket Mode), the
background work; and its orderly stop on SIGTERM. `python -m bot` starts it once the settings
are read (`bot.__main__`), so a deployment that lacks one is told at once, before any of this
is imported."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
from aiohttp import web

from bot import metrics
from bot.app import build_app, build_slack_client, build_workspaces, start_background
from bot.config import Settings
from bot.housekeeping import close_for_shutdown, keep_house
from bot.store import Store, describe
from bot.web import build_web_app

log = logging.getLogger("bot")

# A PaaS sends SIGTERM and kills the process about 30 s later; finish work in flight before that.
SHUTDOWN_GRACE_SECONDS = 25.0


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    # One connection pool for every Slack call. A small one: in a burst, reusing 32 warm
    # connections costs less than opening a new one per post (py-spy: 8% in sock_connect).
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=32),
        trace_configs=[metrics.slack_tracing(settings.slack_api_url)],
    )
    database = settings.database_url.get_secret_value()
    store = await Store.open(database)
    log.info("store.ready url=%s", describe(database))
    slack_client = build_slack_client(settings, session)
    workspaces = build_workspaces(settings, store, session, slack_client)
    app = build_app(settings, workspaces, slack_client)
    # Counted among the live processes (and given its share of the request budget) at once,
    # with the settings an admin changed in Slack. With many workspaces: each installed one's
    # world, made with its admin's settings and watching its recent tasks (its `resume`); the
    # process says it is alive once for all of them.
    if workspaces.many:
        await workspaces.refresh(await store.tenants())
        live = await store.heartbeat(every=settings.heartbeat_seconds)
        for workspace in workspaces.all():
            await workspace.deps.tracker.housekeep(settings.heartbeat_seconds, live, watch=False)
    else:
        deps = workspaces.all()[0].deps
        await deps.tracker.housekeep(settings.heartbeat_seconds)
        await deps.refresh_policy()
    runner: web.AppRunner | None = None
    socket_handler = None
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(
                app, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()
            log.info("Socket Mode connected")
        # HTTP: Slack's requests, webhooks and /healthz; in Socket Mode, /healthz alone.
        runner = web.AppRunner(
            build_web_app(app, workspaces, settings, slack_routes=socket_handler is None),
            shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
            # Each Slack request and webhook has a line of the app's own (what it was, who
            # from, how long); aiohttp's access line said it again at 5-6 % of an ack's CPU.
            access_log=None,
        )
        await runner.setup()
        await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()  # noqa: S104
        log.info("listening on port %d", settings.port)
        if not workspaces.many:
            start_background(workspaces.all()[0])  # with many, each as its world is made
        housekeeping = asyncio.get_running_loop().create_task(keep_house(workspaces, settings))
        await stop.wait()
        housekeeping.cancel()
        # Awaited, not only cancelled: a store write one of them was making is rolled back
        # now, or SQLite stays locked and handing the leases on below waits out its timeout.
        await asyncio.gather(housekeeping, return_exceptions=True)
        for workspace in workspaces.all():
            for task in workspace.background:
                task.cancel()
            await asyncio.gather(*workspace.background, return_exceptions=True)
        log.info("shutting down: finishing %d task(s) in flight", workspaces.inflight.count)
    finally:
        # Stop taking requests, let those in flight finish, then the work that follows their acks.
        if runner is not None:
            await runner.cleanup()
        if socket_handler is not None:
            await socket_handler.close_async()
        if not await workspaces.inflight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.error(
                "shutdown: %d task(s) still in flight were cut off", workspaces.inflight.count
            )
        await close_for_shutdown(workspaces)
        # Polling stops and its leases are handed on: another process (or the next one to
        # start) takes the running tasks over.
        await workspaces.close()
        await store.close()
        await session.close()
        log.info("stopped")


async def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then stop in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)
