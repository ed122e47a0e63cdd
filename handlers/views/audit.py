"""The audit trail as a CSV file an admin opens in a spreadsheet: one row an event, the time in
UTC, and every value a cell of its own (a spreadsheet formula in a value is defused)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from bot.store import AuditEvent

COLUMNS = ("time_utc", "person", "action", "channel", "task_id", "login", "cost_usd", "detail")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula is one in Excel and Sheets: shown as text instead.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def audit_csv(events: list[AuditEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in events:
        when = datetime.fromtimestamp(e.at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        cost = f"{e.cost:.4f}" if e.cost is not None else ""
        row = (when, e.actor, e.action, e.channel, e.task_id, e.login, cost, e.detail)
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")
