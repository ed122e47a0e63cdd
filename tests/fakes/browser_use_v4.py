"""The Browser Use stand-in's v4 runs (accurate mode), under `/api/v4`, held to the models
browser-use-sdk generates from Browser Use's v4 OpenAPI as v2 is (`tests.contract`).

What it refuses, as v4 does (the API notes §15): a run in a session that has one running (409),
any run for a Zero-Data-Retention project (403), a field the model lacks (422).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.contract import RunEventsQuery, v4

RUNNING = ("queued", "dispatching", "running")
# The project of the request's API key (set by the stand-in's gate).
PROJECT = web.RequestKey("project", str)


@dataclass
class Run:
    body: dict[str, Any]
    id: str
    session_id: str
    at: float = field(default_factory=time.monotonic)


class V4Runs:
    """Mixed into `FakeBrowserUse`: its v4 state and routes."""

    owner_of: dict[str, str]  # the stand-in's: run and session IDs -> project

    def _mine(self, request: web.Request, thing_id: str) -> bool:
        raise NotImplementedError  # the stand-in's

    def _reset_v4(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}  # RunSummary JSON, by run ID
        self.run_events: dict[str, list[dict[str, Any]]] = {}
        self.runs_created: list[Run] = []
        self.cancels: list[str] = []
        # POST /sessions/{id}/queue's messages (QueuedMessage JSON), in order; each becomes a
        # run when its session's running one ends, as Browser Use dispatches them.
        self.queued: list[dict[str, Any]] = []
        self.zero_data_retention = False  # every POST /runs answers 403, as for such projects

    def v4_routes(self) -> list[tuple[str, str, Any, tuple[Any, Any, Any]]]:
        return [
            ("POST", "/runs", self._create_run, (v4.RunCreateRequest, v4.RunCreateResponse, None)),
            ("GET", "/runs/{id}", self._get_run, (None, v4.RunSummary, None)),
            ("GET", "/runs/{id}/status", self._run_status, (None, v4.RunStatusResponse, None)),
            ("POST", "/runs/{id}/cancel", self._cancel_run, (None, v4.RunSummary, None)),
            (
                "GET",
                "/runs/{id}/events",
                self._events,
                (None, v4.RunEventsResponse, RunEventsQuery),
            ),
            (
                "POST",
                "/sessions/{id}/queue",
                self._queue,
                (v4.QueueMessageRequest, v4.QueuedMessage, None),
            ),
            ("GET", "/sessions/{id}/queue/{message}", self._queued, (None, v4.QueuedMessage, None)),
        ]

    # --- moving runs along (called by tests) -----------------------------------------------------

    def start_run(
        self,
        run_id: str,
        live_view_url: str = "https://live.browser-use.com/r/1",
        *,
        reattached: bool = False,
    ) -> None:
        """The run's browser is up: it runs, and its `browser.ready` event (a run in a session's
        kept browser: `browser.reattached`) has the live view."""
        self.runs[run_id].update(status="running", updatedAt=_now())
        kind = "browser.reattached" if reattached else "browser.ready"
        self._event(run_id, kind, {"live_view_url": live_view_url})

    def finish_run(
        self,
        run_id: str,
        status: str = "completed",
        *,
        result: str | None = "Done.",
        output: Any = None,
        error: str | None = None,
        cost: str = "0.4200",
        judgement: dict[str, Any] | None = None,
    ) -> None:
        self.runs[run_id].update(
            status=status,
            result=result,
            output=output,
            error=error,
            totalCostUsd=cost,
            judgement=judgement,
            updatedAt=_now(),
        )
        self._dispatch(self.runs[run_id]["sessionId"])

    def _busy(self, session_id: str) -> bool:
        return any(
            r["sessionId"] == session_id and r["status"] in RUNNING for r in self.runs.values()
        )

    def _dispatch(self, session_id: str) -> None:
        """The session's next queued message becomes its run, once the session is free."""
        if self._busy(session_id):
            return
        waiting = next(
            (m for m in self.queued if m["sessionId"] == session_id and m["status"] == "pending"),
            None,
        )
        if waiting is not None:
            run_id = self._new_run({"task": waiting["text"]}, session_id)
            waiting.update(status="consumed", runId=run_id)

    def _event(self, run_id: str, kind: str, data: dict[str, Any]) -> None:
        events = self.run_events.setdefault(run_id, [])
        events.append(
            {"runId": run_id, "id": len(events) + 1, "ts": _now(), "type": kind, "data": data}
        )

    # --- the routes -------------------------------------------------------------------------------

    async def _create_run(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.zero_data_retention:
            return web.json_response(
                {"detail": "v4 runs are not available for Zero Data Retention projects"},
                status=403,
            )
        session_id = body.get("sessionId")
        if session_id and not self._mine(request, session_id):
            return _no_run()
        if session_id and any(
            r["sessionId"] == session_id and r["status"] in RUNNING for r in self.runs.values()
        ):
            return web.json_response(
                {"detail": "The session already has an active run"}, status=409
            )
        run_id = self._new_run(body, session_id or str(uuid.uuid4()))
        run = self.runs[run_id]
        self.owner_of[run_id] = request[PROJECT]
        self.owner_of.setdefault(run["sessionId"], request[PROJECT])
        self.runs_created.append(Run(body, run_id, run["sessionId"]))
        answer = {
            "id": run_id,
            "status": "queued",
            "model": run["model"],
            "sessionId": run["sessionId"],
            "workspaceId": run["workspaceId"],
            "eventsUrl": f"/api/v4/runs/{run_id}/events",
        }
        return web.json_response(answer)

    def _new_run(self, body: dict[str, Any], session_id: str) -> str:
        run_id = str(uuid.uuid4())
        now = _now()
        self.runs[run_id] = {
            "id": run_id,
            "task": body["task"],
            "title": None,
            "model": body.get("model", "gpt-6-luna"),
            "contextLimit": 200_000,
            "status": "queued",
            "result": None,
            "output": None,
            "outputSchema": body.get("outputSchema"),
            "error": None,
            "sessionId": session_id,
            "workspaceId": str(uuid.uuid4()),
            "judgement": None,
            "totalInputTokens": 0,
            "totalOutputTokens": 0,
            "totalCostUsd": "0",
            "createdAt": now,
            "updatedAt": now,
        }
        return run_id

    def _run(self, request: web.Request) -> dict[str, Any] | None:
        run_id = request.match_info["id"]
        return self.runs.get(run_id) if self._mine(request, run_id) else None

    async def _get_run(self, request: web.Request) -> web.Response:
        run = self._run(request)
        return web.json_response(run) if run else _no_run()

    async def _run_status(self, request: web.Request) -> web.Response:
        run = self._run(request)
        return web.json_response({"status": run["status"]}) if run else _no_run()

    async def _cancel_run(self, request: web.Request) -> web.Response:
        run = self._run(request)
        if run is None:
            return _no_run()
        self.cancels.append(run["id"])
        if run["status"] in RUNNING:
            run.update(status="cancelled", updatedAt=_now())
            self._dispatch(run["sessionId"])
        return web.json_response(run)

    async def _events(self, request: web.Request) -> web.Response:
        run = self._run(request)
        if run is None:
            return _no_run()
        after = int(request.query.get("after", 0))
        events = [e for e in self.run_events.get(run["id"], []) if e["id"] > after]
        limit = int(request.query.get("limit", 100))
        page = events[:limit]
        return web.json_response(
            {
                "events": page,
                "nextAfter": page[-1]["id"] if page else after,
                "hasMore": len(events) > limit,
            }
        )

    async def _queue(self, request: web.Request) -> web.Response:
        body = await request.json()
        session_id = request.match_info["id"]
        if (
            sum(1 for m in self.queued if m["sessionId"] == session_id and m["status"] == "pending")
            >= 10
        ):
            return web.json_response({"detail": "Too many queued messages"}, status=429)
        message = {
            "id": len(self.queued) + 1,
            "sessionId": session_id,
            "runId": None,
            "mode": "interrupt" if body.get("interrupt") else "queue",
            "status": "pending",
            "text": body["text"],
            "createdAt": _now(),
        }
        self.queued.append(message)
        self._dispatch(session_id)
        return web.json_response(message)

    async def _queued(self, request: web.Request) -> web.Response:
        session_id, number = request.match_info["id"], request.match_info["message"]
        found = next(
            (m for m in self.queued if m["sessionId"] == session_id and str(m["id"]) == number),
            None,
        )
        return web.json_response(found) if found else _no_run()


def _no_run() -> web.Response:
    return web.json_response({"detail": "Run not found"}, status=404)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
