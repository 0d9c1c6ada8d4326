"""Goal progress, projection and the at-risk warning.

* followers / follower growth: the followers (summed over the goal's channels, on days every one of
  them has a count) are fitted with a least-squares line over the last ``PACE_DAYS`` days of the
  daily rollup; the projection is that line at the deadline. Growth is measured from ``start``.
* engagement rate / posts per week: the value over the last ``PACE_DAYS`` days; at the current pace
  it stays the same, so the projection is that value.

A goal is at risk when its projection misses the target by the deadline, or when there is too
little data to project (``no_data``); after the deadline it is achieved or missed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sokhan.analytics.dashboard import Period, post_rows, totals
from sokhan.analytics.models import AccountDaily, Goal, GoalMetric

PACE_DAYS = 28


def linear_projection(points: Sequence[tuple[date, float]], at: date) -> float | None:
    """The least-squares line through ``points`` evaluated at ``at``; None with fewer than two days."""
    if len({d for d, _ in points}) < 2:
        return None
    origin = points[0][0]
    xs = [(d - origin).days for d, _ in points]
    ys = [v for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return my + slope * ((at - origin).days - mx)


def followers_by_day(goal: Goal, start: date, end: date) -> list[tuple[date, float]]:
    """Total followers of the goal's channels per day, only on days each channel has a count."""
    rows = AccountDaily.objects.filter(
        workspace_id=goal.workspace_id, day__gte=start, day__lte=end, followers__isnull=False
    )
    if goal.channel_id is not None:
        rows = rows.filter(channel_id=goal.channel_id)
    per_day: dict[date, dict[int, int]] = defaultdict(dict)
    for channel_id, day, followers in rows.values_list("channel_id", "day", "followers"):
        per_day[day][channel_id] = int(followers or 0)  # NULLs are filtered out
    channels = {c for counts in per_day.values() for c in counts}
    return sorted((d, float(sum(c.values()))) for d, c in per_day.items() if set(c) == channels)


@dataclass
class GoalStatus:
    goal: Goal
    baseline: float | None  # followers at the start (follower goals)
    current: float | None
    projected: float | None
    state: str  # on_track, at_risk, no_data, achieved, missed

    @property
    def progress(self) -> float:
        """0–100: how far the current value is from the baseline (or 0) to the target."""
        if self.current is None:
            return 0.0
        base = self.baseline if self.goal.metric == GoalMetric.FOLLOWERS and self.baseline is not None else 0.0
        span = self.goal.target - base
        if span <= 0:
            return 100.0 if self.current >= self.goal.target else 0.0
        return max(0.0, min(100.0, (self.current - base) / span * 100))

    @property
    def decimals(self) -> int:
        """For display: followers are whole numbers, the rest one decimal."""
        return 0 if self.goal.metric == GoalMetric.FOLLOWERS else 1

    @property
    def at_risk(self) -> bool:
        return self.state in ("at_risk", "no_data")


def _growth(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return (value - baseline) / baseline * 100


def status(goal: Goal, today: date) -> GoalStatus:
    end = min(today, goal.deadline)
    window = Period.ending(end, PACE_DAYS)
    baseline = current = projected = None
    if goal.metric in (GoalMetric.FOLLOWERS, GoalMetric.FOLLOWER_GROWTH):
        series = followers_by_day(goal, min(goal.start, window.start), end)
        before = [v for d, v in series if d <= goal.start]
        after = [v for d, v in series if d >= goal.start]
        baseline = before[-1] if before else (after[0] if after else None)
        current = series[-1][1] if series else None
        projected = linear_projection([p for p in series if p[0] >= window.start], goal.deadline)
        if goal.metric == GoalMetric.FOLLOWER_GROWTH:
            current, projected = _growth(current, baseline), _growth(projected, baseline)
    else:
        rows = post_rows(goal.workspace, window, channel_id=goal.channel_id)
        if goal.metric == GoalMetric.POSTS_PER_WEEK:
            current = len(rows) / (PACE_DAYS / 7)
        else:
            t = totals(rows)
            current = t.rate_impressions if t.rate_impressions is not None else t.rate_followers
        projected = current
    return GoalStatus(goal, baseline, current, projected, _state(goal, today, current, projected))


def _state(goal: Goal, today: date, current: float | None, projected: float | None) -> str:
    reached = current is not None and current >= goal.target
    if today > goal.deadline:
        return "achieved" if reached else "missed"
    if reached and goal.metric not in (GoalMetric.ENGAGEMENT_RATE, GoalMetric.POSTS_PER_WEEK):
        return "achieved"
    if projected is None:
        return "no_data"
    return "on_track" if projected >= goal.target else "at_risk"
