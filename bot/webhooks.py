"""Browser Use webhook signatures: HMAC-SHA256 over the re-serialised JSON, with a time window.

The signer hashes `f"{timestamp}.{canonical}"` where `canonical` is the payload re-serialised with
sorted keys, no spaces and ASCII escapes (Python's `json.dumps` defaults), so whitespace and key
order on the wire do not matter. See ../shared/reference/browser-use-api-notes.md §8.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNATURE_HEADER = "X-Browser-Use-Signature"
TIMESTAMP_HEADER = "X-Browser-Use-Timestamp"
TOLERANCE_SECONDS = 300


class WebhookRejected(Exception):
    """Not a genuine, fresh webhook. `status` is the HTTP answer (400 or 401)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.status = status


def canonical(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def sign(secret: str, timestamp: str, payload: Any) -> str:
    message = f"{timestamp}.{canonical(payload)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """The event, if `body` is signed with `secret` within the window; else `WebhookRejected`."""
    if not signature or not timestamp:
        raise WebhookRejected("missing signature headers")
    # Unix seconds only: '', 'NaN', '1e9' and the like fail closed.
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookRejected("malformed timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookRejected("stale timestamp")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("malformed JSON", status=400) from None
    if not hmac.compare_digest(sign(secret, timestamp, payload), signature.strip().lower()):
        raise WebhookRejected("bad signature")
    if not isinstance(payload, dict):
        raise WebhookRejected("not an event object", status=400)
    return payload


def task_id_of(event: dict[str, Any]) -> str | None:
    """The task an event is about (payloads are snake_case; tolerate camelCase too)."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return None
    task_id = payload.get("task_id") or payload.get("taskId")
    return str(task_id) if task_id else None
