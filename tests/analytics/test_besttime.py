"""Best time to post: hour of week in the workspace's zone, the Saturday-first week and the
minimum-data rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.analytics.helpers import mastodon_channel
from tests.analytics.pagedata import post

from sokhan.analytics import besttime
from sokhan.core.models import Workspace

TEHRAN = ZoneInfo("Asia/Tehran")
SATURDAY = 5


def utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


# 22 Nov 2025 is a Saturday.
SAT_10 = utc(datetime(2025, 11, 22, 10, 15, tzinfo=TEHRAN))  # 06:45 UTC: the zone decides the hour
SUN_09 = utc(datetime(2025, 11, 23, 9, 0, tzinfo=TEHRAN))
MON_20 = utc(datetime(2025, 11, 24, 20, 0, tzinfo=TEHRAN))


def test_too_little_data_shows_nothing() -> None:
    posts = [(SAT_10, 4.0), (SAT_10 + timedelta(days=7), 6.0), (SUN_09, 10.0), (MON_20, None)]
    result = besttime.compute(posts, TEHRAN, SATURDAY, min_posts=4, min_per_slot=2)
    assert not result.enough
    assert result.posts == 3  # the post without a rate is left out
    assert all(c.rate is None for c in result.cells.values())
    assert result.best(3) == []


def test_hour_of_week_means_and_the_per_slot_minimum() -> None:
    posts = [(SAT_10, 4.0), (SAT_10 + timedelta(days=7), 6.0), (SUN_09, 10.0), (MON_20, 1.0), (MON_20, 3.0)]
    result = besttime.compute(posts, TEHRAN, SATURDAY, min_posts=4, min_per_slot=2)
    assert result.enough
    assert result.weekdays == [5, 6, 0, 1, 2, 3, 4]  # Saturday first
    assert result.cells[(SATURDAY, 10)].rate == pytest.approx(5.0)
    assert result.cells[(SATURDAY, 6)].posts == 0  # not the UTC hour
    assert result.cells[(6, 9)].rate is None  # one post: below the per-slot minimum
    assert result.cells[(6, 9)].posts == 1
    assert [(c.weekday, c.hour) for c in result.best(3)] == [(SATURDAY, 10), (0, 20)]


def test_monday_first_week_for_english_gregorian() -> None:
    result = besttime.compute([], TEHRAN, 0)
    assert result.weekdays == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.django_db
def test_workspace_week_start_and_best_slots(workspace: Workspace) -> None:
    assert besttime.week_start(workspace) == SATURDAY  # Persian, Jalali (the default)
    workspace.language, workspace.calendar = "en", "gregorian"
    assert besttime.week_start(workspace) == 0
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    today = date(2025, 11, 30)
    for week in range(besttime.MIN_POSTS):
        post(channel, SAT_10 - timedelta(days=7 * (week % 10)), likes=10 + week % 3, impressions=100)
    assert besttime.best_slots(workspace, 3, today=today) == [(SATURDAY, 10)]
    assert besttime.best_slots(workspace, 3, today=date(2024, 1, 1)) == []  # no posts then
