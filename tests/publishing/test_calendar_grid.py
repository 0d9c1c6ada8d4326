"""Month and week grids of the publishing calendar: Jalali months, week starts, local days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sokhan.core.calendars import (
    FRIDAY,
    IRANIAN_WEEK_START,
    IRANIAN_WEEKEND,
    ISO_WEEK_START,
    ISO_WEEKEND,
    SATURDAY,
    InvalidDateError,
)
from sokhan.publishing.calendar_grid import (
    bucket_by_day,
    day_range_utc,
    month_grid,
    moved_to,
    shift_month,
    upcoming_slots,
    week_grid,
    weekday_order,
)

BERLIN = ZoneInfo("Europe/Berlin")
TEHRAN = ZoneInfo("Asia/Tehran")


def jalali_grid(anchor: date, today: date | None = None):  # type: ignore[no-untyped-def]
    return month_grid(anchor, calendar="jalali", week_start=IRANIAN_WEEK_START, weekend=IRANIAN_WEEKEND, today=today)


def test_farvardin_1404_starts_on_friday_in_the_seventh_column() -> None:
    grid = jalali_grid(date(2025, 4, 1))
    assert (grid.year, grid.month) == (1404, 1)
    assert grid.weekdays == (5, 6, 0, 1, 2, 3, 4)  # Saturday … Friday
    assert grid.first == date(2025, 3, 21) and grid.last == date(2025, 4, 20)  # 31 days
    first_week = grid.weeks[0]
    assert [d.in_month for d in first_week] == [False] * 6 + [True]
    assert first_week[6].date == date(2025, 3, 21) and first_week[6].number == 1
    assert first_week[6].weekend  # Friday
    assert first_week[0].number == 25  # Saturday 25 Esfand 1403 (a 30-day Esfand)
    numbers = [d.number for week in grid.weeks for d in week if d.in_month]
    assert numbers == list(range(1, 32))
    assert all(len(week) == 7 for week in grid.weeks)
    assert [d.weekend for d in grid.weeks[1]] == [False] * 6 + [True]


def test_esfand_has_30_days_in_a_leap_year_and_29_otherwise() -> None:
    leap = jalali_grid(date(2025, 3, 1))  # Esfand 1403 (leap)
    assert (leap.year, leap.month) == (1403, 12)
    assert [d.number for w in leap.weeks for d in w if d.in_month][-1] == 30
    assert leap.first == date(2025, 2, 19) and leap.last == date(2025, 3, 20)
    assert leap.weeks[0][4].date == date(2025, 2, 19)  # a Wednesday, fifth column from Saturday
    assert leap.start == date(2025, 2, 15) and leap.end == date(2025, 3, 21)
    common = jalali_grid(date(2026, 3, 1))  # Esfand 1404
    assert (common.year, common.month) == (1404, 12)
    assert [d.number for w in common.weeks for d in w if d.in_month][-1] == 29
    assert common.last == date(2026, 3, 20)


def test_gregorian_grid_monday_and_saturday_start() -> None:
    monday = month_grid(date(2025, 3, 10), calendar="gregorian", week_start=ISO_WEEK_START, weekend=ISO_WEEKEND)
    assert (monday.year, monday.month) == (2025, 3)
    assert monday.weekdays[0] == 0
    assert monday.start == date(2025, 2, 24) and monday.end == date(2025, 4, 6)
    assert [d.weekend for d in monday.weeks[0]] == [False] * 5 + [True, True]
    saturday = month_grid(date(2025, 3, 10), calendar="gregorian", week_start=SATURDAY, weekend=frozenset({FRIDAY}))
    assert saturday.start == date(2025, 3, 1)  # 1 March 2025 is a Saturday
    assert saturday.weeks[0][0].number == 1 and saturday.weeks[0][0].in_month
    assert saturday.end == date(2025, 4, 4)


def test_today_is_marked_and_week_grid_follows_week_start() -> None:
    grid = jalali_grid(date(2025, 11, 21), today=date(2025, 11, 21))
    marked = [d for w in grid.weeks for d in w if d.today]
    assert [d.date for d in marked] == [date(2025, 11, 21)]
    assert (grid.year, grid.month, marked[0].number) == (1404, 8, 30)
    week = week_grid(date(2025, 11, 19), calendar="jalali", week_start=SATURDAY, weekend=IRANIAN_WEEKEND)
    assert week.start == date(2025, 11, 15) and week.end == date(2025, 11, 21)
    assert [d.weekend for d in week.days] == [False] * 6 + [True]
    iso = week_grid(date(2025, 11, 19), calendar="gregorian", week_start=0, weekend=ISO_WEEKEND)
    assert iso.start == date(2025, 11, 17)
    assert weekday_order(SATURDAY) == (5, 6, 0, 1, 2, 3, 4)


def test_shift_month_in_both_calendars_clamps_the_day() -> None:
    # 31 Shahrivar 1404 → Mehr has 30 days.
    assert shift_month(date(2025, 9, 22), 1, "jalali") == date(2025, 10, 22)  # 30 Mehr 1404
    assert shift_month(date(2025, 3, 20), 1, "jalali") == date(2025, 4, 19)  # 30 Esfand 1403 → 30 Farvardin 1404
    assert shift_month(date(2025, 3, 21), -1, "jalali") == date(2025, 2, 19)  # 1 Farvardin → 1 Esfand
    assert shift_month(date(2025, 1, 31), 1, "gregorian") == date(2025, 2, 28)
    assert shift_month(date(2025, 1, 15), -1, "gregorian") == date(2024, 12, 15)


def test_late_evening_post_lands_on_its_local_day_in_a_dst_zone() -> None:
    # 23:30 in Berlin on 2025-07-14 (summer, UTC+2) is 21:30 UTC; on 2025-01-14 (winter) 22:30 UTC.
    summer = datetime(2025, 7, 14, 21, 30, tzinfo=UTC)
    winter = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)
    early = datetime(2025, 7, 14, 22, 30, tzinfo=UTC)  # 00:30 on the 15th in Berlin
    days = bucket_by_day([early, winter, summer], lambda at: at, BERLIN)
    assert days == {date(2025, 7, 14): [summer], date(2025, 1, 14): [winter], date(2025, 7, 15): [early]}
    since, until = day_range_utc(date(2025, 7, 14), date(2025, 7, 14), BERLIN)
    assert since == datetime(2025, 7, 13, 22, 0, tzinfo=UTC) and until == datetime(2025, 7, 14, 22, 0, tzinfo=UTC)
    assert since <= summer < until and not since <= early < until
    # The week with the spring-forward night is 23 hours shorter by one.
    since, until = day_range_utc(date(2025, 3, 30), date(2025, 3, 30), BERLIN)
    assert (until - since).total_seconds() == 23 * 3600


def test_moving_keeps_the_wall_clock_time_across_dst() -> None:
    winter = datetime(2025, 3, 28, 22, 30, tzinfo=UTC)  # Friday 23:30 CET
    moved = moved_to(winter, date(2025, 4, 1), BERLIN)
    assert moved.astimezone(BERLIN).replace(tzinfo=None) == datetime(2025, 4, 1, 23, 30)
    assert moved.astimezone(UTC) == datetime(2025, 4, 1, 21, 30, tzinfo=UTC)  # CEST: UTC+2
    at_hour = moved_to(winter, date(2025, 4, 1), BERLIN, hour=9)
    assert at_hour.astimezone(BERLIN).replace(tzinfo=None) == datetime(2025, 4, 1, 9, 30)
    with pytest.raises(InvalidDateError):
        moved_to(winter, date(2025, 3, 30), BERLIN, hour=2)  # 02:30 does not exist that night
    tehran = moved_to(datetime(2025, 3, 20, 6, 0, tzinfo=UTC), date(2025, 3, 21), TEHRAN)
    assert tehran.astimezone(TEHRAN).time() == time(9, 30)


def test_upcoming_slots_follow_the_queue_rules() -> None:
    after = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)  # Saturday; Berlin springs forward on the 31st
    slots = [(0, time(9, 0)), (6, time(2, 30)), (0, time(17, 30))]
    found = upcoming_slots(slots, after=after, tz=BERLIN, count=4)
    assert found == [
        datetime(2030, 3, 31, 1, 30, tzinfo=UTC),  # Sunday 02:30 is skipped → 03:30 CEST
        datetime(2030, 4, 1, 7, 0, tzinfo=UTC),
        datetime(2030, 4, 1, 15, 30, tzinfo=UTC),
        datetime(2030, 4, 7, 0, 30, tzinfo=UTC),
    ]
    assert upcoming_slots([], after=after, tz=BERLIN, count=3) == []
