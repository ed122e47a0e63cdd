"""`python -m bot`: load settings, then serve HTTP on $PORT, or run Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import aiohttp
from aiohttp import web

from bot.app import (
    build_app,
    build_janitor,
    build_slack_client,
    build_web_app,
    resume_following,
)
from bot.browser_use import BrowserUseClient
from bot.config import ConfigError, Settings, load_settings
from bot.deps import Deps
from bot.tracker import Tracker

log = logging.getLogger("bot")

# A PaaS sends SIGTERM and kills the process about 30 s later; finish work in flight before that.
SHUTDOWN_GRACE_SECONDS = 25.0


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    browser_use = BrowserUseClient(
        settings.browser_use_api_key.get_secret_value(),
        settings.browser_use_api_url,
        timeout=settings.browser_use_timeout,
        requests_per_second=settings.browser_use_requests_per_second,
    )
    # One connection pool for every Slack call. A small one: in a burst, reusing 32 warm
    # connections costs less than opening a new one per post (py-spy: 8% in sock_connect).
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32))
    tracker = Tracker(browser_use, poll_interval=settings.poll_interval)
    deps = Deps(settings=settings, browser_use=browser_use, tracker=tracker)
    app = build_app(settings, deps, build_slack_client(settings, session))
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
            build_web_app(app, deps, slack_routes=socket_handler is None),
            shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        )
        await runner.setup()
        await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()  # noqa: S104
        log.info("listening on port %d", settings.port)
        # Tasks started before a restart are followed again; none is left unreported. Not part
        # of the work a shutdown waits for: the next process does it again anyway.
        loop = asyncio.get_running_loop()
        resume = loop.create_task(resume_following(deps))
        janitor = loop.create_task(build_janitor(deps, app).run())
        await stop.wait()
        resume.cancel()
        janitor.cancel()
        log.info("shutting down: finishing %d task(s) in flight", deps.inflight.count)
    finally:
        # Stop taking requests, let those in flight finish, then the work that follows their acks.
        if runner is not None:
            await runner.cleanup()
        if socket_handler is not None:
            await socket_handler.close_async()
        if not await deps.inflight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.error("shutdown: %d task(s) still in flight were cut off", deps.inflight.count)
        # Polling stops; the next process picks the running tasks up again (tracker.resume).
        await tracker.close()
        await browser_use.aclose()
        await session.close()
        log.info("stopped")


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":
        # httpx logs every URL at INFO, presigned download links (credentials) included.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(_main(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
