"""A stand-in for the Browser Use v2 API, spoken to over real HTTP.

It checks the API key header, checks every Create Task body against the official OpenAPI schema
(when `../shared/reference` is there), and can be told to be slow, fail, rate-limit, drop the
connection or never answer.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import ThreadedServer
from tests.reference import schema_validator

API_KEY = "bu_test_key_0123456789"


@dataclass
class Behaviour:
    """How to answer one request: a status and body, after a delay; or drop, or hang."""

    status: int = 202
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without an answer
    hang: bool = False  # never answer
    raw: str | None = None  # a body that is not JSON


@dataclass
class Created:
    body: dict[str, Any]
    headers: dict[str, str]
    id: str
    session_id: str
    at: float = field(default_factory=time.monotonic)


class FakeBrowserUse(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._validator = schema_validator("CreateTaskRequest")
        self.create_delay = 0.0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.create_calls = 0  # every POST /tasks received, whatever the answer
            self.created: list[Created] = []
            self.schema_errors: list[str] = []
            self._next: list[Behaviour] = []
            self.create_delay = 0.0
            # Browser Use's project limit: 125 requests per 5-second window (25 a second).
            self.rate_limit_per_window: int | None = None
            self._window: tuple[int, int] = (0, 0)  # (window number, requests in it)
            self.rate_limited = 0

    @property
    def schema_checked(self) -> bool:
        return self._validator is not None

    def next_create(self, behaviour: Behaviour, times: int = 1) -> None:
        with self._lock:
            self._next.extend(behaviour for _ in range(times))

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/tasks", self._create_task)
        # For a benchmark that runs this stand-in in another process.
        app.router.add_post("/_control", self._control)
        app.router.add_get("/_control/created", self._control_created)
        return app

    async def _control(self, request: web.Request) -> web.Response:
        settings = await request.json()
        self.reset()
        self.create_delay = float(settings.get("create_delay", 0.0))
        self.rate_limit_per_window = settings.get("rate_limit_per_window")
        return web.json_response({"ok": True})

    async def _control_created(self, _: web.Request) -> web.Response:
        created = [{"id": c.id, "task": c.body["task"], "at": c.at} for c in self.created]
        return web.json_response(
            {"calls": self.create_calls, "created": created, "rate_limited": self.rate_limited}
        )

    def _over_rate_limit(self) -> bool:
        if self.rate_limit_per_window is None:
            return False
        window = int(time.monotonic() // 5)
        with self._lock:
            number, count = self._window
            count = count + 1 if number == window else 1
            self._window = (window, count)
            if count > self.rate_limit_per_window:
                self.rate_limited += 1
                return True
        return False

    async def _create_task(self, request: web.Request) -> web.StreamResponse:
        if self._over_rate_limit():
            return web.json_response(
                {"error": "rate_limited", "limit_rps": 25, "retry_after_seconds": 5},
                status=429,
                headers={"Retry-After": "5"},
            )
        with self._lock:
            behaviour = self._next.pop(0) if self._next else Behaviour(delay=self.create_delay)
            self.create_calls += 1
        body = await request.json()
        if request.headers.get("X-Browser-Use-API-Key") != API_KEY:
            return web.json_response(
                {"detail": "X-Browser-Use-API-Key header is required"}, status=401
            )
        if self._validator is not None:
            problems = [e.message for e in self._validator.iter_errors(body)]
            if problems:
                self.schema_errors.extend(problems)
                return web.json_response(
                    {
                        "detail": [
                            {"loc": ["body"], "msg": p, "type": "value_error"} for p in problems
                        ]
                    },
                    status=422,
                )
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.hang:
            await self.hang()
            return web.Response(status=504)
        if behaviour.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if behaviour.status != 202:
            if behaviour.raw is not None:
                return web.Response(
                    status=behaviour.status, text=behaviour.raw, headers=behaviour.headers
                )
            return web.json_response(
                behaviour.body, status=behaviour.status, headers=behaviour.headers
            )
        created = Created(body, dict(request.headers), str(uuid.uuid4()), str(uuid.uuid4()))
        with self._lock:
            self.created.append(created)
        if behaviour.raw is not None:
            return web.Response(status=202, text=behaviour.raw)
        return web.json_response({"id": created.id, "sessionId": created.session_id}, status=202)
