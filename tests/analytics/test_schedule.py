"""When snapshots are due: the decaying post schedule and the account grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sokhan.analytics.schedule import (
    DONE,
    STEP_LABELS,
    STEPS,
    account_hours,
    advance,
    next_account_due,
    step_due,
    step_for_age,
)

PUBLISHED = datetime(2025, 11, 15, 10, 0, tzinfo=UTC)
TEHRAN = ZoneInfo("Asia/Tehran")
BERLIN = ZoneInfo("Europe/Berlin")


def test_steps_are_dense_after_publishing_then_thin_out() -> None:
    assert STEP_LABELS == ("1h", "6h", "24h", "3d", "7d", "30d")
    assert [step_due(PUBLISHED, i) for i in range(DONE)] == [
        datetime(2025, 11, 15, 11, 0, tzinfo=UTC),
        datetime(2025, 11, 15, 16, 0, tzinfo=UTC),
        datetime(2025, 11, 16, 10, 0, tzinfo=UTC),
        datetime(2025, 11, 18, 10, 0, tzinfo=UTC),
        datetime(2025, 11, 22, 10, 0, tzinfo=UTC),
        datetime(2025, 12, 15, 10, 0, tzinfo=UTC),
    ]
    gaps = [b - a for a, b in pairwise(STEPS)]
    assert gaps == sorted(gaps)  # each wait is at least as long as the one before
    assert step_due(PUBLISHED, DONE) is None  # after 30 days: stop


def test_a_collection_on_time_moves_to_the_next_step() -> None:
    at = PUBLISHED + timedelta(hours=1, minutes=3)
    assert advance(PUBLISHED, at) == (0, 1, PUBLISHED + timedelta(hours=6))
    assert advance(PUBLISHED, PUBLISHED + timedelta(days=7)) == (4, 5, PUBLISHED + timedelta(days=30))


def test_the_last_step_stops_collection() -> None:
    assert advance(PUBLISHED, PUBLISHED + timedelta(days=30, minutes=1)) == (5, DONE, None)
    assert advance(PUBLISHED, PUBLISHED + timedelta(days=400)) == (5, DONE, None)


def test_an_overdue_collection_is_labelled_with_the_latest_step_passed() -> None:
    # The worker was down for two days after the 1 h step: one snapshot, labelled 24h; 6h is a gap.
    assert advance(PUBLISHED, PUBLISHED + timedelta(days=2)) == (2, 3, PUBLISHED + timedelta(days=3))


def test_not_due_before_the_first_step() -> None:
    assert step_for_age(PUBLISHED, PUBLISHED + timedelta(minutes=59)) is None
    assert advance(PUBLISHED, PUBLISHED + timedelta(minutes=59)) == (None, 0, PUBLISHED + timedelta(hours=1))


def test_account_grid_every_six_hours_from_local_midnight() -> None:
    # 10:00 UTC is 13:30 in Tehran: the next point is 18:00 Tehran (14:30 UTC).
    assert next_account_due(datetime(2025, 11, 15, 10, 0, tzinfo=UTC), TEHRAN, 6) == datetime(
        2025, 11, 15, 14, 30, tzinfo=UTC
    )
    # After 18:00 the next point is the next local midnight (20:30 UTC).
    assert next_account_due(datetime(2025, 11, 15, 15, 0, tzinfo=UTC), TEHRAN, 6) == datetime(
        2025, 11, 15, 20, 30, tzinfo=UTC
    )
    # Exactly on a point: the next one, never the same.
    assert next_account_due(datetime(2025, 11, 15, 14, 30, tzinfo=UTC), TEHRAN, 6) == datetime(
        2025, 11, 15, 20, 30, tzinfo=UTC
    )


def test_account_grid_keeps_one_snapshot_a_day_whatever_the_interval() -> None:
    after = datetime(2025, 11, 15, 10, 0, tzinfo=UTC)
    assert next_account_due(after, TEHRAN, 48) == datetime(2025, 11, 15, 20, 30, tzinfo=UTC)  # local midnight
    # 5 hours does not divide a day: 00, 05, 10, 15, 20, then midnight again.
    assert next_account_due(datetime(2025, 11, 15, 16, 0, tzinfo=UTC), TEHRAN, 5) == datetime(
        2025, 11, 15, 16, 30, tzinfo=UTC
    )
    assert next_account_due(datetime(2025, 11, 15, 17, 0, tzinfo=UTC), TEHRAN, 5) == datetime(
        2025, 11, 15, 20, 30, tzinfo=UTC
    )


def test_account_grid_across_a_dst_change() -> None:
    # Berlin, Sunday 30 March 2025: clocks jump 02:00 → 03:00 (a 23-hour day). Points are 6 elapsed
    # hours apart from midnight (23:00 UTC): 05:00 UTC is 07:00 local; the next day starts at 22:00 UTC.
    assert next_account_due(datetime(2025, 3, 30, 0, 0, tzinfo=UTC), BERLIN, 6) == datetime(
        2025, 3, 30, 5, 0, tzinfo=UTC
    )
    assert next_account_due(datetime(2025, 3, 30, 17, 30, tzinfo=UTC), BERLIN, 6) == datetime(
        2025, 3, 30, 22, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(("value", "hours"), [(None, 6.0), ("12", 12.0), ("0.1", 1.0), ("soon", 6.0)])
def test_account_hours_setting(settings: Any, monkeypatch: pytest.MonkeyPatch, value: str | None, hours: float) -> None:
    monkeypatch.delenv("SOKHAN_ANALYTICS_ACCOUNT_HOURS", raising=False)
    if value is not None:
        settings.SOKHAN_ANALYTICS_ACCOUNT_HOURS = value
    assert account_hours() == hours
