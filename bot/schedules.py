"""When a recurring task runs: the phrases people type, and the next run after a moment.

Pure: no clock of its own and no I/O, so every rule (time zones, daylight-saving days) is tested
with fixed moments. Times are in the person's own time zone (Slack's `users.info` → `tz`).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ACCEPTED = (
    "`every 30 minutes`, `every 2 hours`, `hourly`, `every day at 8am`, `daily at 18:30`, "
    "`every weekday at 9:00`, `every monday 14:30`, `every week on friday at 5pm`"
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|pm)?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern + r"(?:\s+|$)", re.IGNORECASE))
    for kind, pattern in (
        ("interval", r"^every\s+(?P<count>\d+)\s+(?P<unit>minutes?|mins?|hours?|hrs?)"),
        ("hourly", r"^(?:hourly|every\s+hour)"),
        ("daily", rf"^(?:every\s+day|daily)\s+(?:at\s+)?{_TIME}"),
        ("weekdays", rf"^every\s+weekday\s+(?:at\s+)?{_TIME}"),
        (
            "weekly",
            rf"^every\s+(?:week\s+on\s+)?(?P<day>{'|'.join(DAYS)})s?\s+(?:at\s+)?{_TIME}",
        ),
    )
)


# Words after "every" that mean a time, understood or not ("every fortnight" is an error that
# shows the accepted forms; "every product on this page …" is a task).
_TIMING_WORDS = frozenset(
    {"minute", "min", "hour", "hr", "day", "weekday", "week", "weekend", "fortnight", "month"}
    | {"year", "morning", "evening", "night", "other", *DAYS}
)


def _looks_like_timing(words: list[str]) -> bool:
    if words[0] != "every":
        return words[0] == "hourly" or (
            len(words) > 1 and (words[1] == "at" or words[1][0].isdigit())
        )
    after = words[1] if len(words) > 1 else ""
    if after[:1].isdigit() or after.rstrip("s") in _TIMING_WORDS or after in _TIMING_WORDS:
        return True
    # "every moonday at 9": a day Slack's autocorrect missed is still a time.
    return any(w == "at" and n[:1].isdigit() for w, n in itertools.pairwise(words[2:5]))


class RepeatError(ValueError):
    """A phrase this app does not take; the message shows the ones it does."""


@dataclass(frozen=True)
class Repeat:
    """How often a task runs: every `every` seconds, or at `hour:minute` local time on every
    day, every weekday, or one `weekday` (0 is Monday), in `tz`."""

    kind: Literal["interval", "daily", "weekdays", "weekly"]
    tz: str = "UTC"
    every: int = 0
    hour: int = 0
    minute: int = 0
    weekday: int | None = None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, raw: str) -> Repeat:
        return cls(**json.loads(raw))

    @property
    def period(self) -> timedelta:
        """About how long between two runs (a run later than this is skipped, not made up)."""
        if self.kind == "interval":
            return timedelta(seconds=self.every)
        return timedelta(days=7 if self.kind == "weekly" else 1)

    def describe(self) -> str:
        if self.kind == "interval":
            minutes = self.every // 60
            if minutes % 60 == 0:
                hours = minutes // 60
                return "every hour" if hours == 1 else f"every {hours} hours"
            return f"every {minutes} minutes"
        at = f"{self.hour:02d}:{self.minute:02d} ({self.tz})"
        if self.kind == "daily":
            return f"every day at {at}"
        if self.kind == "weekdays":
            return f"every weekday at {at}"
        return f"every {DAYS[self.weekday or 0].capitalize()} at {at}"

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after `moment` (aware), in UTC."""
        if self.kind == "interval":
            return (moment + timedelta(seconds=self.every)).astimezone(timezone.utc)
        zone = ZoneInfo(self.tz)
        day = moment.astimezone(zone).date()
        for offset in range(0, 9):
            candidate_day = day + timedelta(days=offset)
            if not self._runs_on(candidate_day):
                continue
            # A wall time that does not exist (clocks go forward) runs an hour later; one that
            # happens twice (clocks go back) runs the first time.
            local = datetime.combine(candidate_day, time(self.hour, self.minute), tzinfo=zone)
            candidate = local.astimezone(timezone.utc)
            if candidate > moment:
                return candidate
        raise AssertionError("a run is always within 8 days")  # pragma: no cover

    def _runs_on(self, day: date) -> bool:
        if self.kind == "weekdays":
            return day.weekday() < 5
        if self.kind == "weekly":
            return day.weekday() == self.weekday
        return True


def parse_repeat(text: str, tz: str, min_minutes: int) -> tuple[Repeat, str] | None:
    """(the repeat a phrase at the start of `text` asks for, the rest of `text`), or None when
    `text` does not start with a repeat. Raises `RepeatError` for one that is not understood."""
    stripped = text.strip()
    words = stripped.lower().split()
    if not words or words[0] not in ("every", "hourly", "daily") or not _looks_like_timing(words):
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        tz = "UTC"
    for kind, pattern in _PATTERNS:
        match = pattern.match(stripped)
        if match is None:
            continue
        rest = stripped[match.end() :].strip()
        repeat = _build(kind, match, tz)
        if repeat.kind == "interval" and repeat.every < min_minutes * 60:
            raise RepeatError(f"A task can repeat at most every {min_minutes} minutes here.")
        return repeat, rest
    raise RepeatError(f"I don't understand when to repeat it. Say it like {ACCEPTED}.")


def _build(kind: str, match: re.Match[str], tz: str) -> Repeat:
    if kind == "hourly":
        return Repeat("interval", tz=tz, every=3600)
    if kind == "interval":
        count = int(match["count"])
        unit = 3600 if match["unit"].lower().startswith("h") else 60
        if count < 1:
            raise RepeatError(f"Repeat at least every minute. Say it like {ACCEPTED}.")
        return Repeat("interval", tz=tz, every=count * unit)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    half = (match["half"] or "").lower()
    if half and not 1 <= hour <= 12:
        raise RepeatError(f"`{match['hour']}{half}` is not a time of day.")
    if half:
        hour = hour % 12 + (12 if half == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RepeatError(f"`{match['hour']}:{match['minute'] or '00'}` is not a time of day.")
    weekday = DAYS.index(match["day"].lower()) if kind == "weekly" else None
    return Repeat(kind, tz=tz, hour=hour, minute=minute, weekday=weekday)  # type: ignore[arg-type]
