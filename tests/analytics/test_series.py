"""Series with explicit gaps and aggregates that skip (and count) what is missing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sokhan.analytics.series import aggregate, days, grid, grid_floor, with_gaps

TEHRAN = ZoneInfo("Asia/Tehran")


def test_aggregates_skip_missing_values_and_say_how_many() -> None:
    values = [10, None, 30, None, 0]
    total = aggregate(values, "sum")
    assert (total.value, total.points, total.missing) == (40.0, 3, 2)
    mean = aggregate(values, "mean")
    assert mean.value == pytest.approx(40 / 3)  # not 40 / 5: a missing day is not a zero day
    assert aggregate(values, "first").value == 10
    assert aggregate(values, "last").value == 0  # a real 0 is a value
    assert (aggregate(values, "min").value, aggregate(values, "max").value) == (0, 30)
    nothing = aggregate([None, None], "sum")
    assert (nothing.value, nothing.points, nothing.missing) == (None, 0, 2)
    assert aggregate([], "mean").value is None


def test_with_gaps_keeps_every_key_in_order() -> None:
    keys = days(date(2025, 11, 15), date(2025, 11, 18))
    assert keys == [date(2025, 11, 15), date(2025, 11, 16), date(2025, 11, 17), date(2025, 11, 18)]
    values = {date(2025, 11, 15): 100, date(2025, 11, 17): 0}
    assert [v for _k, v in with_gaps(keys, values)] == [100, None, 0, None]


def test_grid_is_the_account_schedule_and_a_snapshot_fills_its_slot() -> None:
    points = grid(date(2025, 11, 15), date(2025, 11, 15), TEHRAN, 6)
    assert [p.astimezone(TEHRAN).hour for p in points] == [0, 6, 12, 18]
    assert points[0] == datetime(2025, 11, 14, 20, 30, tzinfo=UTC)
    # Taken at 13:30 Tehran (a few minutes late or early does not matter): the 12:00 slot.
    assert grid_floor(datetime(2025, 11, 15, 10, 0, tzinfo=UTC), TEHRAN, 6) == points[2]
    assert grid_floor(points[3], TEHRAN, 6) == points[3]
