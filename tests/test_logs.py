"""The log's two formats: a line of text, or one JSON object a line; secrets masked in both,
tracebacks included."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import JsonFormatter, TextFormatter
from bot.redact import MASK, hide

TOKEN = "xoxb-1234567890-abcdefghij"
LIVE_VIEW = "https://live.browser-use.com/?wss=secret-session-4711"


def record(message: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.LogRecord("bot.tracker", logging.INFO, __file__, 1, message, args, exc_info)


def failure() -> BaseException:
    try:
        raise RuntimeError(f"Slack refused {TOKEN} at {LIVE_VIEW}")
    except RuntimeError as exc:
        return exc


def test_an_event_and_its_fields_become_keys_beside_the_whole_line() -> None:
    line = JsonFormatter().format(
        record("task.finished task_id=%s session_id=%s", "t-1", "s-1"),
    )
    parsed = json.loads(line)
    assert parsed["event"] == "task.finished"
    assert (parsed["task_id"], parsed["session_id"]) == ("t-1", "s-1")
    assert parsed["level"] == "INFO" and parsed["logger"] == "bot.tracker"
    assert parsed["message"] == "task.finished task_id=t-1 session_id=s-1"
    assert parsed["time"].endswith("+00:00")
    assert "\n" not in line


def test_a_line_that_is_not_an_event_is_kept_whole() -> None:
    parsed = json.loads(JsonFormatter().format(record("listening on port %d", 3000)))
    assert "event" not in parsed and parsed["message"] == "listening on port 3000"


def test_a_field_cannot_overwrite_the_lines_own_keys() -> None:
    parsed = json.loads(JsonFormatter().format(record("slack.request level=x user=U1")))
    assert parsed["level"] == "INFO" and parsed["user"] == "U1"


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_secrets_are_masked_in_the_message_and_the_traceback(
    formatter: logging.Formatter,
) -> None:
    hide(LIVE_VIEW)
    line = formatter.format(record("slack.failed token=%s", TOKEN, error=failure()))
    assert TOKEN not in line and LIVE_VIEW not in line
    assert MASK in line and "RuntimeError" in line  # the traceback is there, masked
    if isinstance(formatter, JsonFormatter):
        parsed = json.loads(line)
        assert "Traceback" in parsed["exception"] and parsed["token"] == MASK


def test_a_workflow_steps_execution_token_is_masked_too() -> None:
    token = "xwfp-7412893-3a9f0c2b1d"
    line = TextFormatter().format(record("workflow.step token=%s", token))
    assert token not in line and MASK in line


def test_a_workspaces_credentials_never_show_their_token_or_key() -> None:
    from bot.workspaces import Credentials

    credentials = Credentials("T1", "xoxb-123-abcdefghijk", "bu_secretkey123", {"bot_token": "x"})
    shown = repr(credentials) + str(credentials)
    assert "xoxb-123" not in shown and "bu_secret" not in shown and "T1" in shown
