"""Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in a time zone.

Supports ``*``, lists, ranges, steps (``*/15``, ``1-30/2``), month and weekday names, ``7`` as Sunday
and the usual ``@hourly``/``@daily``/``@weekly``/``@monthly``/``@yearly`` macros. Like Vixie cron, when
both day fields are restricted a day matches if *either* does. Times are wall-clock times in the
schedule's zone: a time skipped by a DST jump does not fire, a repeated one fires once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from django.utils.translation import gettext as _

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_DAYS = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
# Enough to walk past the rarest real schedule (29 February on a given weekday: 28 years).
_SEARCH_LIMIT = timedelta(days=366 * 29)


class CronError(ValueError):
    """The expression is malformed; the message names the field."""


def _value(token: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    key = token.lower()
    if key in names:
        return names[key]
    if not token.isdigit():
        raise CronError(_("Invalid %(field)s value “%(value)s”.") % {"field": field, "value": token})
    number = int(token)
    if not low <= number <= high:
        raise CronError(
            _("%(field)s value %(value)s is outside %(low)s–%(high)s.")
            % {"field": field, "value": number, "low": low, "high": high}
        )
    return number


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(_("Empty item in %(field)s field.") % {"field": field})
        base, _slash, step_text = part.partition("/")
        step = 1
        if _slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(_("Invalid step “%(step)s” in %(field)s field.") % {"step": step_text, "field": field})
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _dash, last = base.partition("-")
            start, end = _value(first, field, low, high, names), _value(last, field, low, high, names)
            if start > end:
                raise CronError(
                    _("Range %(range)s in %(field)s field runs backwards.") % {"range": base, "field": field}
                )
        else:
            start = _value(base, field, low, high, names)
            end = high if _slash else start  # "5/15" means from 5 every 15
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        expanded = _MACROS.get(text.strip().lower(), text)
        parts = expanded.split()
        if len(parts) != 5:
            raise CronError(
                _("A cron expression has 5 fields (minute hour day month weekday), got %(n)s.") % {"n": len(parts)}
            )
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(
            text=text.strip(),
            minutes=sets[0],
            hours=sets[1],
            days=sets[2],
            months=sets[3],
            weekdays=weekdays,
            day_restricted=parts[2] != "*",
            weekday_restricted=parts[4] != "*",
        )

    def _day_matches(self, t: datetime) -> bool:
        day_ok = t.day in self.days
        weekday_ok = (t.weekday() + 1) % 7 in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime:
        """The first matching instant strictly after ``after`` (aware), returned in UTC."""
        if after.tzinfo is None:
            raise ValueError("next_after() needs an aware datetime.")
        # Walk naive wall-clock time in the schedule's zone, skipping whole months/days/hours.
        t = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + _SEARCH_LIMIT
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            local = t.replace(tzinfo=tz)  # fold=0: the first of a repeated wall-clock time
            instant = local.astimezone(UTC)
            exists = instant.astimezone(tz).replace(tzinfo=None) == t
            if exists and instant > after:
                return instant
            t += timedelta(minutes=1)
        raise CronError(_("The cron expression “%(text)s” never matches a real date.") % {"text": self.text})
