"""The real Bolt app in the test's own process, for listener tests: `bot.app.build_app` with real
parts (the store on a SQLite file, THE Browser Use client, a Slack Web API client, all speaking
HTTP to the stand-ins), on an event loop in a thread of its own. Requests go through
`app.async_dispatch`, as bolt-python's own tests send them, with Slack's signature.

What needs a process (start-up, SIGTERM, Socket Mode, configuration, several processes) stays
with `tests.app_process.AppProcess`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest

from bot.app import build_app, build_slack_client, build_workspaces
from bot.config import load_settings
from bot.store import Store
from tests.app_process import RUNNING
from tests.fakes.server import wait_for
from tests.slack_requests import SlackSender

T = TypeVar("T")
# The loggers of the app and of the Slack SDK, which logs each request's body at DEBUG.
APP_LOGGERS = ("bot", "handlers", "slack_sdk", "slack_bolt")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class InProcessApp:
    def __init__(self, env: dict[str, str], workdir: Path):
        self.env = {"DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bot.db", **env}
        self.workdir = workdir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._log = _Lines()
        self._levels: dict[str, int] = {}

    def start(self) -> InProcessApp:
        self._thread.start()
        for name in APP_LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.addHandler(self._log)
            logger.setLevel(logging.DEBUG)
        self.run(self._setup())
        RUNNING.add(self)
        return self

    async def _setup(self) -> None:
        settings = load_settings(self.env, dotenv_path=self.workdir / "no.env")
        self.session = aiohttp.ClientSession()
        self.store = await Store.open(settings.database_url.get_secret_value())
        slack_client = build_slack_client(settings, self.session)
        workspaces = build_workspaces(settings, self.store, self.session, slack_client)
        self.deps = workspaces.all()[0].deps
        self.browser_use = self.deps.browser_use
        self.app: AsyncApp = build_app(settings, workspaces, slack_client)
        await self.deps.tracker.housekeep(settings.heartbeat_seconds)

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def dispatch(self, body: str, headers: dict[str, str]) -> httpx.Response:
        """One signed request through Bolt, answered as the HTTP server would answer it."""
        sent: dict[str, str | Sequence[str]] = dict(headers)
        request = AsyncBoltRequest(body=body, headers=sent)
        response = self.run(self.app.async_dispatch(request))
        return httpx.Response(
            response.status,
            content=response.body.encode() if isinstance(response.body, str) else response.body,
            headers={k: v[0] for k, v in response.headers.items() if v},
        )

    def settle(self, timeout: float = 10) -> None:
        """Wait until the work the listeners left behind their acks, and any read of a task,
        is done. Fails the test if it never is."""
        deps = self.deps
        wait_for(lambda: deps.inflight.count + deps.tracker.reading == 0, timeout, "it to settle")

    def logs(self) -> str:
        return "\n".join(self._log.lines)

    def stop(self) -> None:
        RUNNING.discard(self)

        async def close() -> None:
            await self.deps.inflight.wait_idle(10)
            await self.deps.tracker.close()
            await self.store.close()
            await self.browser_use.aclose()
            await self.session.close()

        try:
            self.run(close())
        finally:
            for name, level in self._levels.items():
                logging.getLogger(name).removeHandler(self._log)
                logging.getLogger(name).setLevel(level)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


class InProcessSender(SlackSender):
    """`SlackSender`, delivering to the app in this process instead of over HTTP."""

    def __init__(self, app: InProcessApp, response_url: str):
        super().__init__("http://in-process", response_url)
        self.in_process = app

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return self.in_process.dispatch(body, headers)

    def settle(self) -> None:
        self.in_process.settle()
