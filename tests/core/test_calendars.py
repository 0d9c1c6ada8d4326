"""Jalali/Gregorian conversion, names, weeks, formatting and parsing of user-typed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from django.utils import translation

from sokhan.core.calendars import (
    DateParseError,
    InvalidDateError,
    JalaliDate,
    aware_datetime,
    first_weekday,
    format_date,
    format_datetime,
    from_jalali,
    is_jalali_leap,
    jalali_month_length,
    month_bounds,
    month_name,
    nowruz,
    parse_date,
    parse_date_guess,
    to_jalali,
    week_bounds,
    weekday_name,
    weekend_days,
)

TEHRAN = ZoneInfo("Asia/Tehran")
BERLIN = ZoneInfo("Europe/Berlin")


# --- conversion ------------------------------------------------------------------------------


def test_every_day_1900_to_2100_round_trips_and_matches_jdatetime() -> None:
    day, end = date(1900, 1, 1), date(2100, 12, 31)
    previous = to_jalali(day - timedelta(days=1))
    while day <= end:
        j = to_jalali(day)
        assert from_jalali(j.year, j.month, j.day) == day
        oracle = jdatetime.date.fromgregorian(date=day)
        assert (j.year, j.month, j.day) == (oracle.year, oracle.month, oracle.day), day
        assert j > previous  # consecutive days never repeat or go backwards
        previous = j
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("gregorian", "jalali"),
    [
        (date(2025, 3, 21), JalaliDate(1404, 1, 1)),  # Nowruz 1404
        (date(2025, 3, 20), JalaliDate(1403, 12, 30)),  # last day of leap 1403
        (date(2026, 3, 20), JalaliDate(1404, 12, 29)),  # last day of common 1404
        (date(2026, 3, 21), JalaliDate(1405, 1, 1)),
        (date(2025, 11, 21), JalaliDate(1404, 8, 30)),
        (date(2025, 9, 22), JalaliDate(1404, 6, 31)),  # last 31-day month ends
        (date(2025, 9, 23), JalaliDate(1404, 7, 1)),
        (date(2024, 2, 29), JalaliDate(1402, 12, 10)),  # Gregorian leap day
        (date(1979, 2, 11), JalaliDate(1357, 11, 22)),
    ],
)
def test_known_dates(gregorian: date, jalali: JalaliDate) -> None:
    assert to_jalali(gregorian) == jalali
    assert jalali.to_gregorian() == gregorian


def test_leap_years_and_month_lengths() -> None:
    assert is_jalali_leap(1403) and not is_jalali_leap(1404) and is_jalali_leap(1399)
    assert jalali_month_length(1403, 12) == 30
    assert jalali_month_length(1404, 12) == 29
    assert [jalali_month_length(1404, m) for m in range(1, 12)] == [31] * 6 + [30] * 5
    assert from_jalali(1403, 12, 30) == date(2025, 3, 20)
    with pytest.raises(InvalidDateError, match="day 30 does not exist in Esfand 1404"):
        from_jalali(1404, 12, 30)
    with pytest.raises(InvalidDateError, match="month 13 is out of range"):
        from_jalali(1404, 13, 1)
    assert nowruz(1404) == date(2025, 3, 21)
    assert nowruz(1375) == date(1996, 3, 20)


def test_aware_datetime_converts_in_the_viewers_zone() -> None:
    # 20:45 UTC on 20 March 2025 is already 00:15 on Nowruz in Tehran.
    moment = datetime(2025, 3, 20, 20, 45, tzinfo=UTC)
    assert to_jalali(moment) == JalaliDate(1403, 12, 30)
    assert to_jalali(moment, tz="Asia/Tehran") == JalaliDate(1404, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        to_jalali(datetime(2025, 3, 20, 20, 45), tz=TEHRAN)


# --- names and weeks -------------------------------------------------------------------------


def test_month_and_weekday_names() -> None:
    assert month_name(1, calendar="jalali", language="fa") == "فروردین"
    assert month_name(12, calendar="jalali", language="en") == "Esfand"
    assert month_name(5, calendar="gregorian", language="en", short=True) == "May"
    assert month_name(9, calendar="gregorian", language="en", short=True) == "Sep"
    assert month_name(11, calendar="gregorian", language="fa") == "نوامبر"
    assert weekday_name(date(2025, 11, 22).weekday(), language="fa") == "شنبه"
    assert weekday_name(date(2025, 11, 21).weekday(), language="fa") == "جمعه"
    assert weekday_name(4, language="en") == "Friday"
    with translation.override("fa"):
        # English stays English even when the viewer's UI is Persian.
        assert month_name(11, calendar="gregorian", language="en") == "November"
        assert month_name(8, calendar="jalali") == "آبان"


def test_iranian_week_starts_saturday_with_friday_weekend() -> None:
    assert first_weekday(calendar="jalali", language="en") == 5
    assert first_weekday(calendar="gregorian", language="fa-ir") == 5
    assert first_weekday(calendar="gregorian", language="en") == 0
    assert weekend_days(calendar="jalali", language="fa") == {4}
    assert weekend_days(calendar="gregorian", language="en") == {5, 6}
    # Friday 21 Nov 2025 ends the Iranian week that began on Saturday the 15th.
    assert week_bounds(date(2025, 11, 21)) == (date(2025, 11, 15), date(2025, 11, 21))
    assert week_bounds(date(2025, 11, 22)) == (date(2025, 11, 22), date(2025, 11, 28))
    assert week_bounds(date(2025, 11, 21), week_start=0) == (date(2025, 11, 17), date(2025, 11, 23))


def test_month_bounds_follow_the_calendar() -> None:
    assert month_bounds(date(2025, 3, 1), "jalali") == (date(2025, 2, 19), date(2025, 3, 20))
    assert month_bounds(date(2024, 2, 10), "gregorian") == (date(2024, 2, 1), date(2024, 2, 29))


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "language", "style", "expected"),
    [
        ("jalali", "fa", "long", "۳۰ آبان ۱۴۰۴"),
        ("jalali", "fa", "numeric", "۱۴۰۴/۰۸/۳۰"),
        ("jalali", "en", "long", "30 Aban 1404"),
        ("jalali", "en", "numeric", "1404/08/30"),
        ("gregorian", "en", "short", "21 Nov 2025"),
        ("gregorian", "en", "long", "21 November 2025"),
        ("gregorian", "en", "numeric", "2025-11-21"),
        ("gregorian", "fa", "long", "۲۱ نوامبر ۲۰۲۵"),
    ],
)
def test_format_date(calendar: str, language: str, style: str, expected: str) -> None:
    assert format_date(date(2025, 11, 21), calendar=calendar, language=language, style=style) == expected  # type: ignore[arg-type]


def test_format_datetime_uses_the_given_zone() -> None:
    moment = datetime(2025, 11, 21, 10, 35, tzinfo=UTC)
    assert format_datetime(moment, calendar="jalali", language="fa", tz="Asia/Tehran") == "۳۰ آبان ۱۴۰۴، ۱۴:۰۵"
    assert format_datetime(moment, calendar="gregorian", language="en", tz=BERLIN) == "21 Nov 2025, 11:35"
    # Tehran dropped DST in 2022: +03:30 in summer 2025, but +04:30 in summer 2021.
    summer = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert format_datetime(summer, calendar="gregorian", language="en", tz=TEHRAN).endswith("15:30")
    old_summer = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
    assert format_datetime(old_summer, calendar="gregorian", language="en", tz=TEHRAN).endswith("16:30")
    # Berlin's DST: the same UTC hour is 13:00 in summer and 12:00 in winter.
    assert format_datetime(summer, calendar="gregorian", language="en", tz=BERLIN).endswith("14:00")
    winter = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    assert format_datetime(winter, calendar="gregorian", language="en", tz=BERLIN).endswith("13:00")
    with pytest.raises(ValueError, match="aware"):
        format_datetime(datetime(2025, 1, 1), calendar="jalali", language="fa", tz=TEHRAN)


# --- parsing ---------------------------------------------------------------------------------

NOV_21 = date(2025, 11, 21)


@pytest.mark.parametrize(
    "text",
    [
        "۱۴۰۴/۸/۳۰",
        "١٤٠٤/٠٨/٣٠",  # Arabic-Indic digits
        "۱۴۰4-0۸-۳۰",  # mixed digit scripts
        "1404.08.30",
        "1404 8 30",
        "30/8/1404",  # day first
        "30 Aban 1404",
        "aban 30, 1404",
        "۳۰ آبان ۱۴۰۴",
        "۳۰ آبان‌ماه ۱۴۰۴",
        "  ۳۰   آبان   ۱۴۰۴ ",
    ],
)
def test_parse_jalali(text: str) -> None:
    assert parse_date(text, calendar="jalali") == NOV_21
    assert parse_date_guess(text) == NOV_21


@pytest.mark.parametrize("text", ["2025-11-21", "21 Nov 2025", "November 21st, 2025", "۲۱ نوامبر ۲۰۲۵", "٢٠٢٥/١١/٢١"])
def test_parse_gregorian(text: str) -> None:
    assert parse_date(text, calendar="gregorian") == NOV_21
    assert parse_date_guess(text) == NOV_21


def test_parse_with_time_gives_an_aware_datetime() -> None:
    parsed = parse_date("1404-08-30 14:05", calendar="jalali", tz="Asia/Tehran")
    assert parsed == datetime(2025, 11, 21, 10, 35, tzinfo=UTC)
    assert isinstance(parsed, datetime) and parsed.utcoffset() == timedelta(hours=3, minutes=30)
    assert parse_date_guess("۱۴۰۴/۰۸/۳۰ ۰۹:۰۵", tz=TEHRAN) == datetime(2025, 11, 21, 5, 35, tzinfo=UTC)
    assert parse_date_guess("2025-11-21T14:05", tz=BERLIN) == datetime(2025, 11, 21, 13, 5, tzinfo=UTC)


def test_parse_explicit_calendar_reads_numbers_in_that_calendar() -> None:
    # 1404/01/01 is Nowruz in Jalali, but a day in the 15th century in Gregorian.
    assert parse_date("1404/01/01", calendar="jalali") == date(2025, 3, 21)
    assert parse_date("1404/01/01", calendar="gregorian") == date(1404, 1, 1)


@pytest.mark.parametrize(
    ("text", "calendar", "message"),
    [
        ("1404/7/31", "jalali", "day 31 does not exist in Mehr 1404"),
        ("1404/12/30", "jalali", "day 30 does not exist in Esfand 1404"),
        ("1404/13/1", "jalali", "month 13 is out of range"),
        ("1404/0/1", "jalali", "month 0 is out of range"),
        ("1404/1/0", "jalali", "day 0 does not exist in Farvardin 1404"),
        ("2025-02-29", "gregorian", "day 29 does not exist in February 2025"),
        ("1404/08/30 24:00", "jalali", "hour 24 is out of range"),
        ("1404/08/30 12:60", "jalali", "minute 60 is out of range"),
        ("30 Aban 1404", "gregorian", "Aban.*Jalali month"),
        ("21 Nov 2025", "jalali", "Nov.*Gregorian month"),
        ("30 Abaan 1404", "jalali", "“abaan” is not a month name"),
        ("04/08/30", "jalali", "four digits"),
        ("1404/08", "jalali", "is not a date"),
        ("", "jalali", "Enter a date"),
        ("5000/01/01", "jalali", "outside the supported range"),
    ],
)
def test_parse_errors_name_the_problem(text: str, calendar: str, message: str) -> None:
    with pytest.raises(DateParseError, match=message):
        parse_date(text, calendar=calendar, tz=TEHRAN)  # type: ignore[arg-type]


def test_leap_days_parse_only_in_leap_years() -> None:
    assert parse_date("1403/12/30", calendar="jalali") == date(2025, 3, 20)
    assert parse_date("2024-02-29", calendar="gregorian") == date(2024, 2, 29)
    assert parse_date_guess("2000-02-29") == date(2000, 2, 29)
    with pytest.raises(DateParseError, match="February 1900"):
        parse_date_guess("1900-02-29")


def test_guess_uses_year_range() -> None:
    assert parse_date_guess("1699/01/01") == from_jalali(1699, 1, 1)
    assert parse_date_guess("1700/01/01") == date(1700, 1, 1)


def test_dst_gap_is_rejected_and_overlap_takes_first_occurrence() -> None:
    with pytest.raises(DateParseError, match="02:30 does not exist on 2025-03-30 in Europe/Berlin"):
        parse_date("2025-03-30 02:30", calendar="gregorian", tz=BERLIN)
    # 02:30 happens twice on 26 Oct 2025 in Berlin; the first is still on summer time (+02:00).
    ambiguous = aware_datetime(date(2025, 10, 26), time(2, 30), BERLIN)
    assert ambiguous.astimezone(UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    # Tehran has no DST any more: the old spring-forward hour now exists.
    assert parse_date("1404/01/02 00:30", calendar="jalali", tz=TEHRAN) == datetime(2025, 3, 21, 21, 0, tzinfo=UTC)


def test_error_messages_are_translatable() -> None:
    with translation.override("fa"), pytest.raises(DateParseError) as caught:
        parse_date("1404/7/31", calendar="jalali")
    # The month name in the message follows the viewer's language.
    assert "مهر" in str(caught.value)
