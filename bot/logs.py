"""How the process logs: a line of text (`LOG_FORMAT=text`, the default), or one JSON object a
line (`LOG_FORMAT=json`) for a platform's log search; either way every secret masked
(`bot.redact`), tracebacks included.

The app's own lines are an event and its fields (`task.finished task_id=… session_id=…`): in JSON
they become `"event"` and one key each, beside the whole line as `"message"`, so a search by
field works without parsing the text again.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

from bot.redact import install, masked

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# `event.name` first, then `key=value` pairs (a value runs to the next space).
_EVENT = re.compile(r"^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\b")
_FIELD = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)=(\S+)")
# Keys a field may not take over.
_RESERVED = frozenset({"time", "level", "logger", "event", "message", "exception"})


class TextFormatter(logging.Formatter):
    """Today's line, masked whole: a traceback's text too."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, event and its fields, the
    message, and the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        message = masked(record.getMessage())
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        event = _EVENT.match(message)
        if event:
            line["event"] = event.group(1)
            for key, value in _FIELD.findall(message[event.end() :]):
                if key not in _RESERVED:
                    line.setdefault(key, value.rstrip(":,;"))
        line["message"] = message
        if record.exc_info:
            line["exception"] = masked(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = masked(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """The root logger's one handler (standard error), its format and the masking filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # A live view link is masked in every log line, whichever library logs it.
    install()
    if level != "DEBUG":
        # httpx logs every URL at INFO, presigned download links (credentials) included.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its values at DEBUG, a workflow token among them.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # httpcore traces each step of every HTTP request at DEBUG (ten lines a request), which
    # buried the app's, Bolt's and the Slack SDK's own DEBUG lines; httpx's line per request
    # (its URL and status) stays.
    logging.getLogger("httpcore").setLevel(logging.INFO)
