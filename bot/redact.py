"""Strings that must never reach a log line (a login browser's live view link: whoever has it
controls a browser logged in as someone; a Slack token; a Browser Use key), masked wherever a
library logs them.

`hide(value)` marks a value as it enters the process; the filter `install()` puts on the log
handlers replaces it in every record (the Slack SDK logs request bodies at DEBUG, httpx logs
URLs at DEBUG), so no code path has to remember. Slack tokens and Browser Use keys are masked
by their shape too: with many workspaces they arrive in answers the Slack SDK logs before the
app sees them (`oauth.v2.access`), and in forms.
"""

from __future__ import annotations

import logging
import re
from collections import deque

MASK = "[hidden]"
_HIDDEN: deque[str] = deque(maxlen=256)  # live views open at once, by far
# Slack's tokens (bot, user, app, refresh, rotating, a workflow step's execution token) and
# Browser Use's API keys.
SECRET_SHAPES = re.compile(
    r"\bxox[a-z]-[A-Za-z0-9.-]{8,}|\bxapp-[A-Za-z0-9-]{8,}|\bxwfp-[A-Za-z0-9.-]{8,}"
    r"|\bbu_[A-Za-z0-9_-]{8,}"
)


def hide(value: str) -> str:
    """Mark `value` as never to be logged; returns it, for use in place."""
    if value and value not in _HIDDEN:
        _HIDDEN.append(value)
    return value


def masked(text: str) -> str:
    for value in _HIDDEN:
        if value in text:
            text = text.replace(value, MASK)
    return SECRET_SHAPES.sub(MASK, text)


class HiddenFilter(logging.Filter):
    """Replaces every hidden value, and anything shaped like a token or key, in a record's
    message (its arguments formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
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
