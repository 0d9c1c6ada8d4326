"""When snapshots are due.

Posts: a snapshot at each step after publishing — dense while a post is young and most of its
engagement arrives, thinning out after — then none. A step found overdue (the worker was down) is
collected once, labelled with the latest step its age has passed; the steps it skipped stay gaps.

Accounts: on a grid of every ``N`` hours (``SOKHAN_ANALYTICS_ACCOUNT_HOURS``, default 6) starting
at local midnight in the workspace's zone, so every channel has a snapshot right after each local
day starts (the day's "once a day" point, whatever N is) and all channels of a workspace line up.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.conf import settings

STEPS: tuple[timedelta, ...] = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=30),
)
STEP_LABELS: tuple[str, ...] = ("1h", "6h", "24h", "3d", "7d", "30d")
DONE = len(STEPS)  # the step index of a finished collection


def account_hours() -> float:
    """Hours between account snapshots (Django setting, else environment, else 6); at least 1."""
    raw = getattr(settings, "SOKHAN_ANALYTICS_ACCOUNT_HOURS", None) or os.environ.get(
        "SOKHAN_ANALYTICS_ACCOUNT_HOURS", "6"
    )
    try:
        hours = float(raw)
    except ValueError:
        hours = 6.0
    return max(1.0, hours)


def step_due(published_at: datetime, step: int) -> datetime | None:
    """When step ``step`` of a post published at ``published_at`` is due; None after the last."""
    return published_at + STEPS[step] if step < DONE else None


def step_for_age(published_at: datetime, now: datetime) -> int | None:
    """The latest step whose time has come at ``now`` (None: not even the first)."""
    age = now.astimezone(UTC) - published_at.astimezone(UTC)
    passed = [i for i, offset in enumerate(STEPS) if offset <= age]
    return passed[-1] if passed else None


def advance(published_at: datetime, now: datetime) -> tuple[int | None, int, datetime | None]:
    """(step to label a snapshot taken now, next step, its due time or None when done)."""
    step = step_for_age(published_at, now)
    following = 0 if step is None else step + 1
    return step, following, step_due(published_at, following)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def next_account_due(after: datetime, zone: tzinfo, hours: float | None = None) -> datetime:
    """The first grid point strictly after ``after``: local midnight + k × N hours (elapsed time, so
    a DST change shifts that day's later points by an hour), and the next local midnight always."""
    step = timedelta(hours=hours if hours is not None else account_hours())
    # Arithmetic in UTC: between two datetimes sharing a ZoneInfo Python counts wall-clock time.
    local = after.astimezone(zone)
    start = _midnight(local.date(), zone).astimezone(UTC)
    end = _midnight(local.date() + timedelta(days=1), zone).astimezone(UTC)
    point = start + step * (int((after.astimezone(UTC) - start) / step) + 1)
    return point if point < end else end
