"""THE client for Browser Use Cloud: one pooled httpx.AsyncClient, typed errors, one retry policy.

Every call to Browser Use goes through `BrowserUseClient`. It knows nothing about Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from bot import metrics
from bot.answers import (
    Account,
    OutputFileLink,
    ProfileView,
    QueuedMessageView,
    RunEvents,
    RunStatusView,
    RunView,
    SessionList,
    SessionView,
    ShareView,
    TaskList,
    TaskStatusView,
    TaskView,
    UploadTarget,
)
from bot.browser_use_errors import (
    AuthError,
    BrowserUseError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PaymentError,
    RateLimitError,
    ServerError,
    UpstreamTimeout,
    error_detail,
    error_for_response,
)
from bot.metrics import resource_of
from bot.models import (
    V4_STATUS,
    CreateProfileRequest,
    CreateSessionRequest,
    CreateTaskRequest,
    Engine,
    TaskCreated,
)
from bot.request_budget import Priority, RequestBudget

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

API_KEY_HEADER = "X-Browser-Use-API-Key"
# A 429 that asks us to wait this long or less is waited out once; longer waits are reported.
MAX_RETRY_AFTER_SECONDS = 5.0

# What a task, run, session, message or file ID looks like (UUIDs, in practice): anything else
# (a payload's junk, a path) never becomes part of a URL.
_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _id(value: str) -> str:
    """`value` for a URL's path, or `NotFoundError` without sending anything: no such thing
    can exist."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise NotFoundError("not_found", detail="not an ID")
    return value


@dataclass(frozen=True)
class RetryPolicy:
    """The waits before a retry: `first`, doubled each time up to `most`, plus up to `jitter`."""

    first: float = 1.0
    most: float = 5.0
    jitter: float = 0.25

    def wait(self, attempt: int) -> float:
        return min(self.first * 2 ** (attempt - 1), self.most) + random.uniform(0, self.jitter)  # noqa: S311


@functools.cache
def tls_context() -> ssl.SSLContext:
    """What both of the process's HTTP clients verify servers with (httpx's default: certifi's
    CA bundle), made once: loading the bundle costs about 40 ms of CPU each time."""
    return httpx.create_ssl_context()


class BrowserUseClient:
    """One shared client for the whole process; create it once, close it at shutdown."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        requests_per_second: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry: RetryPolicy = RetryPolicy(),
    ):
        self._api_key = api_key
        # v4 (accurate mode) lives beside v2: `…/api/v2` → `…/api/v4`.
        root = base_url.rstrip("/")
        self._v4 = (root[: -len("/v2")] if root.endswith("/v2") else root) + "/v4/"
        self._sleep = sleep
        self.retry = retry
        self.budget = RequestBudget(requests_per_second)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={API_KEY_HEADER: api_key, "User-Agent": "browser-use-slack/0.1"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # The budget keeps few requests in flight, so the pool never queues many: httpcore's
            # pool costs O(queued x connections) CPU per change, which a burst made dominant.
            # Every connection is kept alive, so a burst does not churn TCP connections.
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            verify=tls_context(),
            transport=transport,
        )
        # Download links are presigned URLs on other hosts: they never get the API key.
        self._downloads = httpx.AsyncClient(
            timeout=httpx.Timeout(60.0, connect=10.0),
            follow_redirects=True,
            verify=tls_context(),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._downloads.aclose()

    async def create_task(self, request: CreateTaskRequest) -> TaskCreated:
        """`POST /tasks`. Billable and not idempotent: never re-sent after a timeout or a 5xx."""
        secrets = [s.get_secret_value() for s in (request.secrets or {}).values()]
        response = await self._request(
            "POST", "tasks", json=request.to_wire(), idempotent=False, secrets=secrets
        )
        return self._parse(response, TaskCreated)

    # --- one interface for both engines: v2 tasks and v4 runs (accurate mode) -------------------

    async def start(self, request: CreateTaskRequest) -> TaskCreated:
        """A task on the request's engine: `POST /tasks`, or v4's `POST /runs`."""
        if not request.accurate:
            created = await self.create_task(request)
            metrics.TASKS_STARTED.labels("v2").inc()
            return created
        secrets = [s.get_secret_value() for s in (request.secrets or {}).values()]
        try:
            response = await self._request(
                "POST",
                self._v4 + "runs",
                json=request.to_v4_wire(),
                idempotent=False,
                secrets=secrets,
            )
        except AuthError as exc:
            if exc.status != 403:
                raise
            # v4 answers 403 to a Zero-Data-Retention project (a bad key is a 401).
            raise InvalidRequestError(
                "accurate_unavailable", status=403, detail=exc.detail
            ) from None
        created = self._parse(response, TaskCreated)
        metrics.TASKS_STARTED.labels("v4").inc()
        return created

    async def read(
        self,
        task_id: str,
        engine: Engine = "v2",
        *,
        background: bool = False,
        priority: Priority = Priority.POLL,
    ) -> TaskView:
        """The task (a v4 run read as one: `RunView.as_task`)."""
        if engine == "v2":
            return await self.get_task(task_id, background=background, priority=priority)
        response = await self._request(
            "GET", f"{self._v4}runs/{_id(task_id)}", background=background, priority=priority
        )
        return self._parse(response, RunView).as_task()

    async def read_status(
        self, task_id: str, engine: Engine = "v2", *, background: bool = False
    ) -> TaskStatusView:
        if engine == "v2":
            return await self.get_task_status(task_id, background=background)
        response = await self._request(
            "GET", f"{self._v4}runs/{_id(task_id)}/status", background=background
        )
        status = self._parse(response, RunStatusView).status
        return TaskStatusView(id=task_id, status=V4_STATUS.get(status, "created"))

    async def stop(self, task_id: str, engine: Engine = "v2") -> None:
        """Stop a task (`PATCH /tasks/{id}`) or cancel a run (`POST /runs/{id}/cancel`, which
        Browser Use makes idempotent); either may be repeated."""
        if engine == "v2":
            await self.stop_task(task_id)
        else:
            await self._request("POST", f"{self._v4}runs/{_id(task_id)}/cancel")

    async def queue_message(self, session_id: str, text: str) -> str:
        """`POST /sessions/{id}/queue`: the next turn of a busy v4 session (at most 10 wait;
        the 11th is a 429). Its ID; the run it becomes is found with `queued_run`."""
        response = await self._request(
            "POST",
            f"{self._v4}sessions/{_id(session_id)}/queue",
            json={"text": text},
            idempotent=False,
        )
        return str(self._parse(response, QueuedMessageView).id)

    async def queued_run(self, session_id: str, message_id: str) -> tuple[str, str | None]:
        """A queued message's status (`pending`, `dispatching`, `consumed`, `cancelled`,
        `superseded`, `failed`) and the run it became, once it did."""
        response = await self._request(
            "GET", f"{self._v4}sessions/{_id(session_id)}/queue/{_id(message_id)}", background=True
        )
        queued = self._parse(response, QueuedMessageView)
        return queued.status, queued.run_id

    async def run_live_url(self, run_id: str) -> str | None:
        """A v4 run's live view: in its `browser.ready` event (a new browser) or, for a run in a
        session's kept browser, `browser.reattached` (its shape beyond the type: UNCONFIRMED, so
        either spelling of the link is taken); the latest wins. Events are read from the start, a
        page of 100; None until the browser is up."""
        response = await self._request(
            "GET", f"{self._v4}runs/{_id(run_id)}/events", params={"limit": 100}
        )
        found = None
        for event in self._parse(response, RunEvents).events:
            if event.type in ("browser.ready", "browser.reattached"):
                url = event.data.get("live_view_url") or event.data.get("liveViewUrl")
                found = str(url) if url else found
        return found

    async def get_task(
        self, task_id: str, *, background: bool = False, priority: Priority = Priority.POLL
    ) -> TaskView:
        """`GET /tasks/{id}`; a `background` read waits its turn by `priority`."""
        response = await self._request(
            "GET", f"tasks/{_id(task_id)}", background=background, priority=priority
        )
        return self._parse(response, TaskView)

    async def get_task_status(self, task_id: str, *, background: bool = False) -> TaskStatusView:
        return self._parse(
            await self._request("GET", f"tasks/{_id(task_id)}/status", background=background),
            TaskStatusView,
        )

    async def stop_task(self, task_id: str) -> TaskView:
        """`PATCH /tasks/{id}` with `stop`. Stopping twice does no harm, so it may be retried."""
        response = await self._request("PATCH", f"tasks/{_id(task_id)}", json={"action": "stop"})
        return self._parse(response, TaskView)

    async def list_tasks(
        self,
        *,
        status: str | None = None,
        after: str | None = None,
        page: int = 1,
        page_size: int = 100,
        background: bool = False,
        priority: Priority = Priority.POLL,
    ) -> TaskList:
        """`GET /tasks`: a page of the project's tasks (newest or oldest first: UNCONFIRMED)."""
        params: dict[str, Any] = {"pageNumber": page, "pageSize": page_size}
        if status:
            params["filterBy"] = status
        if after:
            params["after"] = after
        response = await self._request(
            "GET", "tasks", params=params, background=background, priority=priority
        )
        return self._parse(response, TaskList)

    async def find_task(
        self, since: datetime, matches: Callable[[TaskView], bool], *, max_pages: int = 5
    ) -> TaskView | None:
        """The newest task created after `since` that `matches`, or None (it does not exist)."""
        after = (since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in range(1, max_pages + 1):
            listing = await self.list_tasks(after=after, page=page)
            found = next((task for task in listing.items if matches(task)), None)
            if found is not None or page * listing.page_size >= listing.total_items:
                return found
        return None

    async def get_session(self, session_id: str, *, background: bool = False) -> SessionView:
        return self._parse(
            await self._request("GET", f"sessions/{_id(session_id)}", background=background),
            SessionView,
        )

    async def create_session(self, request: CreateSessionRequest) -> SessionView:
        """`POST /sessions`. Not idempotent (a browser costs money): never re-sent after a 5xx."""
        response = await self._request("POST", "sessions", json=request.to_wire(), idempotent=False)
        return self._parse(response, SessionView)

    async def stop_session(self, session_id: str) -> SessionView:
        """`PATCH /sessions/{id}` with `stop`: the browser and any task in it end."""
        response = await self._request(
            "PATCH", f"sessions/{_id(session_id)}", json={"action": "stop"}
        )
        return self._parse(response, SessionView)

    async def list_sessions(self, *, status: str = "active", page: int = 1) -> SessionList:
        """Read by the idle-session janitor only, so it always gives way to people's requests."""
        params = {"filterBy": status, "pageNumber": page, "pageSize": 100}
        response = await self._request("GET", "sessions", params=params, background=True)
        return self._parse(response, SessionList)

    async def get_profile(self, profile_id: str) -> ProfileView:
        """`GET /profiles/{id}`: a browser profile (saved logins); `NotFoundError` if unknown."""
        return self._parse(await self._request("GET", f"profiles/{_id(profile_id)}"), ProfileView)

    async def create_profile(self, request: CreateProfileRequest) -> ProfileView:
        """`POST /profiles`. Not idempotent (a second profile would be made): never re-sent."""
        response = await self._request("POST", "profiles", json=request.to_wire(), idempotent=False)
        return self._parse(response, ProfileView)

    async def rename_profile(self, profile_id: str, name: str) -> ProfileView:
        response = await self._request("PATCH", f"profiles/{_id(profile_id)}", json={"name": name})
        return self._parse(response, ProfileView)

    async def delete_profile(self, profile_id: str) -> None:
        """`DELETE /profiles/{id}`; one already gone counts as deleted."""
        with contextlib.suppress(NotFoundError):
            await self._request("DELETE", f"profiles/{_id(profile_id)}")

    async def upload_target(
        self, session_id: str, file_name: str, content_type: str, size: int
    ) -> UploadTarget:
        """`POST /files/sessions/{id}/presigned-url`: where a file for that session's browser
        goes. Asking twice only makes a second URL, so it may be retried."""
        body = {"fileName": file_name, "contentType": content_type, "sizeBytes": size}
        response = await self._request(
            "POST", f"files/sessions/{_id(session_id)}/presigned-url", json=body
        )
        return self._parse(response, UploadTarget)

    async def upload(self, target: UploadTarget, content: bytes, content_type: str) -> None:
        """The file, to its presigned URL at once (it lasts 120 s): a multipart POST with every
        field the answer gave, then the file, last, as S3 wants it. Never with the API key. How
        Browser Use wants the bytes sent is UNCONFIRMED (its docs' example posts them raw)."""
        try:
            response = await self._downloads.post(
                target.url,
                data=target.fields,
                files={"file": (target.file_name, content, content_type)},
            )
        except httpx.TimeoutException:
            raise UpstreamTimeout("upload_timeout") from None
        except httpx.TransportError as exc:
            raise NetworkError("upload_failed", detail=type(exc).__name__) from None
        if not response.is_success:
            raise ServerError("upload_refused", status=response.status_code)

    async def get_account(self) -> Account:
        return self._parse(await self._request("GET", "billing/account"), Account)

    async def share_session(self, session_id: str) -> ShareView:
        """A public watch link: created, or the existing one returned, so retrying is safe."""
        response = await self._request("POST", f"sessions/{_id(session_id)}/public-share")
        return self._parse(response, ShareView)

    async def get_output_file(self, task_id: str, file_id: str) -> OutputFileLink:
        path = f"files/tasks/{_id(task_id)}/output-files/{_id(file_id)}"
        return self._parse(await self._request("GET", path), OutputFileLink)

    async def download(self, url: str, max_bytes: int) -> bytes | None:
        """A presigned download, without the API key; None when it is larger than `max_bytes`."""
        try:
            async with self._downloads.stream("GET", url) as response:
                response.raise_for_status()
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return None
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPStatusError as exc:
            raise error_for_response(exc.response) from None
        except httpx.TimeoutException:
            raise UpstreamTimeout("download_timeout") from None
        except httpx.TransportError as exc:
            raise NetworkError("download_failed", detail=type(exc).__name__) from None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        secrets: Iterable[str] = (),
        background: bool = False,
        priority: Priority = Priority.POLL,
        **kw: Any,
    ) -> httpx.Response:
        """Send with the retry policy: a 429 with a short Retry-After for any method; 502, 503,
        504 and connection failures only where sending twice does no harm. `background` reads
        (polling) give way to requests a person is waiting for."""
        attempts = 3 if idempotent else 2
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            started = time.perf_counter()
            try:
                response = await self._send(
                    method,
                    path,
                    may_have_arrived=not idempotent,
                    background=background,
                    priority=priority,
                    **kw,
                )
            except (UpstreamTimeout, NetworkError):
                metrics.BROWSER_USE_REQUESTS.labels(method, resource_of(path), "error").inc()
                if not idempotent or last:
                    raise
                await self._sleep(self.retry.wait(attempt))
                continue
            answer = metrics.answer_of(response.status_code)
            metrics.BROWSER_USE_REQUESTS.labels(method, resource_of(path), answer).inc()
            log.info(
                "browser_use.request method=%s path=%s status=%s ms=%.0f attempt=%d",
                method,
                resource_of(path),
                response.status_code,
                (time.perf_counter() - started) * 1000,
                attempt,
            )
            if response.is_success:
                return response
            error = error_for_response(response, [*secrets, self._api_key])
            if not last:
                # A 429 means nothing was done, so one short wait and a retry is safe.
                if isinstance(error, RateLimitError) and error.retry_after is not None:
                    if error.retry_after <= MAX_RETRY_AFTER_SECONDS:
                        await self._sleep(error.retry_after)
                        continue
                elif idempotent and response.status_code in (502, 503, 504):
                    await self._sleep(self.retry.wait(attempt))
                    continue
            if isinstance(error, ServerError) and not idempotent:
                error.outcome_unknown = True
            raise error
        raise AssertionError("unreachable")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        may_have_arrived: bool,
        background: bool,
        priority: Priority = Priority.POLL,
        **kw: Any,
    ) -> httpx.Response:
        await self.budget.acquire(background=background, priority=priority)
        try:
            return await self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            error: BrowserUseError = UpstreamTimeout("timeout", detail=type(exc).__name__)
            # A connect or pool timeout means nothing was sent.
            error.outcome_unknown = may_have_arrived and not isinstance(
                exc, httpx.ConnectTimeout | httpx.PoolTimeout
            )
            raise error from None
        except httpx.TransportError as exc:
            error = NetworkError("network", detail=type(exc).__name__)
            error.outcome_unknown = may_have_arrived and not isinstance(exc, httpx.ConnectError)
            raise error from None

    @staticmethod
    def _parse(response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate(response.json())
        except ValueError:
            error = ServerError(
                "unreadable", status=response.status_code, detail=response.text[:200]
            )
            error.outcome_unknown = response.request.method == "POST"
            raise error from None


# Callers import the errors and the budget from here, beside the client they come from.
__all__ = [
    "API_KEY_HEADER",
    "AuthError",
    "BrowserUseClient",
    "BrowserUseError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "PaymentError",
    "Priority",
    "RateLimitError",
    "RequestBudget",
    "RetryPolicy",
    "ServerError",
    "error_detail",
    "error_for_response",
]
