"""Inbox response metrics as pure functions over plain rows (no database), so every number can be
checked by hand. The definitions are in ``sokhan.metrics.definitions`` and docs/metrics.md.

Input: one ``Received`` per received message that needs a response, with when (and by whom) it was
first answered by a person. Output: ``Stats`` per group — overall, per channel, per agent (who
answered) or per day/week/month in the workspace's zone — with times in all hours or in business
hours.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sokhan.core.calendars import CalendarName, month_bounds, week_bounds
from sokhan.metrics.business_hours import BusinessHours

GroupBy = Literal["total", "channel", "agent", "day", "week", "month"]
GROUPS: tuple[GroupBy, ...] = get_args(GroupBy)
BUCKETS: frozenset[GroupBy] = frozenset({"day", "week", "month"})

# None for the total row and for answers with no known person (a member removed since, or a reply
# made on the network itself); a channel or user id; a bucket's first local day.
GroupKey = int | date | None

Duration = Callable[[datetime, datetime], float]


@dataclass(frozen=True, slots=True)
class Received:
    """A received message needing a response, and its first answer by a person (if any)."""

    id: int
    conversation_id: int
    channel_id: int
    created_at: datetime
    answered_at: datetime | None = None
    answered_by_id: int | None = None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True, slots=True)
class Stats:
    """The response metrics of one group. Times are seconds (``None`` when nothing to measure);
    ``response_rate`` is a ratio 0–1 (``None`` with nothing received, and for agents: an unanswered
    message belongs to no agent)."""

    received: int
    answered: int
    response_rate: float | None
    conversations: int  # conversations whose first message in the period is in this group
    first_responses: int  # how many of those first messages were answered
    first_response_time: float | None  # mean over those conversations
    average_response_time: float | None
    median_response_time: float | None


def elapsed(start: datetime, end: datetime) -> float:
    """All-hours duration: real seconds between two aware instants (never negative, so a reply
    stamped a little before the message by clock skew counts as instant). Subtracted in UTC: two
    datetimes sharing a tzinfo would be subtracted by wall clock, wrong across a DST change."""
    return max(0.0, (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds())


def duration_for(hours: BusinessHours | None) -> Duration:
    """All hours without a schedule; only open time with one."""
    return elapsed if hours is None else hours.open_seconds


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def median(values: list[float]) -> float | None:
    """The usual median: the middle value, or the mean of the two middle values for an even count."""
    return float(statistics.median(values)) if values else None


def in_period(rows: Iterable[Received], start: datetime, end: datetime) -> list[Received]:
    """Rows written in ``[start, end)``, oldest first (ties by id). Compared in UTC, for the same
    reason as in ``elapsed`` (a repeated autumn hour would otherwise sort by wall clock)."""
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    chosen = ((r.created_at.astimezone(UTC), r) for r in rows)
    return [r for _when, r in sorted((c for c in chosen if lo <= c[0] < hi), key=lambda c: (c[0], c[1].id))]


def first_per_conversation(rows: list[Received]) -> list[Received]:
    """Each conversation's first received message among ``rows`` (which are oldest first)."""
    firsts: dict[int, Received] = {}
    for row in rows:
        firsts.setdefault(row.conversation_id, row)
    return list(firsts.values())


def stats(rows: list[Received], firsts: list[Received], *, duration: Duration, agent: bool = False) -> Stats:
    """The metrics over ``rows`` (messages) and ``firsts`` (each conversation's first message)."""
    times = [duration(r.created_at, r.answered_at) for r in rows if r.answered_at is not None]
    first_times = [duration(r.created_at, r.answered_at) for r in firsts if r.answered_at is not None]
    received = len(rows)
    return Stats(
        received=received,
        answered=len(times),
        response_rate=None if agent or not received else len(times) / received,
        conversations=len(firsts),
        first_responses=len(first_times),
        first_response_time=mean(first_times),
        average_response_time=mean(times),
        median_response_time=median(times),
    )


def bucket_start(
    at: datetime, by: GroupBy, *, zone: tzinfo | str, week_start: int = 0, calendar: CalendarName = "gregorian"
) -> date:
    """The first local day of the day/week/month holding ``at``. Weeks start on ``week_start``
    (Python weekday: Saturday for the Iranian week); months follow ``calendar`` (Jalali months for
    Jalali workspaces)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    day = at.astimezone(tz).date()
    if by == "day":
        return day
    if by == "week":
        return week_bounds(day, week_start=week_start)[0]
    if by == "month":
        return month_bounds(day, calendar)[0]
    raise ValueError(f"not a period bucket: {by}")


def _next_bucket(start: date, by: GroupBy, calendar: CalendarName) -> date:
    if by == "day":
        return start + timedelta(days=1)
    if by == "week":
        return start + timedelta(days=7)
    return month_bounds(start, calendar)[1] + timedelta(days=1)


def compute(
    rows: Iterable[Received],
    *,
    start: datetime,
    end: datetime,
    group_by: GroupBy = "total",
    hours: BusinessHours | None = None,
    zone: tzinfo | str = "UTC",
    week_start: int = 0,
    calendar: CalendarName = "gregorian",
) -> list[tuple[GroupKey, Stats]]:
    """The metrics for messages written in ``[start, end)``, grouped, in all hours (``hours`` None)
    or business hours.

    A conversation's first response is decided over the whole period first and then filed under
    the group of that first message (its channel, its answerer, its bucket): grouping first would
    make a conversation's later message look like its first one.

    Rows: ``total`` one row keyed None; ``channel`` by channel id; ``agent`` by answerer (None: no
    known person), answered messages only; buckets oldest first, empty ones included so a chart has
    no gaps."""
    if group_by not in GROUPS:
        raise ValueError(f"unknown grouping: {group_by}")
    duration = duration_for(hours)
    period = in_period(rows, start, end)
    firsts = first_per_conversation(period)
    if group_by == "total":
        return [(None, stats(period, firsts, duration=duration))]

    def key(row: Received) -> GroupKey:
        if group_by == "channel":
            return row.channel_id
        if group_by == "agent":
            return row.answered_by_id
        return bucket_start(row.created_at, group_by, zone=zone, week_start=week_start, calendar=calendar)

    agent = group_by == "agent"
    members: dict[GroupKey, list[Received]] = defaultdict(list)
    leaders: dict[GroupKey, list[Received]] = defaultdict(list)
    for row in period:
        if not agent or row.answered:
            members[key(row)].append(row)
    for row in firsts:
        if not agent or row.answered:
            leaders[key(row)].append(row)

    if group_by in BUCKETS:
        keys: list[GroupKey] = []
        if end > start:
            current = bucket_start(start, group_by, zone=zone, week_start=week_start, calendar=calendar)
            last = bucket_start(
                end - timedelta(microseconds=1), group_by, zone=zone, week_start=week_start, calendar=calendar
            )
            while current <= last:
                keys.append(current)
                current = _next_bucket(current, group_by, calendar)
    else:
        # Ids in order; the agent "nobody known" row last.
        keys = sorted(members.keys() | leaders.keys(), key=lambda k: (k is None, k if isinstance(k, int) else 0))
    return [(k, stats(members.get(k, []), leaders.get(k, []), duration=duration, agent=agent)) for k in keys]
