"""Best time to post, from the workspace's own published posts: the mean engagement rate (by
impressions, else by followers) per hour of the week in the workspace's time zone, weeks starting
Saturday for a Persian/Jalali workspace.

Minimum-data rule: nothing is shown unless at least ``MIN_POSTS`` posts with a rate were published
in the last ``LOOKBACK_DAYS`` days, and an hour of the week counts only with ``MIN_PER_SLOT`` posts.

``best_slots(workspace, n)`` is the hook for slot suggestions: the publishing queue (or anything
else) may call it; it returns ``[]`` when the data is too thin.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from django.utils import timezone

from sokhan.analytics.dashboard import Period, post_rows
from sokhan.analytics.rollups import workspace_zone
from sokhan.core.calendars import CalendarName, first_weekday
from sokhan.core.models import Workspace

MIN_POSTS = 20
MIN_PER_SLOT = 3
LOOKBACK_DAYS = 90


@dataclass(frozen=True, slots=True)
class Cell:
    weekday: int  # Python's: Monday 0 … Sunday 6
    hour: int
    posts: int
    rate: float | None  # None below MIN_PER_SLOT


@dataclass
class BestTime:
    enough: bool
    posts: int  # posts with a rate
    weekdays: list[int]  # the week's days in order (Saturday first for the Iranian week)
    cells: dict[tuple[int, int], Cell]

    def row(self, weekday: int) -> list[Cell]:
        return [self.cells[(weekday, hour)] for hour in range(24)]

    def best(self, n: int) -> list[Cell]:
        rated = [c for c in self.cells.values() if c.rate is not None] if self.enough else []
        return sorted(rated, key=lambda c: (-(c.rate or 0), -c.posts, self.weekdays.index(c.weekday), c.hour))[:n]


def compute(
    posts: Iterable[tuple[datetime, float | None]],
    zone: tzinfo,
    week_start: int,
    *,
    min_posts: int = MIN_POSTS,
    min_per_slot: int = MIN_PER_SLOT,
) -> BestTime:
    """The heatmap of ``(published_at, rate)`` pairs; posts without a rate are left out."""
    rates: dict[tuple[int, int], list[float]] = defaultdict(list)
    for at, rate in posts:
        if rate is not None:
            local = at.astimezone(zone)
            rates[(local.weekday(), local.hour)].append(rate)
    total = sum(len(v) for v in rates.values())
    enough = total >= min_posts
    cells = {}
    for weekday in range(7):
        for hour in range(24):
            found = rates.get((weekday, hour), [])
            rate = statistics.fmean(found) if enough and len(found) >= min_per_slot else None
            cells[(weekday, hour)] = Cell(weekday, hour, len(found), rate)
    weekdays = [(week_start + i) % 7 for i in range(7)]
    return BestTime(enough=enough, posts=total, weekdays=weekdays, cells=cells)


def week_start(workspace: Workspace) -> int:
    calendar: CalendarName = "jalali" if workspace.calendar == "jalali" else "gregorian"
    return first_weekday(calendar=calendar, language=workspace.language or "en")


def for_workspace(workspace: Workspace, today: date | None = None) -> BestTime:
    zone = workspace_zone(workspace)
    end = today or timezone.now().astimezone(zone).date()
    rows = post_rows(workspace, Period.ending(end, LOOKBACK_DAYS))
    return compute(((r.published_at, r.rate) for r in rows), zone, week_start(workspace))


def best_slots(workspace: Workspace, n: int = 3, today: date | None = None) -> list[tuple[int, int]]:
    """Up to ``n`` ``(weekday, hour)`` slots with the best mean rate; ``[]`` when data is too thin."""
    return [(c.weekday, c.hour) for c in for_workspace(workspace, today).best(n)]


def suggest_slots(workspace: Workspace, n: int) -> list[tuple[int, time]]:
    """``best_slots`` as the publishing queue's slot suggester (``publishing.queue``)."""
    return [(weekday, time(hour)) for weekday, hour in best_slots(workspace, n)]
