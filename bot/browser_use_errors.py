"""What can go wrong with a Browser Use call, as data: a typed error per kind of answer, each
keeping the status, a code, the server's detail (stripped of secrets) and, for a 429, how long
to wait. What a person reads about each is `handlers.errors`'s to say."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import httpx

log = logging.getLogger(__name__)


DETAIL_MAX_CHARS = 500


class BrowserUseError(Exception):
    """A Browser Use call failed: what happened as data (`code`, `status`, the server's
    `detail`, already stripped of secrets). What a person reads is `handlers.errors`'s to say."""

    # True when the request may have reached Browser Use and a task may exist anyway.
    outcome_unknown = False
    # True when the app looked afterwards and no task had been created: safe to try again.
    not_created = False

    def __init__(self, code: str, *, status: int | None = None, detail: str | None = None):
        super().__init__(code)
        self.code = code
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        """For log lines: the code and the status, never the detail (it may quote a prompt)."""
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.code}{status}"


class AuthError(BrowserUseError):
    """401/403: the API key is missing, wrong or revoked."""


class PaymentError(BrowserUseError):
    """402: out of credits, or the key's monthly spend cap is reached."""


class InvalidRequestError(BrowserUseError):
    """400/422: Browser Use refused the request; `detail` says why."""


class NotFoundError(BrowserUseError):
    """404: no such task or session in this project."""


class RateLimitError(BrowserUseError):
    """429: too many concurrent sessions, or too many requests."""

    def __init__(self, code: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(code, **kw)
        self.retry_after = retry_after


class ServerError(BrowserUseError):
    """5xx, or an answer that is not the JSON the API documents."""


class UpstreamTimeout(BrowserUseError):
    """Browser Use did not answer in time."""


class NetworkError(BrowserUseError):
    """Browser Use could not be reached, or the connection broke."""


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # HTTP-date values are not worth honouring for a chat bot


def error_detail(body: Any) -> str | None:
    """The server's reason from any of the error shapes the API uses (see the API notes §6)."""
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"]
        if "detail" in body:
            return error_detail(body["detail"])
        if "msg" in body:  # a single ValidationError object {loc, msg, type}
            loc = ".".join(str(p) for p in body.get("loc", []) if p != "body")
            return f"{loc}: {body['msg']}" if loc else str(body["msg"])
        return None
    if isinstance(body, list):
        parts = [error_detail(item) for item in body]
        return "; ".join(p for p in parts if p) or None
    if isinstance(body, str):
        return body
    return None


def _redact(text: str | None, secrets: Iterable[str]) -> str | None:
    if text is None:
        return None
    for value in secrets:
        if value:
            text = text.replace(value, "[secret]")
    return text[:DETAIL_MAX_CHARS]


def error_for_response(response: httpx.Response, secrets: Iterable[str] = ()) -> BrowserUseError:
    """Map an HTTP error answer to a typed error, with the server's reason as its detail."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = response.text[:DETAIL_MAX_CHARS] or None
    detail = _redact(error_detail(body), secrets)
    inner = body.get("detail") if isinstance(body, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    kw: dict[str, Any] = {"status": status, "detail": detail}

    if status in (401, 403):
        return AuthError("bad_key", **kw)
    if status == 402:
        if code == "api_key_monthly_spend_limit_reached":
            return PaymentError("spend_cap", **kw)
        return PaymentError("out_of_credits", **kw)
    if status == 404:
        return NotFoundError("not_found", **kw)
    if status == 409:
        return InvalidRequestError("session_busy", **kw)
    if status == 400 and "running task" in (detail or "").lower():
        return InvalidRequestError("session_busy", **kw)
    if status in (400, 422):
        return InvalidRequestError("refused", **kw)
    if status == 429:
        retry_after = _retry_after(response)
        code = "concurrency" if "concurrent" in (detail or "").lower() else "rate_limited"
        return RateLimitError(code, retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError("server", **kw)
    return ServerError("unexpected_status", **kw)
