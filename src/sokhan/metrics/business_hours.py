"""Business hours: a weekly schedule of open intervals in one IANA time zone, and how much open time
lies between two instants (for the business-hours variants of the response metrics).

Stored as JSON by ISO weekday as a string (Monday "0" … Sunday "6"), each day a list of
``["HH:MM", "HH:MM"]`` intervals; "24:00" may end a day. A night shift is written as two intervals
(``["22:00", "24:00"]`` and the next day's ``["00:00", "06:00"]``). A day that is missing or empty is
closed. Intervals are wall-clock times in the schedule's zone, so 09:00–17:00 stays 09:00–17:00
across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _

from sokhan.core.calendars import weekday_name
from sokhan.core.errors import DomainError

MINUTES_PER_DAY = 24 * 60
TEHRAN = "Asia/Tehran"

Interval = tuple[int, int]  # minutes after local midnight; the end may be 1440 ("24:00")

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def _format(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _zone(name: str) -> ZoneInfo:
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("Unknown time zone: %(tz)s") % {"tz": name}, fields={"timezone": "unknown"}) from None


def _require_aware(*values: datetime) -> None:
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("business hours need aware datetimes")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Open intervals for each Python weekday (index 0 Monday … 6 Sunday), sorted and disjoint."""

    days: tuple[tuple[Interval, ...], ...]
    timezone: str

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("business hours need seven days")
        _zone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # -- JSON ------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: object, timezone: str) -> BusinessHours:
        """Read ``{"0": [["09:00", "17:00"]], …}``; every problem is named in the ``DomainError``'s
        ``fields`` (keys ``business_hours.<day>`` or ``business_hours.<day>.<n>``, and ``timezone``)."""
        problems: dict[str, str] = {}
        days: list[list[Interval]] = [[] for _day in range(7)]
        if not isinstance(data, dict):
            problems["business_hours"] = _("Business hours must map weekdays (0 to 6) to lists of intervals.")
            data = {}
        for key, value in data.items():
            field = f"business_hours.{key}"
            if not isinstance(key, str) or key not in {"0", "1", "2", "3", "4", "5", "6"}:
                problems[field] = _("Unknown weekday %(key)s: use 0 (Monday) to 6 (Sunday).") % {"key": key}
                continue
            day = int(key)
            if not isinstance(value, list):
                problems[field] = _("The hours of %(day)s must be a list of [start, end] pairs.") % {
                    "day": weekday_name(day)
                }
                continue
            for n, pair in enumerate(value):
                interval = _read_interval(pair, day, f"{field}.{n}", problems)
                if interval is not None:
                    days[day].append(interval)
            _check_overlaps(days[day], day, field, problems)
        try:
            _zone(timezone)
        except DomainError as exc:
            problems["timezone"] = exc.message
        if problems:
            raise DomainError(" ".join(problems.values()), fields=problems)
        return cls(tuple(tuple(sorted(day)) for day in days), timezone)

    def to_json(self) -> dict[str, list[list[str]]]:
        return {
            str(day): [[_format(start), _format(end)] for start, end in intervals]
            for day, intervals in enumerate(self.days)
            if intervals
        }

    # -- Queries ---------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls in an open interval, read on the local wall clock."""
        _require_aware(at)
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return any(start <= minute < end for start, end in self.days[local.weekday()])

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of open time in ``[start, end)``; 0 when ``end`` is not after ``start``.

        Each local day's intervals are turned into real instants before they are intersected, so a
        DST change is counted as the time that actually passed (an open hour the clocks skip is not
        open; one they repeat is open twice)."""
        _require_aware(start, end)
        if end <= start:
            return 0.0
        zone = self.zone
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        total = 0.0
        while day <= last:
            for begin, finish in self.days[day.weekday()]:
                lo = max(self._instant(day, begin), start_utc)
                hi = min(self._instant(day, finish), end_utc)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def _instant(self, day: date, minutes: int) -> datetime:
        # "24:00" is the next day's midnight; comparisons and subtraction happen in UTC because
        # Python compares datetimes sharing one tzinfo by wall clock, which is wrong across DST.
        day += timedelta(days=minutes // MINUTES_PER_DAY)
        minutes %= MINUTES_PER_DAY
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone).astimezone(UTC)


def _parse_time(value: object, *, end: bool) -> int | None:
    """Minutes after midnight, or None when ``value`` is not HH:MM (24:00 only as an end)."""
    if not isinstance(value, str):
        return None
    match = _TIME.fullmatch(value.strip())
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def _read_interval(pair: object, day: int, field: str, problems: dict[str, str]) -> Interval | None:
    name = weekday_name(day)
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        problems[field] = _('Each interval on %(day)s must be a pair of times such as ["09:00", "17:00"].') % {
            "day": name
        }
        return None
    start, end = _parse_time(pair[0], end=False), _parse_time(pair[1], end=True)
    for raw, parsed in ((pair[0], start), (pair[1], end)):
        if parsed is None:
            problems[field] = _(
                "“%(value)s” on %(day)s is not a time: write HH:MM, such as 09:00 (24:00 may end a day)."
            ) % {
                "value": raw,
                "day": name,
            }
            return None
    assert start is not None and end is not None
    if end <= start:
        problems[field] = _("The interval %(start)s–%(end)s on %(day)s must end after it starts.") % {
            "start": pair[0],
            "end": pair[1],
            "day": name,
        }
        return None
    return start, end


def _check_overlaps(intervals: list[Interval], day: int, field: str, problems: dict[str, str]) -> None:
    ordered = sorted(intervals)
    for previous, current in pairwise(ordered):
        if current[0] < previous[1]:
            problems[field] = _("The intervals %(first)s and %(second)s on %(day)s overlap.") % {
                "first": f"{_format(previous[0])}–{_format(previous[1])}",
                "second": f"{_format(current[0])}–{_format(current[1])}",
                "day": weekday_name(day),
            }
            return


def _schedule(hours: dict[int, Interval]) -> tuple[tuple[Interval, ...], ...]:
    return tuple((hours[day],) if day in hours else () for day in range(7))


NINE_TO_FIVE = (9 * 60, 17 * 60)


def default_for(language: str, timezone: str = "") -> BusinessHours:
    """The hours a workspace has until it sets its own.

    Persian: Saturday–Wednesday 09:00–17:00, Thursday 09:00–13:00, Friday closed, in Asia/Tehran
    (the Iranian working week). Otherwise Monday–Friday 09:00–17:00. ``timezone`` (the workspace's)
    overrides the zone; without it an English workspace uses ``settings.TIME_ZONE``."""
    if (language or "").lower().startswith("fa"):
        thursday = (9 * 60, 13 * 60)
        days = {5: NINE_TO_FIVE, 6: NINE_TO_FIVE, 0: NINE_TO_FIVE, 1: NINE_TO_FIVE, 2: NINE_TO_FIVE, 3: thursday}
        return BusinessHours(_schedule(days), timezone or TEHRAN)
    return BusinessHours(_schedule(dict.fromkeys(range(5), NINE_TO_FIVE)), timezone or settings.TIME_ZONE)
