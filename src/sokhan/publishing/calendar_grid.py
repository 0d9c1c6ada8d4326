"""Month and week grids for the publishing calendar, in the viewer's calendar and time zone.

Pure date arithmetic (no requests, no database): the calendar page asks for a grid around an
anchor day, then drops its items into days with :func:`bucket_by_day`. A Jalali month is a real
Jalali month (1 Farvardin … 29/30 Esfand), so its first week may start in the previous Gregorian
month. Weeks start on ``week_start`` (a Python weekday, Monday == 0): Saturday for Persian
viewers, Monday otherwise (see :func:`sokhan.core.calendars.first_weekday`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sokhan.core.calendars import (
    CalendarName,
    aware_datetime,
    from_calendar,
    gregorian_month_length,
    jalali_month_length,
    month_bounds,
    to_calendar,
    week_bounds,
)


@dataclass(frozen=True)
class Day:
    """One cell of a grid: a Gregorian ``date`` and its day number in the grid's calendar."""

    date: date
    number: int
    in_month: bool
    weekend: bool
    today: bool

    @property
    def iso(self) -> str:
        return self.date.isoformat()


@dataclass(frozen=True)
class MonthGrid:
    calendar: CalendarName
    year: int
    month: int
    first: date  # the month's first and last day
    last: date
    weekdays: tuple[int, ...]  # column order, Python weekdays
    weeks: tuple[tuple[Day, ...], ...]

    @property
    def start(self) -> date:
        return self.weeks[0][0].date

    @property
    def end(self) -> date:
        """The grid's last day (inclusive)."""
        return self.weeks[-1][-1].date


@dataclass(frozen=True)
class WeekGrid:
    weekdays: tuple[int, ...]
    days: tuple[Day, ...]

    @property
    def start(self) -> date:
        return self.days[0].date

    @property
    def end(self) -> date:
        return self.days[-1].date


def weekday_order(week_start: int) -> tuple[int, ...]:
    """The seven Python weekdays in column order, starting at ``week_start``."""
    return tuple((week_start + offset) % 7 for offset in range(7))


def month_length(year: int, month: int, calendar: CalendarName) -> int:
    return jalali_month_length(year, month) if calendar == "jalali" else gregorian_month_length(year, month)


def month_grid(
    anchor: date,
    *,
    calendar: CalendarName,
    week_start: int,
    weekend: frozenset[int],
    today: date | None = None,
) -> MonthGrid:
    """The full weeks covering the month (in ``calendar``) that contains ``anchor``."""
    first, last = month_bounds(anchor, calendar)
    year, month, _day = to_calendar(first, calendar)
    start, _ = week_bounds(first, week_start=week_start)
    _, end = week_bounds(last, week_start=week_start)
    weeks: list[tuple[Day, ...]] = []
    day = start
    while day <= end:
        week = []
        for _offset in range(7):
            week.append(_day_cell(day, calendar, in_month=first <= day <= last, weekend=weekend, today=today))
            day += timedelta(days=1)
        weeks.append(tuple(week))
    return MonthGrid(
        calendar=calendar,
        year=year,
        month=month,
        first=first,
        last=last,
        weekdays=weekday_order(week_start),
        weeks=tuple(weeks),
    )


def week_grid(
    anchor: date,
    *,
    calendar: CalendarName,
    week_start: int,
    weekend: frozenset[int],
    today: date | None = None,
) -> WeekGrid:
    start, _ = week_bounds(anchor, week_start=week_start)
    days = tuple(
        _day_cell(start + timedelta(days=i), calendar, in_month=True, weekend=weekend, today=today) for i in range(7)
    )
    return WeekGrid(weekdays=weekday_order(week_start), days=days)


def _day_cell(day: date, calendar: CalendarName, *, in_month: bool, weekend: frozenset[int], today: date | None) -> Day:
    return Day(
        date=day,
        number=to_calendar(day, calendar).day,
        in_month=in_month,
        weekend=day.weekday() in weekend,
        today=day == today,
    )


def shift_month(anchor: date, months: int, calendar: CalendarName) -> date:
    """The same day number ``months`` months later (or earlier), clamped to the month's length."""
    year, month, day = to_calendar(anchor, calendar)
    index = year * 12 + (month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return from_calendar(year, month, min(day, month_length(year, month, calendar)), calendar)


# ------------------------------------------------------------------ local days and times


def day_range_utc(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` local in ``tz``, as aware UTC datetimes."""
    return _midnight(first, tz), _midnight(last + timedelta(days=1), tz)


def _midnight(day: date, tz: tzinfo) -> datetime:
    # A zone that skips midnight (a DST jump at 00:00) starts that day at the first real minute.
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def bucket_by_day[T](items: Iterable[T], when: Callable[[T], datetime], tz: tzinfo) -> dict[date, list[T]]:
    """Items grouped by the local date (in ``tz``) of ``when(item)``, each day in time order."""
    days: dict[date, list[T]] = {}
    for item in sorted(items, key=when):
        days.setdefault(when(item).astimezone(tz).date(), []).append(item)
    return days


def moved_to(at: datetime, day: date, tz: tzinfo, *, hour: int | None = None, minute: int | None = None) -> datetime:
    """``at`` moved to local ``day`` in ``tz``, keeping its local wall-clock time (or with a new
    ``hour``/``minute``). A time the clocks skip on that day raises ``InvalidDateError``."""
    local = at.astimezone(tz)
    wall = time(local.hour if hour is None else hour, local.minute if minute is None else minute)
    return aware_datetime(day, wall, tz)


def upcoming_slots(slots: Sequence[tuple[int, time]], *, after: datetime, tz: tzinfo, count: int) -> list[datetime]:
    """The next ``count`` weekly slot times (Python weekday, wall-clock time in ``tz``) strictly
    after ``after``, as aware UTC datetimes. Same rules as :mod:`sokhan.publishing.queue`: a time
    the clocks skip moves forward by the gap, a repeated one means its first occurrence."""
    if not slots or count <= 0:
        return []
    by_weekday: dict[int, list[time]] = {}
    for weekday, at in slots:
        by_weekday.setdefault(weekday, []).append(at)
    found: list[datetime] = []
    start = after.astimezone(tz).date()
    offset = 0
    while len(found) < count and offset < 7 * (count + 2):
        day = start + timedelta(days=offset)
        offset += 1
        candidates = sorted(
            {
                datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)
                for at in by_weekday.get(day.weekday(), [])
            }
        )
        found.extend(c for c in candidates if c > after)
    return found[:count]
