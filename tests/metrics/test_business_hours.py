"""Business hours: open time between two instants, across days, weeks, DST and "24:00"; defaults;
validation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from sokhan.core.errors import DomainError
from sokhan.metrics.business_hours import BusinessHours, default_for

TEHRAN = ZoneInfo("Asia/Tehran")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0
ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture(autouse=True)
def english() -> None:
    translation.activate("en")


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=TEHRAN)


def test_persian_default_is_the_iranian_week() -> None:
    hours = default_for("fa")
    assert hours.timezone == "Asia/Tehran"
    nine_to_five = [["09:00", "17:00"]]
    assert hours.to_json() == {
        "0": nine_to_five,  # Monday
        "1": nine_to_five,
        "2": nine_to_five,  # Wednesday
        "3": [["09:00", "13:00"]],  # Thursday
        "5": nine_to_five,  # Saturday
        "6": nine_to_five,  # Sunday
    }  # Friday ("4") closed
    assert default_for("fa-IR") == hours


def test_other_default_is_monday_to_friday_in_the_given_zone(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "UTC"
    assert default_for("en").timezone == "UTC"
    hours = default_for("en", "Europe/Berlin")
    assert hours.timezone == "Europe/Berlin"
    assert hours.to_json() == {str(day): [["09:00", "17:00"]] for day in range(5)}


def test_thursday_noon_to_saturday_ten_in_tehran_is_two_business_hours() -> None:
    # 20 November 2025 is a Thursday: 12:00–13:00 open, Friday closed, Saturday 09:00–10:00 open.
    assert default_for("fa").open_seconds(tehran(20, 12), tehran(22, 10)) == 2 * HOUR


def test_friday_to_saturday_half_past_nine_is_half_an_hour() -> None:
    assert default_for("fa").open_seconds(tehran(21, 15), tehran(22, 9, 30)) == 0.5 * HOUR


def test_open_seconds_within_one_interval_and_outside_any() -> None:
    hours = default_for("fa")
    assert hours.open_seconds(tehran(22, 10), tehran(22, 10, 45)) == 45 * 60
    assert hours.open_seconds(tehran(21, 8), tehran(21, 20)) == 0  # Friday
    assert hours.open_seconds(tehran(22, 17), tehran(23, 9)) == 0  # overnight
    assert hours.open_seconds(tehran(22, 10), tehran(22, 10)) == 0
    assert hours.open_seconds(tehran(22, 11), tehran(22, 10)) == 0  # end before start


def test_open_seconds_over_whole_weeks() -> None:
    # A Persian week: five days of 8 h and Thursday's 4 h.
    hours = default_for("fa")
    assert hours.open_seconds(tehran(15, 0), tehran(22, 0)) == 44 * HOUR
    assert hours.open_seconds(tehran(15, 0), tehran(29, 0)) == 88 * HOUR
    assert hours.open_seconds(tehran(15, 12), tehran(29, 12)) == 88 * HOUR


def test_open_seconds_accepts_any_zone_for_its_arguments() -> None:
    hours = default_for("fa")
    start = tehran(20, 12).astimezone(ZoneInfo("UTC"))
    end = tehran(22, 10).astimezone(ZoneInfo("America/New_York"))
    assert hours.open_seconds(start, end) == 2 * HOUR


def test_interval_ending_at_midnight() -> None:
    hours = BusinessHours.from_json({"5": [["22:00", "24:00"]], "6": [["00:00", "02:00"]]}, "Asia/Tehran")
    # Saturday 22 November 23:00 to Sunday 01:00 crosses midnight inside the two intervals.
    assert hours.open_seconds(tehran(22, 23), tehran(23, 1)) == 2 * HOUR
    assert hours.open_seconds(tehran(22, 0), tehran(24, 0)) == 4 * HOUR
    assert hours.is_open(tehran(22, 23, 59))
    assert hours.is_open(tehran(23, 0))
    assert not hours.is_open(tehran(23, 2))


def test_always_open_counts_real_time_across_the_march_dst_change() -> None:
    # Europe/Berlin skipped 02:00–03:00 on Sunday 29 March 2026: that day is 23 hours long.
    berlin = BusinessHours.from_json(ALWAYS, "Europe/Berlin")
    tehran_always = BusinessHours.from_json(ALWAYS, "Asia/Tehran")
    start, end = datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    assert berlin.open_seconds(start, end) == 23 * HOUR
    start_t, end_t = datetime(2026, 3, 29, tzinfo=TEHRAN), datetime(2026, 3, 30, tzinfo=TEHRAN)
    assert tehran_always.open_seconds(start_t, end_t) == 24 * HOUR  # no DST in Tehran


def test_always_open_counts_the_repeated_hour_in_october() -> None:
    berlin = BusinessHours.from_json(ALWAYS, "Europe/Berlin")
    start, end = datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    assert berlin.open_seconds(start, end) == 25 * HOUR


def test_berlin_business_hours_across_the_march_change_keep_wall_clock() -> None:
    # Friday 27 March 16:00 CET to Monday 30 March 10:00 CEST: 65 real hours (the clocks skip one),
    # business time 1 h Friday + 1 h Monday. The same wall-clock times in Tehran are 66 hours apart.
    hours = default_for("en", "Europe/Berlin")
    start, end = datetime(2026, 3, 27, 16, tzinfo=BERLIN), datetime(2026, 3, 30, 10, tzinfo=BERLIN)
    assert (end - start) == timedelta(hours=66)  # one tzinfo: Python subtracts wall clocks, the trap
    assert (end.astimezone(ZoneInfo("UTC")) - start.astimezone(ZoneInfo("UTC"))) == timedelta(hours=65)
    assert hours.open_seconds(start, end) == 2 * HOUR
    always = BusinessHours.from_json(ALWAYS, "Europe/Berlin")
    assert always.open_seconds(start, end) == 65 * HOUR
    tehran_always = BusinessHours.from_json(ALWAYS, "Asia/Tehran")
    assert tehran_always.open_seconds(start.replace(tzinfo=TEHRAN), end.replace(tzinfo=TEHRAN)) == 66 * HOUR


def test_an_open_hour_the_clocks_skip_is_not_open() -> None:
    night = BusinessHours.from_json({"6": [["01:00", "04:00"]]}, "Europe/Berlin")  # Sunday
    start, end = datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    assert night.open_seconds(start, end) == 2 * HOUR


def test_is_open_reads_the_local_wall_clock() -> None:
    hours = default_for("fa")
    assert hours.is_open(tehran(20, 12, 59))
    assert not hours.is_open(tehran(20, 13))  # Thursday closes at 13:00
    assert not hours.is_open(tehran(21, 12))  # Friday
    assert hours.is_open(tehran(22, 9))
    assert not hours.is_open(tehran(22, 8, 59))
    # 06:00 UTC is 09:30 in Tehran.
    assert hours.is_open(datetime(2025, 11, 22, 6, tzinfo=ZoneInfo("UTC")))
    berlin = default_for("en", "Europe/Berlin")
    assert berlin.is_open(datetime(2026, 3, 30, 9, tzinfo=BERLIN))
    assert not berlin.is_open(datetime(2026, 3, 30, 6, 30, tzinfo=ZoneInfo("UTC")))  # 08:30 CEST
    assert berlin.is_open(datetime(2026, 3, 30, 8, tzinfo=ZoneInfo("UTC")))  # 10:00 CEST


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        default_for("fa").open_seconds(datetime(2025, 11, 22, 9), tehran(22, 10))
    with pytest.raises(ValueError, match="aware"):
        default_for("fa").is_open(datetime(2025, 11, 22, 9))


def test_json_round_trip_sorts_intervals() -> None:
    data = {"0": [["13:00", "17:00"], ["09:00", "12:00"]], "4": []}
    hours = BusinessHours.from_json(data, "Asia/Tehran")
    assert hours.to_json() == {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert BusinessHours.from_json(hours.to_json(), "Asia/Tehran") == hours
    assert BusinessHours.from_json({"1": [["9:05", "24:00"]]}, "UTC").to_json() == {"1": [["09:05", "24:00"]]}


# ---------------------------------------------------------------------------------------------
# Validation


def problems(data: object, zone: str = "Asia/Tehran") -> DomainError:
    with pytest.raises(DomainError) as caught:
        BusinessHours.from_json(data, zone)
    return caught.value


def test_bad_time_format_names_the_value_and_day() -> None:
    error = problems({"0": [["9am", "17:00"]]})
    assert error.fields == {"business_hours.0.0": error.message}
    assert "“9am” on Monday is not a time" in error.message
    assert "HH:MM" in error.message
    for bad in ("25:00", "09:60", "0900", "", "24:00"):
        assert "business_hours.2.0" in problems({"2": [[bad, "23:00"]]}).fields, bad
    assert "“24:30”" in problems({"2": [["09:00", "24:30"]]}).message


def test_end_before_start() -> None:
    error = problems({"3": [["09:00", "17:00"], ["17:00", "16:00"]]})
    assert error.fields == {"business_hours.3.1": error.message}
    assert error.message == "The interval 17:00–16:00 on Thursday must end after it starts."
    assert "must end after it starts" in problems({"3": [["10:00", "10:00"]]}).message


def test_overlapping_intervals() -> None:
    error = problems({"5": [["09:00", "13:00"], ["12:00", "17:00"]]})
    assert error.fields == {"business_hours.5": error.message}
    assert error.message == "The intervals 09:00–13:00 and 12:00–17:00 on Saturday overlap."
    # Touching intervals do not overlap.
    assert (
        BusinessHours.from_json({"5": [["09:00", "13:00"], ["13:00", "17:00"]]}, "UTC").open_seconds(
            datetime(2025, 11, 22, tzinfo=ZoneInfo("UTC")), datetime(2025, 11, 23, tzinfo=ZoneInfo("UTC"))
        )
        == 8 * HOUR
    )


def test_unknown_weekday() -> None:
    error = problems({"7": [["09:00", "17:00"]]})
    assert error.fields == {"business_hours.7": error.message}
    assert error.message == "Unknown weekday 7: use 0 (Monday) to 6 (Sunday)."
    assert "business_hours.monday" in problems({"monday": []}).fields


def test_unknown_zone() -> None:
    error = problems({"0": [["09:00", "17:00"]]}, "Mars/Olympus")
    assert error.fields == {"timezone": "Unknown time zone: Mars/Olympus"}
    assert "timezone" in problems({}, "").fields


def test_wrong_shapes() -> None:
    assert "business_hours" in problems([["09:00", "17:00"]]).fields
    assert "business_hours.0" in problems({"0": "09:00-17:00"}).fields
    assert "business_hours.0.0" in problems({"0": [["09:00"]]}).fields
    assert "business_hours.0.0" in problems({"0": [[9, 17]]}).fields


def test_every_problem_is_reported_at_once() -> None:
    error = problems({"0": [["9am", "17:00"]], "8": [], "1": [["10:00", "09:00"]]}, "Nowhere/City")
    assert set(error.fields) == {"business_hours.0.0", "business_hours.8", "business_hours.1.0", "timezone"}
    assert error.code == "invalid"


def test_messages_are_translated() -> None:
    with translation.override("fa"):
        error = problems({"4": [["09:00", "08:00"]]})
    assert "جمعه" in error.message  # the weekday in Persian
