"""Browser Use webhook signatures, against the production signer's own test vectors."""

from __future__ import annotations

import json

import pytest

from bot.webhooks import WebhookRejected, sign, task_id_of, verify

# Known answers of Browser Use's own signer (synthetic data), as browser-use/sdk publishes them in
# scripts/fixtures/webhook-signatures.json: HMAC-SHA256 of "{timestamp}.{canonical JSON}", the
# JSON with sorted keys, no spaces and non-ASCII kept, so key order and unicode both count.
SECRET = "synthetic-docs-secret"
VECTORS = [
    (
        "ascii",
        '{"type": "session.status.update", "timestamp": "2026-09-09T12:00:00Z", "payload": '
        '{"session_id": "synthetic-session", "status": "idle"}}',
        "f59cc6ea939b61b0faffb4840f6072031de4c6432656847b3a2e6c97387fafa9",
    ),
    (
        "unicode",
        '{"type": "session.status.update", "timestamp": "2026-09-09T12:00:00Z", "payload": '
        '{"session_id": "synthetic-session", "output": "M\\u00fcnchen \\ud83c\\udf89", '
        '"\\ud800\\udc00": "high", "\\ue000": "low"}}',
        "4b3070fd50a528876c8afdde17504394057971443340f29a76b2156934f38997",
    ),
    (
        "nested_numeric_keys_and_floats",
        '{"type": "session.status.update", "timestamp": "2026-09-09T12:00:00Z", "payload": '
        '{"session_id": "synthetic-session", "metadata": {"2": 2, "10": 10, "1": 1, "nested": '
        '[1.0, 1e-07, 1e+20, {"city": "\\u6771\\u4eac"}]}}}',
        "b50ee1407ae9bbeea542ae102dfe4849dca2bcce8e743706c3dfa8b22be91e8b",
    ),
]
TIMESTAMP = "1788955200"


@pytest.mark.parametrize(("name", "body", "signature"), VECTORS)
def test_every_published_vector_verifies(name: str, body: str, signature: str) -> None:
    event = verify(SECRET, body.encode(), signature, TIMESTAMP, now=int(TIMESTAMP))
    assert event == json.loads(body), name
    assert sign(SECRET, TIMESTAMP, json.loads(body)) == signature


def test_whitespace_and_key_order_do_not_matter_but_content_does() -> None:
    _, body, signature = VECTORS[0]
    event = json.loads(body)
    reordered = json.dumps(dict(reversed(list(event.items()))), indent=4).encode()
    now = int(TIMESTAMP)
    assert verify(SECRET, reordered, signature, TIMESTAMP, now=now) == event
    event["payload"]["status"] = "finished"
    with pytest.raises(WebhookRejected):
        verify(SECRET, json.dumps(event).encode(), signature, TIMESTAMP, now=now)


@pytest.mark.parametrize("timestamp", ["", "NaN", "1e9", "0", "-5", " 100", "１２３"])
def test_timestamps_that_are_not_fresh_unix_seconds_fail_closed(timestamp: str) -> None:
    body = b'{"type":"test"}'
    with pytest.raises(WebhookRejected):
        verify("s", body, sign("s", timestamp, {"type": "test"}), timestamp, now=1_000_000)


def test_the_five_minute_window() -> None:
    body, ts = b'{"type":"test"}', "1000000"
    signature = sign("s", ts, {"type": "test"})
    assert verify("s", body, signature, ts, now=1_000_300) == {"type": "test"}
    with pytest.raises(WebhookRejected, match="stale"):
        verify("s", body, signature, ts, now=1_000_301)


def test_missing_headers_and_bad_json() -> None:
    with pytest.raises(WebhookRejected):
        verify("s", b"{}", None, "1", now=1)
    with pytest.raises(WebhookRejected) as caught:
        verify("s", b"{nope", "00", "1", now=1)
    assert caught.value.status == 400


def test_task_id_from_snake_or_camel_payloads() -> None:
    assert task_id_of({"payload": {"task_id": "t1"}}) == "t1"
    assert task_id_of({"payload": {"taskId": "t2"}}) == "t2"
    assert task_id_of({"type": "test", "payload": {"test": "ok"}}) is None
