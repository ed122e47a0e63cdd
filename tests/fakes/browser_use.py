"""A stand-in for the Browser Use v2 API, spoken to over real HTTP.

It checks the API key header and holds every request and every answer to Browser Use's contract
(`tests.contract`: the models `browser-use-sdk` generates from Browser Use's OpenAPI, strictly,
unknown fields refused), and can be told to be slow, fail, rate-limit, drop the connection or
never answer (a scripted answer is the test's, not held to the contract). Created tasks live
on: a test moves them through their states (`step`, `finish`), and the app reads them back as it
would from Browser Use (`GET /tasks/{id}`, `/status`, `GET /tasks`, stop, sessions, public
share, output files), and gets signed webhooks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

import httpx
from aiohttp import web
from pydantic import BaseModel

from tests.app_process import LOOPBACK
from tests.contract import (
    SessionListQuery,
    TaskListQuery,
    query_problems,
    v2,
)
from tests.contract import problems as contract_problems
from tests.fakes.browser_use_v4 import PROJECT, V4Runs
from tests.fakes.server import ThreadedServer

API_KEY = "bu_test_key_0123456789"
PROJECT_ID = "5b0c7d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
STEP_COST = 0.002  # what each step of a v2 task adds to its cost
# Set on a request whose answer a test scripted (a broken service): not held to the contract.
SCRIPTED = web.RequestKey("scripted", bool)


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
    created: bool = False  # create the task, then answer as above (the answer is lost)


class Contract(NamedTuple):
    """What one route takes and gives: the request body's model, the answer's, the query's."""

    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    query: type[BaseModel] | None = None


CreateSession, UpdateSession = v2.CreateSessionRequest, v2.UpdateSessionRequest
SessionList, OutputFile = v2.SessionListResponse, v2.TaskOutputFileResponse


@dataclass
class Created:
    body: dict[str, Any]
    headers: dict[str, str]
    id: str
    session_id: str
    at: float = field(default_factory=time.monotonic)


class FakeBrowserUse(V4Runs, ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # What each route takes and gives, by "METHOD /path".
        self._contracts: dict[str, Contract] = {}
        self.create_delay = 0.0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            # A request that arrived before the reset belongs to the test before: if it is still
            # answering (a slow create), what it creates is not recorded in this test's world.
            self.generation = getattr(self, "generation", 0) + 1
            self.create_calls = 0  # every POST /tasks received, whatever the answer
            self.created: list[Created] = []
            self.tasks: dict[str, dict[str, Any]] = {}  # TaskView JSON, by task ID
            self.files: dict[str, bytes] = {}  # output file contents, by file ID
            self.requests: list[tuple[str, str, float]] = []  # (method, path, when)
            self.stops: list[str] = []
            self.shares: list[str] = []
            self.downloads_with_key = 0  # downloads that (wrongly) carried the API key
            self.list_failures = 0  # answer this many GET /tasks with 503
            self.list_delay = 0.0  # seconds before each GET /tasks answers
            # GET /tasks's order (Browser Use's own is UNCONFIRMED), and what happens at Browser
            # Use after each page is answered (statuses change while a list is read).
            self.list_newest_first = False
            self.after_list_page: Callable[[], None] | None = None
            self.profiles: dict[str, dict[str, Any]] = {}  # ProfileView JSON, by profile ID
            self.profile_requests: list[dict[str, Any]] = []  # POST /profiles bodies
            self.cookies: dict[str, set[str]] = {}  # the sites a session's browser holds
            self.live_url_after_reads = 0  # GET /sessions/{id} answers without liveUrl this often
            self.uploads: dict[str, dict[str, bytes]] = {}  # files uploaded, by session, by name
            self.session_refusals: list[tuple[int, dict[str, Any]]] = []  # next POST /sessions
            self.upload_refusals: list[str] = []  # why an upload was refused, as S3 would
            self._presigned: dict[str, dict[str, Any]] = {}  # by the upload URL's token
            self.sessions: dict[str, dict[str, Any]] = {}  # opened with POST /sessions
            self.session_requests: list[dict[str, Any]] = []
            self.session_stops: list[str] = []
            self.schema_errors: list[str] = []  # what broke the contract, either way
            self.check_contract = True  # False only for a benchmark (it costs the stand-in CPU)
            self._next: list[Behaviour] = []
            self.create_delay = 0.0
            # Browser Use's project limit: 125 requests per 5-second window (25 a second).
            self.rate_limit_per_window: int | None = None
            # By project: (window number, requests in it).
            self._windows: dict[str, tuple[int, int]] = {}
            self.rate_limited = 0
            # Projects: each API key is one project's, and a project sees only its own tasks
            # and browsers (another's are "not found", as Browser Use answers).
            self.keys: dict[str, str] = {API_KEY: PROJECT_ID}
            self.owner_of: dict[str, str] = {}  # task and session IDs -> project
            self.project_requests: list[tuple[str, float, bool]] = []
            self._reset_v4()

    def add_project(self) -> tuple[str, str]:
        """Another Browser Use project: (its API key, its ID)."""
        key, project = f"bu_{uuid.uuid4().hex}", str(uuid.uuid4())
        with self._lock:
            self.keys[key] = project
        return key, project

    def revoke(self, key: str) -> None:
        with self._lock:
            self.keys.pop(key, None)

    def project_of(self, thing_id: str) -> str:
        return self.owner_of.get(thing_id, PROJECT_ID)

    def _mine(self, request: web.Request, thing_id: str) -> bool:
        """Whether the task or session belongs to the project of the request's key."""
        return self.project_of(thing_id) == request.get(PROJECT)

    def next_create(self, behaviour: Behaviour, times: int = 1) -> None:
        with self._lock:
            self._next.extend(behaviour for _ in range(times))

    # --- moving tasks along (called by tests) ------------------------------------------------

    def step(self, task_id: str, next_goal: str, url: str = "https://example.com/") -> None:
        with self._lock:
            task = self.tasks[task_id]
            task["status"] = "started"
            task["startedAt"] = task["startedAt"] or _now()
            # v2 bills per step: its cost is the sum of its steps' (a decimal string).
            task["cost"] = f"{float(task['cost'] or 0) + STEP_COST:.4f}"
            number = len(task["steps"]) + 1
            task["steps"].append(
                {
                    "number": number,
                    "memory": "",
                    "evaluationPreviousGoal": "ok",
                    "nextGoal": next_goal,
                    "url": url,
                    "screenshotUrl": None,
                    "actions": [],
                    "duration": 1.5,
                }
            )

    def finish(
        self,
        task_id: str,
        status: str = "finished",
        *,
        output: str | None = "Done.",
        is_success: bool | None = True,
        files: dict[str, bytes] | None = None,
        judge_verdict: bool | None = None,
        cost: str = "0.0123",
    ) -> None:
        with self._lock:
            task = self.tasks[task_id]
            task.update(
                status=status,
                output=output,
                isSuccess=is_success,
                cost=cost,
                finishedAt=_now(),
                judgeVerdict=judge_verdict,
            )
            task["startedAt"] = task["startedAt"] or task["createdAt"]
            for name, content in (files or {}).items():
                file_id = str(uuid.uuid4())
                self.files[file_id] = content
                task["outputFiles"].append({"id": file_id, "fileName": name})

    def add_task(
        self, metadata: dict[str, str], status: str = "started", project: str = PROJECT_ID
    ) -> str:
        """A task already running at Browser Use (started before the test), as if created."""
        task_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
        with self._lock:
            self.owner_of[task_id] = self.owner_of[session_id] = project
            self.tasks[task_id] = {
                **self._new_task(task_id, session_id, "Keep an eye on it", None, metadata),
                "status": status,
                "startedAt": _now(),
            }
        return task_id

    def open_session(self) -> str:
        """A kept-alive session, as if opened from the dashboard or another client."""
        session_id = str(uuid.uuid4())
        self.sessions[session_id] = {"status": "active", "startedAt": _now(), "body": {}}
        return session_id

    def task(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self.tasks[task_id]))

    def reads_of(self, task_id: str) -> int:
        return sum(1 for _, path, _ in self.requests if task_id in path)

    def send_webhook(
        self,
        url: str,
        secret: str,
        event: dict[str, Any],
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        body: str | None = None,
    ) -> httpx.Response:
        """POST a webhook signed as Browser Use's sender signs it (see the API notes §8)."""
        ts = int(time.time()) if timestamp is None else timestamp
        return LOOPBACK.post(
            url,
            content=body if body is not None else json.dumps(event),
            headers={
                "Content-Type": "application/json",
                "X-Browser-Use-Signature": signature or self.sign(secret, event, ts),
                "X-Browser-Use-Timestamp": str(ts),
            },
        )

    @staticmethod
    def sign(secret: str, event: dict[str, Any], timestamp: int) -> str:
        """The signature Browser Use's sender gives `event` at `timestamp`."""
        canonical = json.dumps(event, separators=(",", ":"), sort_keys=True)
        message = f"{timestamp}.{canonical}".encode()
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

    @staticmethod
    def status_event(task: dict[str, Any], status: str | None = None) -> dict[str, Any]:
        return {
            "type": "agent.task.status_update",
            "timestamp": _now(),
            "payload": {
                "task_id": task["id"],
                "session_id": task["sessionId"],
                "status": status or task["status"],
                "metadata": task["metadata"],
            },
        }

    # --- the server ---------------------------------------------------------------------------

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record every API call, refuse any without the key, as Browser Use does, and hold the
        request and the answer to the contract."""
        if not request.path.startswith(("/api/v2/", "/api/v4/")):
            return await handler(request)
        self.requests.append((request.method, request.path, time.monotonic()))
        creating = request.path == "/api/v2/tasks" and request.method == "POST"
        project = self.keys.get(request.headers.get("X-Browser-Use-API-Key", ""))
        if project is not None:
            request[PROJECT] = project
            limited = self._over_rate_limit(project)
            self.project_requests.append((project, time.monotonic(), limited))
            if limited:
                return web.json_response(
                    {"error": "rate_limited", "limit_rps": 25, "retry_after_seconds": 5},
                    status=429,
                    headers={"Retry-After": "5"},
                )
        elif not creating:
            return web.json_response(
                {"detail": "X-Browser-Use-API-Key header is required"}, status=401
            )
        route = request.match_info.route.resource
        key = f"{request.method} {route.canonical if route else ''}"
        body, answer, query = (
            self._contracts.get(key, Contract()) if self.check_contract else Contract()
        )
        problems = query_problems(query, request.query) if query else []
        if body is not None:
            problems += contract_problems(body, await request.read())
        if problems:
            self.schema_errors.extend(problems)
            return web.json_response(
                {"detail": [{"loc": ["body"], "msg": p, "type": "value_error"} for p in problems]},
                status=422,
            )
        response = await handler(request)
        if answer is None or request.get(SCRIPTED) or not 200 <= response.status < 300:
            return response
        assert isinstance(response, web.Response) and response.body is not None
        wrong = contract_problems(answer, bytes(response.body))  # type: ignore[arg-type]
        if wrong:
            self.schema_errors.extend(f"answer {p}" for p in wrong)
            return web.json_response(
                {"detail": f"the stand-in broke Browser Use's contract: {wrong}"}, status=500
            )
        return response

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        C = Contract
        routes = [
            ("POST", "/tasks", self._create_task, C(v2.CreateTaskRequest, v2.TaskCreatedResponse)),
            ("GET", "/tasks", self._list_tasks, C(None, v2.TaskListResponse, TaskListQuery)),
            ("GET", "/tasks/{id}", self._get_task, C(None, v2.TaskView)),
            ("GET", "/tasks/{id}/status", self._get_status, C(None, v2.TaskStatusView)),
            ("PATCH", "/tasks/{id}", self._patch_task, C(v2.UpdateTaskRequest, v2.TaskView)),
            ("GET", "/sessions/{id}", self._get_session, C(None, v2.SessionView)),
            ("POST", "/sessions", self._create_session, C(CreateSession, v2.SessionItemView)),
            ("GET", "/sessions", self._list_sessions, C(None, SessionList, SessionListQuery)),
            ("PATCH", "/sessions/{id}", self._patch_session, C(UpdateSession, v2.SessionView)),
            ("GET", "/billing/account", self._account, C(None, v2.AccountView)),
            ("GET", "/profiles/{id}", self._profile, C(None, v2.ProfileView)),
            ("POST", "/profiles", self._create_profile, C(v2.ProfileCreateRequest, v2.ProfileView)),
            (
                "PATCH",
                "/profiles/{id}",
                self._patch_profile,
                C(v2.ProfileUpdateRequest, v2.ProfileView),
            ),
            ("DELETE", "/profiles/{id}", self._delete_profile, C()),
            ("POST", "/sessions/{id}/public-share", self._share, C(None, v2.ShareView)),
            (
                "POST",
                "/files/sessions/{id}/presigned-url",
                self._presign,
                C(v2.UploadFileRequest, v2.UploadFilePresignedUrlResponse),
            ),
            (
                "GET",
                "/files/tasks/{id}/output-files/{file}",
                self._output_file,
                C(None, OutputFile),
            ),
        ]
        for method, path, handler, terms in routes:
            app.router.add_route(method, f"/api/v2{path}", handler)
            self._contracts[f"{method} /api/v2{path}"] = terms
        for method, path, handler, (body, answer, query) in self.v4_routes():
            app.router.add_route(method, f"/api/v4{path}", handler)
            self._contracts[f"{method} /api/v4{path}"] = Contract(body, answer, query)
        app.router.add_get("/downloads/{file}", self._download)
        app.router.add_post("/uploads/{token}", self._upload)
        # For a benchmark that runs this stand-in in another process.
        app.router.add_post("/_control", self._control)
        app.router.add_get("/_control/created", self._control_created)
        app.router.add_post("/_control/tasks", self._control_tasks)
        app.router.add_post("/_control/finish", self._control_finish)
        app.router.add_post("/_control/steps", self._control_steps)
        app.router.add_get("/_control/requests", self._control_requests)
        app.router.add_post("/_control/projects", self._control_projects)
        app.router.add_get("/_control/project_requests", self._control_project_requests)
        return app

    async def _control_projects(self, _: web.Request) -> web.Response:
        key, project = self.add_project()
        return web.json_response({"key": key, "project": project})

    async def _control_project_requests(self, _: web.Request) -> web.Response:
        """Every API request as (its project, when, whether it was refused with a 429)."""
        return web.json_response(self.project_requests)

    async def _control(self, request: web.Request) -> web.Response:
        settings = await request.json()
        self.reset()
        self.create_delay = float(settings.get("create_delay", 0.0))
        self.rate_limit_per_window = settings.get("rate_limit_per_window")
        self.check_contract = bool(settings.get("check_contract", True))
        return web.json_response({"ok": True})

    async def _control_tasks(self, request: web.Request) -> web.Response:
        """Tasks already running at Browser Use, with this Slack route (the follow benchmark)."""
        body = await request.json()
        project = self.keys[body.get("key", API_KEY)]
        ids = [
            self.add_task({"slack": body["route"]}, project=project)
            for _ in range(int(body["count"]))
        ]
        sessions = {task_id: self.tasks[task_id]["sessionId"] for task_id in ids}
        return web.json_response({"ids": ids, "sessions": sessions})

    async def _control_finish(self, request: web.Request) -> web.Response:
        """End a task now (its output names it); with `webhook`, announce it as Browser Use
        does. Answers when it ended (this machine's monotonic clock, as the other processes')."""
        body = await request.json()
        task_id = body["id"]
        self.finish(task_id, output=f"result of {task_id}")
        ended = time.monotonic()
        if body.get("webhook"):
            event = self.status_event(self.task(task_id))
            await asyncio.to_thread(self.send_webhook, body["webhook"], body["secret"], event)
        return web.json_response({"ended": ended})

    async def _control_steps(self, request: web.Request) -> web.Response:
        """A step for `count` running tasks picked at random (the follow benchmark's agents), or
        for the tasks `ids` names; answers each one's step number, and when (monotonic)."""
        body = await request.json()
        if "ids" in body:
            chosen = list(body["ids"])
        else:
            running = [t for t, task in self.tasks.items() if task["status"] == "started"]
            chosen = random.sample(running, min(int(body["count"]), len(running)))
        for task_id in chosen:
            self.step(task_id, "Keep going")
        steps = {task_id: len(self.tasks[task_id]["steps"]) for task_id in chosen}
        return web.json_response({"ok": True, "at": time.monotonic(), "steps": steps})

    async def _control_requests(self, _: web.Request) -> web.Response:
        return web.json_response([[m, p, at] for m, p, at in self.requests])

    async def _control_created(self, _: web.Request) -> web.Response:
        created = [{"id": c.id, "task": c.body["task"], "at": c.at} for c in self.created]
        return web.json_response(
            {
                "stops": self.stops,
                "calls": self.create_calls,
                "created": created,
                "rate_limited": self.rate_limited,
                "peak_per_window": self.peak_per_window(),
            }
        )

    def peak_per_window(self, seconds: float = 5.0) -> int:
        """The most API requests received in any `seconds` (Browser Use counts 5 s windows)."""
        return peak_in(
            [at for _, path, at in self.requests if path.startswith("/api/v2/")], seconds
        )

    def _over_rate_limit(self, project: str) -> bool:
        """Browser Use's limit is the project's: each key's requests count in its own window."""
        if self.rate_limit_per_window is None:
            return False
        window = int(time.monotonic() // 5)
        with self._lock:
            number, count = self._windows.get(project, (0, 0))
            count = count + 1 if number == window else 1
            self._windows[project] = (window, count)
            if count > self.rate_limit_per_window:
                self.rate_limited += 1
                return True
        return False

    def _store(self, body: dict[str, Any], request: web.Request) -> Created:
        session_id = body.get("sessionId") or str(uuid.uuid4())
        created = Created(body, dict(request.headers), str(uuid.uuid4()), session_id)
        with self._lock:
            self.created.append(created)
            project = request.get(PROJECT, PROJECT_ID)
            self.owner_of[created.id] = project
            self.owner_of.setdefault(session_id, project)
            self.tasks[created.id] = self._new_task(
                created.id, session_id, body["task"], body.get("llm"), body.get("metadata") or {}
            )
        return created

    @staticmethod
    def _new_task(
        task_id: str, session_id: str, task: str, llm: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "id": task_id,
            "sessionId": session_id,
            "llm": llm or "browser-use-2.0",
            "task": task,
            "status": "created",
            "createdAt": _now(),
            "startedAt": None,
            "finishedAt": None,
            "metadata": metadata,
            "steps": [],
            "output": None,
            "outputFiles": [],
            "browserUseVersion": "0.9",
            "isSuccess": None,
            "judgement": None,
            "judgeVerdict": None,
            "cost": None,
            "suggestions": None,
        }

    async def _create_task(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            behaviour = self._next.pop(0) if self._next else Behaviour(delay=self.create_delay)
            self.create_calls += 1
            generation = self.generation
        # A test that scripts a broken answer means it: that one is not held to the contract.
        request[SCRIPTED] = behaviour.raw is not None or behaviour.body is not None
        body = await request.json()
        if PROJECT not in request:
            return web.json_response(
                {"detail": "X-Browser-Use-API-Key header is required"}, status=401
            )
        session_id = body.get("sessionId")
        if session_id:
            view = self._session_view(session_id)
            if view is None or not self._mine(request, session_id):
                return web.json_response({"detail": "Session not found"}, status=404)
            if view["status"] != "active":
                return web.json_response({"detail": "Browser session is stopped."}, status=400)
            if any(t["status"] in ("created", "started") for t in view["tasks"]):
                return web.json_response(
                    {"detail": "Agent session already has a running task."}, status=400
                )
        created = self._store(body, request) if behaviour.created else None
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
        if created is None and generation != self.generation:
            return web.json_response({"detail": "the stand-in was reset"}, status=503)
        created = created or self._store(body, request)
        if behaviour.raw is not None:
            return web.Response(status=202, text=behaviour.raw)
        return web.json_response({"id": created.id, "sessionId": created.session_id}, status=202)

    def _task(self, request: web.Request) -> dict[str, Any] | None:
        task_id = request.match_info["id"]
        return self.tasks.get(task_id) if self._mine(request, task_id) else None

    async def _get_task(self, request: web.Request) -> web.Response:
        task = self._task(request)
        return web.json_response(task) if task else await _not_found("Task")

    async def _get_status(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if task is None:
            return await _not_found("Task")
        keys = ("id", "status", "output", "finishedAt", "isSuccess", "cost")
        return web.json_response({k: task[k] for k in keys})

    async def _patch_task(self, request: web.Request) -> web.Response:
        task = self._task(request)
        if task is None:
            return await _not_found("Task")
        action = (await request.json()).get("action")
        if action not in ("stop", "stop_task_and_session"):
            return web.json_response(
                {"loc": ["body", "action"], "msg": "bad action", "type": "enum"}, status=422
            )
        self.stops.append(task["id"])
        if task["status"] not in ("finished", "failed", "stopped"):
            task.update(status="stopped", finishedAt=_now(), output=None, isSuccess=False)
        return web.json_response(task)

    def add_profile(self, profile_id: str | None = None, name: str = "Saved logins") -> str:
        """A profile of the project, as if made in the dashboard."""
        profile_id = profile_id or str(uuid.uuid4())
        now = _now()
        self.profiles[profile_id] = {
            "id": profile_id,
            "userId": None,
            "name": name,
            "lastUsedAt": None,
            "createdAt": now,
            "updatedAt": now,
            "cookieDomains": [],
        }
        return profile_id

    def log_in(self, session_id: str, *sites: str) -> None:
        """A person logs in to `sites` in the session's browser (through its live view)."""
        self.cookies.setdefault(session_id, set()).update(sites)

    async def _create_profile(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.profile_requests.append(body)
        profile_id = self.add_profile(name=body.get("name") or "")
        self.profiles[profile_id]["userId"] = body.get("userId")
        return web.json_response(self.profiles[profile_id], status=201)

    async def _profile(self, request: web.Request) -> web.Response:
        profile = self.profiles.get(request.match_info["id"])
        return web.json_response(profile) if profile else await _not_found("Profile")

    async def _patch_profile(self, request: web.Request) -> web.Response:
        profile = self.profiles.get(request.match_info["id"])
        if profile is None:
            return await _not_found("Profile")
        body = await request.json()
        profile.update({k: v for k, v in body.items() if v is not None}, updatedAt=_now())
        return web.json_response(profile)

    async def _delete_profile(self, request: web.Request) -> web.Response:
        self.profiles.pop(request.match_info["id"], None)
        return web.Response(status=204)

    async def _list_tasks(self, request: web.Request) -> web.Response:
        if self.list_delay:
            await asyncio.sleep(self.list_delay)
        if self.list_failures > 0:
            self.list_failures -= 1
            return web.json_response({"detail": "Service Unavailable"}, status=503)
        query = request.query
        size, page = int(query.get("pageSize", 10)), int(query.get("pageNumber", 1))
        with self._lock:
            items = [
                t
                for t in self.tasks.values()
                if (not query.get("filterBy") or t["status"] == query["filterBy"])
                and self._mine(request, t["id"])
            ]
            if query.get("after"):
                items = [t for t in items if t["createdAt"] >= query["after"]]
            if self.list_newest_first:
                items.reverse()
            chunk = [_item(t) for t in items[(page - 1) * size : page * size]]
        if self.after_list_page is not None:
            self.after_list_page()
        return web.json_response(
            {"items": chunk, "totalItems": len(items), "pageNumber": page, "pageSize": size}
        )

    def _session_view(self, session_id: str) -> dict[str, Any] | None:
        """A session as GET /sessions/{id} shows it: opened explicitly (kept alive until
        stopped), or made for one task (active while that task runs)."""
        tasks = [t for t in self.tasks.values() if t["sessionId"] == session_id]
        opened = self.sessions.get(session_id)
        if opened is None and not tasks:
            return None
        running = any(t["status"] in ("created", "started") for t in tasks)
        active = opened["status"] == "active" if opened else running
        return {
            "id": session_id,
            "status": "active" if active else "stopped",
            "liveUrl": f"{self.url}/live/{session_id}" if active else None,
            "startedAt": opened["startedAt"] if opened else tasks[0]["createdAt"],
            "finishedAt": None if active else _now(),
            "tasks": [_item(t) for t in tasks],
            "publicShareUrl": None,
            "persistMemory": True,
            "keepAlive": bool(opened),
            "proxyUsedMb": "0",
            "proxyCost": "0",
        }

    async def _get_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        view = self._session_view(session_id) if self._mine(request, session_id) else None
        if view is not None and self.live_url_after_reads > 0:
            self.live_url_after_reads -= 1  # the browser is still booting
            view["liveUrl"] = None
        return web.json_response(view) if view else await _not_found("Session")

    async def _create_session(self, request: web.Request) -> web.Response:
        body = await request.json() if request.body_exists else {}
        self.session_requests.append(body)
        if self.session_refusals:
            status, answer = self.session_refusals.pop(0)
            request[SCRIPTED] = True
            return web.json_response(answer, status=status)
        profile = self.profiles.get(body.get("profileId") or "")
        if body.get("profileId") and profile is None:
            return web.json_response({"detail": "Profile not found"}, status=404)
        session_id = str(uuid.uuid4())
        self.sessions[session_id] = {"status": "active", "startedAt": _now(), "body": body}
        self.owner_of[session_id] = request[PROJECT]
        # The browser starts with what its profile saved.
        self.cookies[session_id] = set(profile["cookieDomains"]) if profile else set()
        view = self._session_view(session_id)
        assert view is not None
        return web.json_response(_session_item(view), status=201)

    async def _patch_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        if self._session_view(session_id) is None or not self._mine(request, session_id):
            return await _not_found("Session")
        self.session_stops.append(session_id)
        opened = self.sessions.setdefault(session_id, {"startedAt": _now()})
        if opened.get("status", "active") == "active":
            # A profile is saved when its browser stops, with whatever the browser holds.
            profile = self.profiles.get(opened.get("body", {}).get("profileId") or "")
            if profile is not None:
                profile["cookieDomains"] = sorted(self.cookies.get(session_id, set()))
        opened["status"] = "stopped"
        for task in self.tasks.values():
            if task["sessionId"] == session_id and task["status"] in ("created", "started"):
                task.update(status="stopped", finishedAt=_now(), isSuccess=False)
        return web.json_response(self._session_view(session_id))

    def _session_items(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every session as an item of `GET /sessions` (a `SessionItemView`), `status` only."""
        ids = list(dict.fromkeys([*self.sessions, *(t["sessionId"] for t in self.tasks.values())]))
        views = [v for i in ids if (v := self._session_view(i))]
        return [_session_item(v) for v in views if not status or v["status"] == status]

    async def _list_sessions(self, request: web.Request) -> web.Response:
        """A page of sessions, as the API pages them (10 by default, at most 100)."""
        items = self._session_items(request.query.get("filterBy"))
        size = min(100, int(request.query.get("pageSize", 10)))
        page = int(request.query.get("pageNumber", 1))
        return web.json_response(
            {
                "items": items[(page - 1) * size : page * size],
                "totalItems": len(items),
                "pageNumber": page,
                "pageSize": size,
            }
        )

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "totalCreditsBalanceUsd": 42.5,
                "monthlyCreditsBalanceUsd": 0,
                "additionalCreditsBalanceUsd": 42.5,
                "rateLimit": 10,
                "planInfo": {
                    "planName": "Pay as you go",
                    "subscriptionStatus": None,
                    "subscriptionId": None,
                    "subscriptionCurrentPeriodEnd": None,
                    "subscriptionCanceledAt": None,
                },
                "isFreeTier": False,
                "projectId": request[PROJECT],
                "concurrentSessionLimit": 25,
                "activeSessionCount": len(self._session_items("active")),
            }
        )

    async def _share(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        if not any(t["sessionId"] == session_id for t in self.tasks.values()):
            return await _not_found("Session")
        self.shares.append(session_id)
        return web.json_response(
            {
                "shareToken": "tok",
                "viewCount": 0,
                "lastViewedAt": None,
                "shareUrl": f"https://share.example/{session_id}",
            },
            status=201,
        )

    async def _presign(self, request: web.Request) -> web.Response:
        view = self._session_view(request.match_info["id"])
        if view is None or view["status"] != "active":
            return await _not_found("Session")
        body = await request.json()
        token = uuid.uuid4().hex
        fields = {
            "key": f"uploads/{view['id']}/{body['fileName']}",
            "Content-Type": body["contentType"],
            "policy": hashlib.sha256(token.encode()).hexdigest(),
            "x-amz-signature": hashlib.sha256(f"sig{token}".encode()).hexdigest(),
        }
        self._presigned[token] = {
            **body,
            "session": view["id"],
            "fields": fields,
            "expires": time.monotonic() + 120,
        }
        return web.json_response(
            {
                "url": f"{self.url}/uploads/{token}",
                "method": "POST",
                "fields": fields,
                "fileName": body["fileName"],
                "expiresIn": 120,
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        """An S3 presigned POST: every field as given, then the file, last; the exact size;
        within the expiry; once. Anything else is refused with S3's 403 or 400."""
        presigned = self._presigned.pop(request.match_info["token"], None)

        def refuse(why: str, status: int = 403) -> web.Response:
            self.upload_refusals.append(why)
            return web.Response(status=status, text=f"<Error><Code>{why}</Code></Error>")

        if presigned is None:
            return refuse("AccessDenied: no such presigned URL, or used already")
        if "X-Browser-Use-API-Key" in request.headers or "Authorization" in request.headers:
            return refuse("InvalidArgument: a credential was sent", 400)
        if time.monotonic() > presigned["expires"]:
            return refuse("AccessDenied: Request has expired")
        reader = await request.multipart()
        fields: dict[str, str] = {}
        content = None
        while (part := await reader.next()) is not None:
            if content is not None:
                return refuse("InvalidArgument: the file must be the last field", 400)
            if part.name == "file":
                content = await part.read()  # type: ignore[union-attr]
            else:
                fields[str(part.name)] = await part.text()  # type: ignore[union-attr]
        if fields != presigned["fields"]:
            return refuse("AccessDenied: the fields differ from the policy's")
        if content is None or len(content) != presigned["sizeBytes"]:
            return refuse("EntityTooLarge: the size differs from the one asked for", 400)
        self.uploads.setdefault(presigned["session"], {})[presigned["fileName"]] = bytes(content)
        return web.Response(status=204)

    async def _output_file(self, request: web.Request) -> web.Response:
        task = self.tasks.get(request.match_info["id"])
        file_id = request.match_info["file"]
        match = [f for f in (task or {}).get("outputFiles", []) if f["id"] == file_id]
        if not match:
            return await _not_found("Output file")
        return web.json_response(
            {
                "id": file_id,
                "fileName": match[0]["fileName"],
                "downloadUrl": f"{self.url}/downloads/{file_id}",
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        if "X-Browser-Use-API-Key" in request.headers:
            self.downloads_with_key += 1
        content = self.files.get(request.match_info["file"])
        return web.Response(body=content) if content is not None else web.Response(status=404)


def peak_in(times: list[float], seconds: float = 5.0) -> int:
    """The most of `times` in any window of `seconds`."""
    ordered = sorted(times)
    peak, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - seconds:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _not_found(what: str) -> web.Response:
    return web.json_response({"detail": f"{what} not found"}, status=404)


def _item(task: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in task.items() if k not in ("steps", "outputFiles")}


def _session_item(view: dict[str, Any]) -> dict[str, Any]:
    """A session as `POST /sessions` and `GET /sessions` give it: without its tasks."""
    return {k: v for k, v in view.items() if k not in ("tasks", "publicShareUrl")}
