"""Goals: linear projection at the current pace, progress and the at-risk warning."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tests.analytics.helpers import mastodon_channel
from tests.analytics.pagedata import daily

from sokhan.analytics import goals
from sokhan.analytics.models import Goal, GoalMetric
from sokhan.core.models import Workspace

DAY0 = date(2025, 11, 1)
TODAY = DAY0 + timedelta(days=27)


def test_linear_projection() -> None:
    points = [(DAY0, 100.0), (DAY0 + timedelta(days=1), 110.0), (DAY0 + timedelta(days=2), 120.0)]
    assert goals.linear_projection(points, DAY0 + timedelta(days=10)) == pytest.approx(200.0)
    assert goals.linear_projection(points[:1], DAY0 + timedelta(days=10)) is None


@pytest.fixture
def growing(workspace: Workspace) -> Workspace:
    """28 days of followers: 1000 on DAY0, +10 a day (1270 today); one day missing."""
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    for i in range(28):
        if i != 13:
            daily(channel, DAY0 + timedelta(days=i), 1000 + 10 * i)
    return workspace


def _goal(workspace: Workspace, metric: str, target: float, deadline: date) -> Goal:
    return Goal.objects.create(workspace=workspace, metric=metric, target=target, start=DAY0, deadline=deadline)


@pytest.mark.django_db
def test_followers_goal_projection_and_progress(growing: Workspace) -> None:
    deadline = TODAY + timedelta(days=30)  # projected 1270 + 300 = 1570
    on_track = goals.status(_goal(growing, GoalMetric.FOLLOWERS, 1500, deadline), TODAY)
    assert (on_track.baseline, on_track.current) == (1000, 1270)
    assert on_track.projected == pytest.approx(1570)
    assert on_track.state == "on_track" and not on_track.at_risk
    assert on_track.progress == pytest.approx(54.0)  # 270 of 500
    at_risk = goals.status(_goal(growing, GoalMetric.FOLLOWERS, 1600, deadline), TODAY)
    assert at_risk.state == "at_risk" and at_risk.at_risk


@pytest.mark.django_db
def test_growth_goal_in_percent(growing: Workspace) -> None:
    deadline = TODAY + timedelta(days=30)
    s = goals.status(_goal(growing, GoalMetric.FOLLOWER_GROWTH, 50, deadline), TODAY)
    assert s.current == pytest.approx(27.0)
    assert s.projected == pytest.approx(57.0)
    assert s.state == "on_track"
    assert goals.status(_goal(growing, GoalMetric.FOLLOWER_GROWTH, 60, deadline), TODAY).state == "at_risk"


@pytest.mark.django_db
def test_no_data_is_at_risk_and_deadlines_pass(growing: Workspace, workspace: Workspace) -> None:
    s = goals.status(_goal(growing, GoalMetric.POSTS_PER_WEEK, 3, TODAY + timedelta(days=5)), TODAY)
    assert (s.current, s.state) == (0.0, "at_risk")
    empty = Goal.objects.create(
        workspace=workspace,
        channel=mastodon_channel(workspace, "http://127.0.0.1:8", remote_id="2"),
        metric=GoalMetric.FOLLOWERS,
        target=10,
        start=DAY0,
        deadline=TODAY + timedelta(days=5),
    )
    assert goals.status(empty, TODAY).state == "no_data"
    after = TODAY + timedelta(days=1)
    assert goals.status(_goal(growing, GoalMetric.FOLLOWERS, 1200, TODAY), after).state == "achieved"
    assert goals.status(_goal(growing, GoalMetric.FOLLOWERS, 1300, TODAY), after).state == "missed"
