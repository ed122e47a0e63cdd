"""Repeat phrases and the next run, in time zones and across daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.schedules import Repeat, RepeatError, parse_repeat

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "expected", "rest"),
    [
        ("every 30 minutes check it", Repeat("interval", tz=BERLIN, every=1800), "check it"),
        ("every 2 hours check it", Repeat("interval", tz=BERLIN, every=7200), "check it"),
        ("hourly check it", Repeat("interval", tz=BERLIN, every=3600), "check it"),
        ("every hour check it", Repeat("interval", tz=BERLIN, every=3600), "check it"),
        ("every day at 8am check it", Repeat("daily", tz=BERLIN, hour=8), "check it"),
        ("daily at 18:30 check it", Repeat("daily", tz=BERLIN, hour=18, minute=30), "check it"),
        ("every day 12pm x", Repeat("daily", tz=BERLIN, hour=12), "x"),
        ("every day 12am x", Repeat("daily", tz=BERLIN, hour=0), "x"),
        (
            "every weekday at 9:00 Check the price",
            Repeat("weekdays", tz=BERLIN, hour=9),
            "Check the price",
        ),
        ("every monday 14:30 x", Repeat("weekly", tz=BERLIN, hour=14, minute=30, weekday=0), "x"),
        ("Every Friday at 5pm x", Repeat("weekly", tz=BERLIN, hour=17, weekday=4), "x"),
        ("every week on sunday at 7 x", Repeat("weekly", tz=BERLIN, hour=7, weekday=6), "x"),
    ],
)
def test_accepted_phrases(text: str, expected: Repeat, rest: str) -> None:
    assert parse_repeat(text, BERLIN, 15) == (expected, rest)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("every 5 minutes x", "at most every 15 minutes"),
        ("every fortnight x", "Say it like"),
        ("every day at 25:00 x", "is not a time of day"),
        ("every day at 13pm x", "is not a time of day"),
        ("every moonday at 9 x", "Say it like"),
    ],
)
def test_refused_phrases_show_the_accepted_forms(text: str, complaint: str) -> None:
    with pytest.raises(RepeatError, match=complaint):
        parse_repeat(text, BERLIN, 15)


def test_a_task_that_does_not_start_with_a_repeat_is_not_one() -> None:
    assert parse_repeat("Check the price every day", BERLIN, 15) is None
    assert parse_repeat("everything about Lisbon", BERLIN, 15) is None
    assert parse_repeat("every product on this page: list its price", BERLIN, 15) is None
    assert parse_repeat("daily standup notes: summarise them", BERLIN, 15) is None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_the_next_run_is_in_the_persons_time_zone() -> None:
    daily = Repeat("daily", tz=BERLIN, hour=9)
    # 06:00 UTC on a winter day is 07:00 in Berlin: today at 09:00 Berlin, 08:00 UTC.
    assert daily.next_after(utc(2026, 12, 1, 6)) == utc(2026, 12, 1, 8)
    assert daily.next_after(utc(2026, 12, 1, 8)) == utc(2026, 12, 2, 8)
    summer = daily.next_after(utc(2026, 7, 1, 6))
    assert summer == utc(2026, 7, 1, 7)  # UTC+2 in summer


def test_weekdays_skip_the_weekend_and_weekly_waits_for_its_day() -> None:
    weekdays = Repeat("weekdays", tz="UTC", hour=9)
    friday_after = utc(2026, 12, 4, 10)  # a Friday, after 09:00
    assert weekdays.next_after(friday_after) == utc(2026, 12, 7, 9)  # Monday
    weekly = Repeat("weekly", tz="UTC", hour=9, weekday=2)  # Wednesdays
    assert weekly.next_after(friday_after) == utc(2026, 12, 9, 9)


def test_daylight_saving_days() -> None:
    daily = Repeat("daily", tz=BERLIN, hour=2, minute=30)
    # 2027-03-28: Berlin's clocks go from 02:00 to 03:00; 02:30 does not exist: runs at 03:30.
    spring = daily.next_after(utc(2027, 3, 27, 12))
    assert spring == utc(2027, 3, 28, 1, 30)
    # 2026-10-25: 02:30 happens twice; it runs once, the first time (UTC+2).
    autumn = daily.next_after(utc(2026, 10, 24, 12))
    assert autumn == utc(2026, 10, 25, 0, 30)
    assert daily.next_after(autumn) == utc(2026, 10, 26, 1, 30)  # UTC+1 after the change
    nine = Repeat("daily", tz=BERLIN, hour=9)
    assert nine.next_after(utc(2027, 3, 27, 12)) == utc(2027, 3, 28, 7)  # 09:00 UTC+2


def test_an_unknown_time_zone_counts_as_utc() -> None:
    repeat, _ = parse_repeat("every day at 9 x", "Mars/Olympus", 15) or (None, "")
    assert repeat is not None and repeat.tz == "UTC"
    assert repeat.describe() == "every day at 09:00 (UTC)"
