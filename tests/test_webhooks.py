"""Browser Use webhook signatures, against the production signer's own test vectors."""

from __future__ import annotations

import json

import pytest

from bot.webhooks import WebhookRejected, sign, task_id_of, verify
from tests.reference import WEBHOOK_VECTORS, require


def vectors() -> dict:
    return json.loads(require(WEBHOOK_VECTORS).read_text())


def test_every_published_vector_verifies() -> None:
    data = vectors()
    for vector in data["vectors"]:
        body = vector["body"].encode()
        event = verify(
            data["secret"],
            body,
            vector["signature"],
            vector["timestamp"],
            now=int(vector["timestamp"]),
        )
        assert event == json.loads(body), vector["name"]
        assert sign(data["secret"], vector["timestamp"], json.loads(body)) == vector["signature"]


def test_whitespace_and_key_order_do_not_matter_but_content_does() -> None:
    data = vectors()
    vector = data["vectors"][0]
    event = json.loads(vector["body"])
    reordered = json.dumps(dict(reversed(list(event.items()))), indent=4).encode()
    ts = vector["timestamp"]
    assert verify(data["secret"], reordered, vector["signature"], ts, now=int(ts)) == event
    event["payload"]["status"] = "finished"
    with pytest.raises(WebhookRejected):
        verify(data["secret"], json.dumps(event).encode(), vector["signature"], ts, now=int(ts))


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
