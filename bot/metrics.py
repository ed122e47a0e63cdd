"""What an operator graphs and alerts on, in Prometheus's format (`GET /metrics`, served only
when `METRICS_TOKEN` is set, and only to a request that carries it as a bearer token).

Counters and the histogram are this process's own (each process serves its own; Prometheus adds
them up across its targets). The gauges are read from the store when scraped, so every process
gives the deployment's one number: the outbox's depth, the oldest unreported task, workspaces.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
PREFIX = "browser_use_slack"

TASKS_STARTED = Counter(
    f"{PREFIX}_tasks_started",
    "Tasks (v2) and runs (v4, accurate mode) this process created at Browser Use.",
    ["engine"],
    registry=REGISTRY,
)
TASKS_ENDED = Counter(
    f"{PREFIX}_tasks_ended",
    "Tasks whose end this process reported in Slack, by engine and how they ended.",
    ["engine", "status"],
    registry=REGISTRY,
)
BROWSER_USE_REQUESTS = Counter(
    f"{PREFIX}_browser_use_requests",
    "Requests to Browser Use, by method and resource, and answer (2xx, 429, 4xx, 5xx, error).",
    ["method", "resource", "answer"],
    registry=REGISTRY,
)
SLACK_REQUESTS = Counter(
    f"{PREFIX}_slack_requests",
    "Requests to Slack's Web API, by method and HTTP answer (2xx, 429, 4xx, 5xx, error); "
    "an ok:false answer is a 2xx.",
    ["method", "answer"],
    registry=REGISTRY,
)
BUDGET_WAIT = Counter(
    f"{PREFIX}_budget_wait_seconds",
    "Seconds requests waited for Browser Use's request budget: a person's, or background reads.",
    ["who"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    f"{PREFIX}_ack_seconds",
    "Time from a Slack request's arrival to its answer (Slack gives up at 3 s), by kind.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    f"{PREFIX}_outbox_depth",
    "Messages owed to Slack (it was down), waiting in the outbox.",
    registry=REGISTRY,
)
OLDEST_UNREPORTED = Gauge(
    f"{PREFIX}_oldest_unreported_task_seconds",
    "Age of the oldest task whose result is not posted yet (running ones included); 0 if none.",
    registry=REGISTRY,
)
WORKSPACES = Gauge(
    f"{PREFIX}_workspaces",
    "Workspaces installed, and those of them with Browser Use connected.",
    ["state"],
    registry=REGISTRY,
)


def answer_of(status: int | None) -> str:
    """An HTTP answer as a label: 429s apart from the other refusals."""
    if status is None:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


_VERSION = re.compile(r"^v\d+$")


def resource_of(path: str) -> str:
    """`tasks/…/status` → tasks; `../v4/runs/…` → runs: a label with few values."""
    parts = [p for p in path.split("/") if p and p != ".." and not _VERSION.match(p)]
    return parts[0] if parts else ""


def slack_tracing(api_url: str) -> aiohttp.TraceConfig:
    """Counts every request on the process's Slack connection pool (Bolt's per-request clients
    and each workspace's share it), by Web API method and answer."""
    base = api_url.rstrip("/") + "/"
    trace = aiohttp.TraceConfig()

    def method_of(url: object) -> str:
        text = str(url)
        return text[len(base) :].split("?")[0] or "?" if text.startswith(base) else "upload"

    async def on_end(_: Any, __: SimpleNamespace, params: Any) -> None:
        SLACK_REQUESTS.labels(method_of(params.url), answer_of(params.response.status)).inc()

    async def on_error(_: Any, __: SimpleNamespace, params: Any) -> None:
        SLACK_REQUESTS.labels(method_of(params.url), "error").inc()

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace


def authorized(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


async def exposition(gauges: Callable[[], Awaitable[dict[str, float]]]) -> tuple[bytes, str]:
    """The text a scraper reads, the store's gauges read first."""
    read = await gauges()
    OUTBOX_DEPTH.set(read["outbox"])
    oldest = read["oldest_unreported_at"]
    OLDEST_UNREPORTED.set(max(0.0, time.time() - oldest) if oldest else 0.0)
    WORKSPACES.labels("installed").set(read["installed"])
    WORKSPACES.labels("connected").set(read["connected"])
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
