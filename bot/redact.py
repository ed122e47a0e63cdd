"""Strings that must never reach a log line (a login browser's live view link: whoever has it
controls a browser logged in as someone), masked wherever a library logs them.

`hide(value)` marks a value as it enters the process; the filter `install()` puts on the log
handlers replaces it in every record (the Slack SDK logs request bodies at DEBUG, httpx logs
URLs at DEBUG), so no code path has to remember.
"""

from __future__ import annotations

import logging
from collections import deque

MASK = "[hidden]"
_HIDDEN: deque[str] = deque(maxlen=256)  # live views open at once, by far


def hide(value: str) -> str:
    """Mark `value` as never to be logged; returns it, for use in place."""
    if value and value not in _HIDDEN:
        _HIDDEN.append(value)
    return value


def masked(text: str) -> str:
    for value in _HIDDEN:
        if value in text:
            text = text.replace(value, MASK)
    return text


class HiddenFilter(logging.Filter):
    """Replaces every hidden value in a record's message (its arguments formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _HIDDEN:
            message = record.getMessage()
            cleaned = masked(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """On every handler of the root logger (where every library's records end up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, HiddenFilter) for f in handler.filters):
            handler.addFilter(HiddenFilter())
