from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sokhan.runtime.cron import CronError, CronExpression


def nxt(expr: str, after: datetime, tz: str = "UTC") -> datetime:
    return CronExpression.parse(expr).next_after(after, ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_fields_lists_ranges_steps_and_names() -> None:
    cron = CronExpression.parse("*/15 9-17/4 1,15 jan-mar MON-fri")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {9, 13, 17}
    assert cron.days == {1, 15}
    assert cron.months == {1, 2, 3}
    assert cron.weekdays == {1, 2, 3, 4, 5}
    assert CronExpression.parse("0 0 * * 7").weekdays == {0}  # 7 is Sunday too
    assert CronExpression.parse("5/20 * * * *").minutes == {5, 25, 45}
    daily = CronExpression.parse("@daily")
    assert (daily.minutes, daily.hours, daily.days) == ({0}, {0}, frozenset(range(1, 32)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "minute value 60"),
        ("* 24 * * *", "hour value 24"),
        ("* * 0 * *", "day of month value 0"),
        ("* * * foo *", "Invalid month"),
        ("*/0 * * * *", "Invalid step"),
        ("5-1 * * * *", "backwards"),
        ("1,,2 * * * *", "Empty item"),
    ],
)
def test_malformed_expressions_name_the_field(text: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        CronExpression.parse(text)


def test_next_after_is_strictly_later() -> None:
    assert nxt("*/5 * * * *", utc(2025, 3, 1, 10, 0, 30)) == utc(2025, 3, 1, 10, 5)
    assert nxt("*/5 * * * *", utc(2025, 3, 1, 10, 5)) == utc(2025, 3, 1, 10, 10)
    assert nxt("30 2 * * *", utc(2025, 3, 1, 3, 0)) == utc(2025, 3, 2, 2, 30)
    assert nxt("0 0 1 * *", utc(2025, 12, 15)) == utc(2026, 1, 1)
    assert nxt("0 12 29 2 *", utc(2025, 3, 1)) == utc(2028, 2, 29, 12)


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    # 2025-06-13 is a Friday; "the 20th or any Friday" fires on Friday the 13th first.
    assert nxt("0 9 20 * fri", utc(2025, 6, 10)) == utc(2025, 6, 13, 9)
    # Only weekday restricted: Fridays only (Iranian weekend day).
    assert nxt("0 9 * * 5", utc(2025, 6, 13, 9, 30)) == utc(2025, 6, 20, 9)


def test_wall_clock_time_in_zone_across_dst() -> None:
    # Tehran (UTC+3:30, no DST since 2022): 08:00 local is 04:30 UTC.
    assert nxt("0 8 * * *", utc(2025, 6, 1), "Asia/Tehran") == utc(2025, 6, 1, 4, 30)
    # New York springs forward 2025-03-09 02:00 -> 03:00: 02:30 does not exist that day.
    assert nxt("30 2 * * *", utc(2025, 3, 9, 5), "America/New_York") == utc(2025, 3, 10, 6, 30)
    # Fall back 2025-11-02: 01:30 happens twice; it fires once (the first, EDT = UTC-4).
    first = nxt("30 1 * * *", utc(2025, 11, 2, 4), "America/New_York")
    assert first == utc(2025, 11, 2, 5, 30)
    assert nxt("30 1 * * *", first, "America/New_York") == utc(2025, 11, 3, 6, 30)


def test_impossible_date_is_reported() -> None:
    with pytest.raises(CronError, match="never matches"):
        nxt("0 0 30 2 *", utc(2025, 1, 1))
