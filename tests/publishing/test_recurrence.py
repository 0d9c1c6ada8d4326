from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sokhan.publishing.recurrence import RecurrenceError, describe, occurrences, parse_rule

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def local_times(values: list[datetime], tz: str) -> list[str]:
    return [v.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") for v in values]


def test_berlin_keeps_wall_clock_across_both_switches() -> None:
    spring = occurrences("FREQ=DAILY", start_local=datetime(2025, 3, 29, 9), tz="Europe/Berlin", after=EPOCH, count=2)
    assert spring == [datetime(2025, 3, 29, 8, tzinfo=UTC), datetime(2025, 3, 30, 7, tzinfo=UTC)]
    autumn = occurrences("FREQ=DAILY", start_local=datetime(2025, 10, 25, 9), tz="Europe/Berlin", after=EPOCH, count=2)
    assert autumn == [datetime(2025, 10, 25, 7, tzinfo=UTC), datetime(2025, 10, 26, 8, tzinfo=UTC)]
    assert all(v.tzinfo is UTC for v in spring + autumn)


def test_new_york_gap_moves_forward_and_repeat_takes_first() -> None:
    gap = occurrences("FREQ=WEEKLY", start_local=datetime(2025, 3, 2, 2, 30), tz="America/New_York", after=EPOCH,
                      count=3)  # fmt: skip
    assert local_times(gap, "America/New_York") == ["2025-03-02 02:30 EST", "2025-03-09 03:00 EDT",
                                                    "2025-03-16 02:30 EDT"]  # fmt: skip
    repeat = occurrences("FREQ=DAILY", start_local=datetime(2025, 11, 2, 1, 30), tz="America/New_York", after=EPOCH,
                         count=1)  # fmt: skip
    assert repeat == [datetime(2025, 11, 2, 5, 30, tzinfo=UTC)]  # 01:30 EDT, the first of the two


def test_tehran_weekly_saturday_no_dst() -> None:
    result = occurrences("FREQ=WEEKLY;BYDAY=SA;WKST=SA", start_local=datetime(2025, 3, 1, 9), tz="Asia/Tehran",
                         after=datetime(2025, 3, 10, tzinfo=UTC), count=3)  # fmt: skip
    assert result == [datetime(2025, 3, 15, 5, 30, tzinfo=UTC), datetime(2025, 3, 22, 5, 30, tzinfo=UTC),
                      datetime(2025, 3, 29, 5, 30, tzinfo=UTC)]  # fmt: skip
    assert all(v.astimezone(ZoneInfo("Asia/Tehran")).weekday() == 5 for v in result)


def test_monthly_on_the_31st_skips_short_months() -> None:
    result = occurrences("FREQ=MONTHLY;BYMONTHDAY=31", start_local=datetime(2025, 1, 1, 9), tz="UTC", after=EPOCH,
                         count=4)  # fmt: skip
    assert [v.date().isoformat() for v in result] == ["2025-01-31", "2025-03-31", "2025-05-31", "2025-07-31"]


def test_count_and_until() -> None:
    counted = occurrences("FREQ=DAILY;COUNT=3", start_local=datetime(2025, 1, 1, 9), tz="UTC", after=EPOCH, count=10)
    assert len(counted) == 3
    later = occurrences("FREQ=DAILY;COUNT=3", start_local=datetime(2025, 1, 1, 9), tz="UTC",
                        after=datetime(2025, 1, 2, 9, tzinfo=UTC), count=10)  # fmt: skip
    assert later == [datetime(2025, 1, 3, 9, tzinfo=UTC)]
    until_day = occurrences("FREQ=DAILY;UNTIL=20250103", start_local=datetime(2025, 1, 1, 9), tz="Asia/Tehran",
                            after=EPOCH, count=10)  # fmt: skip
    assert len(until_day) == 3
    until_utc = occurrences("FREQ=DAILY;UNTIL=20250103T053000Z", start_local=datetime(2025, 1, 1, 9),
                            tz="Asia/Tehran", after=EPOCH, count=10)  # fmt: skip
    assert len(until_utc) == 3
    assert len(occurrences("FREQ=DAILY;UNTIL=20250103T052959Z", start_local=datetime(2025, 1, 1, 9),
                           tz="Asia/Tehran", after=EPOCH, count=10)) == 2  # fmt: skip


def test_after_far_from_start_is_fast_and_correct() -> None:
    result = occurrences("FREQ=DAILY", start_local=datetime(2000, 1, 1, 9), tz="Europe/Berlin",
                         after=datetime(2030, 6, 1, tzinfo=UTC), count=1)  # fmt: skip
    assert result == [datetime(2030, 6, 1, 7, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("", "empty"),
        ("FREQ=MINUTELY", "MINUTELY"),
        ("BYDAY=MO", "FREQ is missing"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20250101", "not both"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=DAILY;UNTIL=20250230", "UNTIL"),
        ("FREQ=DAILY;FOO=1", "FOO"),
        ("FREQ=WEEKLY;BYDAY=1MO", "MONTHLY"),
        ("DTSTART:20250101T090000\nRRULE:FREQ=DAILY", "start"),
    ],
)
def test_validation_errors(rule: str, fragment: str) -> None:
    with pytest.raises(RecurrenceError, match=fragment):
        parse_rule(rule)


def test_bad_time_zone() -> None:
    with pytest.raises(RecurrenceError, match="Mars/Olympus"):
        occurrences("FREQ=DAILY", start_local=datetime(2025, 1, 1), tz="Mars/Olympus", after=EPOCH, count=1)


def test_describe_english_and_persian() -> None:
    rule = "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,MO;COUNT=10"
    start = datetime(2025, 1, 1, 9)
    assert describe(rule, language="en", calendar="gregorian", start_local=start) == (
        "Every 2 weeks on Saturday and Monday at 09:00, 10 times"
    )
    assert describe(rule, language="fa", calendar="jalali", start_local=start) == (
        "هر ۲ هفته، شنبه و دوشنبه، ساعت ۰۹:۰۰، ۱۰ بار"
    )
    assert describe("FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20251121", language="fa", calendar="jalali") == (
        "هر ماه، روز ۳۱ ماه میلادی، تا ۳۰ آبان ۱۴۰۴"
    )
    assert describe("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20251121", language="en", calendar="gregorian") == (
        "Every month on the last Friday, until 21 November 2025"
    )
