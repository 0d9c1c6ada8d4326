"""Time series with explicit gaps, and aggregates that skip what is missing (pure functions).

A chart needs one point per bucket of the period, with ``None`` where nothing was measured, so it
draws a gap instead of a line through zero. An aggregate says how many values it used and how many
were missing, so a total over a month with three missing days is not mistaken for a full one.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from sokhan.analytics.schedule import account_hours

How = Literal["sum", "mean", "min", "max", "first", "last"]


@dataclass(frozen=True, slots=True)
class Aggregate:
    value: float | None  # None when no value was there to aggregate
    points: int  # values used
    missing: int  # values that were missing (None), skipped


def aggregate(values: Iterable[float | None], how: How) -> Aggregate:
    """``how`` over the values that are there; missing ones are skipped and counted."""
    items = list(values)
    known = [v for v in items if v is not None]
    missing = len(items) - len(known)
    if not known:
        return Aggregate(None, 0, missing)
    result: float
    if how == "sum":
        result = float(sum(known))
    elif how == "mean":
        result = statistics.fmean(known)
    elif how == "min":
        result = float(min(known))
    elif how == "max":
        result = float(max(known))
    elif how == "first":
        result = float(known[0])
    elif how == "last":
        result = float(known[-1])
    else:
        raise ValueError(f"unknown aggregate: {how}")
    return Aggregate(result, len(known), missing)


def with_gaps[K, V](keys: Sequence[K], values: Mapping[K, V]) -> list[tuple[K, V | None]]:
    """One ``(key, value)`` per key, in order, ``None`` where ``values`` has nothing."""
    return [(key, values.get(key)) for key in keys]


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _day_points(day: date, zone: tzinfo, step: timedelta) -> list[datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    points = []
    at = start
    while at < end:
        points.append(at)
        at += step
    return points


def grid(start: date, end: date, zone: tzinfo, hours: float | None = None) -> list[datetime]:
    """The account snapshot grid (see ``schedule``) of the days ``start`` … ``end``, in UTC."""
    step = timedelta(hours=hours if hours is not None else account_hours())
    return [point for day in days(start, end) for point in _day_points(day, zone, step)]


def grid_floor(at: datetime, zone: tzinfo, hours: float | None = None) -> datetime:
    """The grid point at or before ``at``: the slot a snapshot taken at ``at`` fills."""
    step = timedelta(hours=hours if hours is not None else account_hours())
    points = _day_points(at.astimezone(zone).date(), zone, step)
    moment = at.astimezone(UTC)
    return [p for p in points if p <= moment][-1]
