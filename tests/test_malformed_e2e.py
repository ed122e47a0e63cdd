"""Signed but malformed requests get a 4xx and one log line, never a 500 or a traceback.

Real Slack sends odd shapes too (a message shortcut on a message with only a file, a click on a
message that has changed since); a forged body with a leaked signing secret sends anything.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app_process import LOOPBACK, AppProcess
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.slack import TEAM_ID
from tests.slack_requests import SlackSender, event_body, signed_headers

USER = {"id": "U123", "username": "ada", "team_id": TEAM_ID}
CHANNEL = {"id": "C123", "name": "general"}
TASK_ID = str(uuid.uuid4())


def button(action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": USER,
        "channel": CHANNEL,
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/response",
        "message": {"ts": "1700000001.000100", "thread_ts": "1700000000.000100", "text": "x"},
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
    }


FOLLOW_UP = json.dumps({"text": "go on", "user": "U123", "ts": "1.1", "session": TASK_ID})
# A valid payload of each kind, and the paths in it the app cannot do without.
INTERACTIVE: dict[str, tuple[dict[str, Any], list[tuple[str, ...]]]] = {
    "stop": (button("stop_task", TASK_ID), [("user",), ("channel",), ("actions",)]),
    "share": (button("share_session", TASK_ID), [("user", "id"), ("channel", "id")]),
    "live": (button("live_view", TASK_ID), [("actions", 0, "action_id"), ("user",)]),
    "close": (button("close_session", TASK_ID), [("channel",), ("user", "id")]),
    "queue": (button("queue_follow_up", FOLLOW_UP), [("channel",), ("user",)]),
    "pause schedule": (button("schedule_pause", "1"), [("user",), ("actions",)]),
    "more options": (
        {
            "type": "block_actions",
            "user": USER,
            "view": {"id": "V1", "type": "modal", "private_metadata": "{}"},
            "actions": [{"action_id": "task_form_more_options", "type": "button"}],
        },
        [("view",), ("user",)],
    ),
    "form": (
        {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": USER,
            "view": {
                "id": "V2",
                "type": "modal",
                "callback_id": "task_form",
                "private_metadata": json.dumps({"channel_id": "C123"}),
                "state": {
                    "values": {"task": {"value": {"type": "plain_text_input", "value": "x"}}}
                },
            },
        },
        [("view",), ("view", "id"), ("view", "state"), ("user",), ("user", "id")],
    ),
    "message shortcut": (
        {
            "type": "message_action",
            "callback_id": "run_in_browser",
            "trigger_id": "1.2.3",
            "user": USER,
            "channel": CHANNEL,
            "message": {"ts": "1.1", "text": "Buy it"},
        },
        [("channel",), ("trigger_id",), ("user",), ("message",)],
    ),
    "global shortcut": (
        {
            "type": "shortcut",
            "callback_id": "new_browser_task",
            "trigger_id": "1.2.3",
            "user": USER,
        },
        [("trigger_id",), ("user",)],
    ),
}
MENTION = {
    "type": "app_mention",
    "user": "U42",
    "text": "<@UBOT> find flights",
    "ts": "1700000000.000200",
    "channel": "C77",
    "event_ts": "1700000000.000200",
}
EVENT_PATHS = [("channel",), ("ts",)]
COMMAND_FIELDS = ["command", "user_id", "channel_id", "trigger_id"]
NOT_A_STRING = [5, [1], True, None, {"id": 1}]


def broken(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of `payload` with `path` removed (`value` is ...) or set to `value`."""
    copied = copy.deepcopy(payload)
    target = copied
    for part in path[:-1]:
        target = target[part]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied


def interactive_body(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, str, str]:
    """(what, body, content type) of a signed request the app cannot act on."""
    kind = draw(st.sampled_from(["interactive", "mangled button", "truncated", "command", "event"]))
    if kind == "interactive":
        name = draw(st.sampled_from(sorted(INTERACTIVE)))
        payload, paths = INTERACTIVE[name]
        path = draw(st.sampled_from(paths))
        value = draw(st.sampled_from([..., *NOT_A_STRING]))
        return f"{name} {path}={value!r}", interactive_body(broken(payload, path, value)), "form"
    if kind == "mangled button":
        name = draw(st.sampled_from(["stop", "share", "live", "close", "queue", "pause schedule"]))
        valid = str.isdigit if name == "pause schedule" else _is_uuid
        value = draw(st.text(max_size=80).filter(lambda v: not valid(v)))
        payload = broken(INTERACTIVE[name][0], ("actions", 0, "value"), value)
        return f"{name} value={value!r}", interactive_body(payload), "form"
    if kind == "truncated":
        name = draw(st.sampled_from(sorted(INTERACTIVE)))
        raw = json.dumps(INTERACTIVE[name][0])
        cut = draw(st.integers(1, len(raw) - 1))
        return f"{name} cut at {cut}", urlencode({"payload": raw[:cut]}), "form"
    if kind == "command":
        fields = {
            "team_id": TEAM_ID,
            "channel_id": "C123",
            "user_id": "U123",
            "command": "/browser-use",
            "text": "Find flights",
            "trigger_id": "1.2.3",
            "response_url": "http://127.0.0.1:9/response",
        }
        gone = draw(st.lists(st.sampled_from(COMMAND_FIELDS), min_size=1, unique=True))
        kept = {k: v for k, v in fields.items() if k not in gone}
        return f"command without {gone}", urlencode(kept), "form"
    path = draw(st.sampled_from(EVENT_PATHS))
    value = draw(st.sampled_from([..., *NOT_A_STRING]))
    if draw(st.booleans()):
        body = event_body(broken(MENTION, path, value))
    else:
        body = json.dumps({"type": "event_callback", "event": draw(st.sampled_from([5, "x", []]))})
    return f"event {path}={value!r}", body, "json"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=malformed())
def test_a_malformed_signed_request_gets_a_4xx_and_no_traceback(
    app: AppProcess, sender: SlackSender, browser_use: FakeBrowserUse, request: tuple[str, str, str]
) -> None:
    what, body, kind = request
    content_type = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
    logged = len(app.logs())
    response = sender.post(body, signed_headers(body, content_type=content_type))
    assert 400 <= response.status_code < 500, f"{what}: HTTP {response.status_code}"
    new_log = app.logs()[logged:]
    assert "Traceback" not in new_log, f"{what}:\n{new_log}"
    assert browser_use.create_calls == 0
    assert LOOPBACK.get(f"{app.url}/healthz").status_code == 200


def test_an_unsigned_body_is_refused_before_it_is_read(
    app: AppProcess, sender: SlackSender
) -> None:
    body = interactive_body({"type": "block_actions", "user": 5})
    logged = len(app.logs())
    response = sender.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401
    assert "slack.malformed" not in app.logs()[logged:]


def test_each_valid_payload_above_is_acted_on(app: AppProcess, sender: SlackSender) -> None:
    """The broken payloads break what matters: the same payloads whole are answered 200."""
    for name, (payload, _) in INTERACTIVE.items():
        response = sender.interactive(payload)
        assert response.status_code == 200, name
    assert sender.event(MENTION).status_code == 200
    assert sender.command("Find flights").status_code == 200


def test_every_break_in_the_table_is_refused_at_the_door() -> None:
    """All of the property test's breaks, each one, not a sample: the shape check refuses it."""
    from handlers.payloads import problem

    for name, (payload, paths) in INTERACTIVE.items():
        assert problem(payload) is None, name
        for path in paths:
            for value in [..., *NOT_A_STRING]:
                assert problem(broken(payload, path, value)), (name, path, value)
    for path in EVENT_PATHS:
        for value in [..., *NOT_A_STRING]:
            body = {"type": "event_callback", "event": broken(MENTION, path, value)}
            assert problem(body), (path, value)
    for value in ["", "1; drop", "-1", "1.5", "x" * 30]:
        mangled = broken(INTERACTIVE["pause schedule"][0], ("actions", 0, "value"), value)
        assert problem(mangled), value


def test_a_body_that_is_not_utf8_gets_400(app: AppProcess, sender: SlackSender) -> None:
    body = b"payload=%7B%22type%22%3A\xff\xfe"
    headers = signed_headers(body.decode("latin-1"))  # whatever its signature, it is not text
    response = sender.http.post(f"{app.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 400
    assert "Traceback" not in app.logs()[-3000:]


def test_shapes_bolt_itself_would_raise_on_get_a_4xx_and_no_traceback(
    app: AppProcess, sender: SlackSender
) -> None:
    """Bolt reads a closed view's callback ID and a suggestion's action ID before any listener
    runs: a `view` of null or an `action_id` that is a list was a 500 and a traceback."""
    for payload in (
        {"type": "view_closed", "user": USER, "team": {"id": TEAM_ID}, "view": None},
        {"type": "block_suggestion", "user": USER, "action_id": ["a"], "value": "x"},
    ):
        logged = len(app.logs())
        response = sender.interactive(payload)
        assert 400 <= response.status_code < 500, (payload["type"], response.status_code)
        assert "Traceback" not in app.logs()[logged:]
