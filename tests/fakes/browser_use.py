"""A stand-in for the Browser Use v2 API, spoken to over real HTTP.

It checks the API key header, checks every Create Task body against the official OpenAPI schema
(when `../shared/reference` is there), and can be told to be slow, fail, rate-limit, drop the
connection or never answer.
"""

from __future__ import annotations

import asyncio
import threading
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

    @property
    def schema_checked(self) -> bool:
        return self._validator is not None

    def next_create(self, behaviour: Behaviour, times: int = 1) -> None:
        with self._lock:
            self._next.extend(behaviour for _ in range(times))

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/tasks", self._create_task)
        return app

    async def _create_task(self, request: web.Request) -> web.StreamResponse:
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
