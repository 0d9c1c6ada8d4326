"""Recurring (evergreen) schedules as RFC 5545 RRULEs evaluated in local wall-clock time.

The rule is expanded over the *naive* local start (what the person picked: "09:00 every
Saturday"), then each local time is placed in the workspace's time zone:

* 09:00 in Europe/Berlin stays 09:00 local across the March and October switches, so its UTC
  time moves by an hour;
* a local time the clocks skip (spring-forward gap, e.g. 02:30 on the last Sunday of March in
  Berlin) moves forward to the first instant that exists, the moment the clocks jump (03:00 local);
* a local time that happens twice (fall-back) takes the first, earlier one.

``UNTIL`` may be a local date-time (``20260101T090000``), a date (``20260101``, inclusive) or a UTC
time (``…Z``, compared with the real instant). Only DAILY, WEEKLY, MONTHLY and YEARLY rules are
accepted: a social post more often than daily is a mistake worth an error. ``describe`` renders
a rule for the UI in English or Persian (Persian digits; dates in the chosen calendar). RRULE
months and month days are Gregorian (a "monthly on the 31st" rule skips months without a 31st).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # python-dateutil ships no types
from django.utils.translation import gettext as _

from sokhan.core.calendars import CalendarName, format_date, format_time, month_name, weekday_name
from sokhan.core.text import to_persian_digits

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_KNOWN_KEYS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYHOUR", "BYMINUTE", "WKST"}
)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$")
MAX_OCCURRENCES = 1000


class RecurrenceError(ValueError):
    """An RRULE that cannot be used; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated RRULE, split into its parts (values as written, upper-cased)."""

    parts: dict[str, str]
    until: datetime | date | None  # naive local datetime, a date, or an aware UTC datetime

    @property
    def freq(self) -> str:
        return self.parts["FREQ"]

    @property
    def interval(self) -> int:
        return int(self.parts.get("INTERVAL", "1"))

    def expansion_text(self) -> str:
        """The rule without UNTIL (applied by us, so local and UTC forms both work)."""
        return ";".join(f"{key}={value}" for key, value in self.parts.items() if key != "UNTIL")


def _ints(key: str, value: str, low: int, high: int, *, allow_negative: bool = False) -> list[int]:
    numbers: list[int] = []
    for item in value.split(","):
        try:
            number = int(item)
        except ValueError:
            raise RecurrenceError(_("%(key)s: “%(value)s” is not a number.") % {"key": key, "value": item}) from None
        magnitude = abs(number) if allow_negative else number
        if not low <= magnitude <= high or (number < 0 and not allow_negative):
            raise RecurrenceError(
                _("%(key)s: %(value)s is out of range (%(low)s–%(high)s).")
                % {"key": key, "value": number, "low": low, "high": high}
            )
        numbers.append(number)
    return numbers


def parse_rule(rrule: str) -> Rule:
    """Validate ``rrule`` (with or without the ``RRULE:`` prefix); ``RecurrenceError`` if unusable."""
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise RecurrenceError(_("The repeat rule is empty."))
    if "\n" in text or "DTSTART" in text.upper():
        raise RecurrenceError(_("Give only the RRULE part; the start time is chosen separately."))
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not value:
            raise RecurrenceError(_("“%(part)s” is not KEY=VALUE.") % {"part": piece})
        if key not in _KNOWN_KEYS:
            raise RecurrenceError(_("%(key)s is not supported in repeat rules.") % {"key": key})
        if key in parts:
            raise RecurrenceError(_("%(key)s is given twice.") % {"key": key})
        parts[key] = value
    if "FREQ" not in parts:
        raise RecurrenceError(_("FREQ is missing, e.g. FREQ=WEEKLY."))
    if parts["FREQ"] not in FREQUENCIES:
        raise RecurrenceError(
            _("FREQ=%(freq)s is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY.") % {"freq": parts["FREQ"]}
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError(_("Use COUNT or UNTIL, not both."))
    if "COUNT" in parts:
        _ints("COUNT", parts["COUNT"], 1, MAX_OCCURRENCES)
    if "INTERVAL" in parts:
        _ints("INTERVAL", parts["INTERVAL"], 1, 366)
    if "BYMONTHDAY" in parts:
        _ints("BYMONTHDAY", parts["BYMONTHDAY"], 1, 31, allow_negative=True)
    if "BYMONTH" in parts:
        _ints("BYMONTH", parts["BYMONTH"], 1, 12)
    if "BYSETPOS" in parts:
        _ints("BYSETPOS", parts["BYSETPOS"], 1, 366, allow_negative=True)
    if "BYHOUR" in parts:
        _ints("BYHOUR", parts["BYHOUR"], 0, 23)
    if "BYMINUTE" in parts:
        _ints("BYMINUTE", parts["BYMINUTE"], 0, 59)
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise RecurrenceError(_("WKST must be one of MO, TU, WE, TH, FR, SA, SU."))
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            found = _BYDAY.match(item)
            if not found:
                raise RecurrenceError(_("BYDAY: “%(value)s” is not a weekday such as SA or 1MO.") % {"value": item})
            if found.group(1) is not None:
                if parts["FREQ"] not in ("MONTHLY", "YEARLY"):
                    raise RecurrenceError(_("BYDAY with a number (e.g. 1MO) needs FREQ=MONTHLY or YEARLY."))
                _ints("BYDAY", found.group(1), 1, 53, allow_negative=True)
    until = _parse_until(parts["UNTIL"]) if "UNTIL" in parts else None
    rule = Rule(parts, until)
    try:
        rrulestr(rule.expansion_text(), dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(_("The repeat rule is not valid: %(error)s") % {"error": exc}) from exc
    return rule


def validate(rrule: str) -> None:
    parse_rule(rrule)


def _parse_until(value: str) -> datetime | date:
    found = _UNTIL.match(value)
    if not found:
        raise RecurrenceError(_("UNTIL must look like 20260321 or 20260321T090000 (or …Z for UTC)."))
    try:
        day = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        if found.group(4) is None:
            return day
        moment = datetime(day.year, day.month, day.day, int(found.group(4)), int(found.group(5)), int(found.group(6)))
    except ValueError:
        raise RecurrenceError(_("UNTIL: %(value)s is not a real date or time.") % {"value": value}) from None
    return moment.replace(tzinfo=UTC) if found.group(7) else moment


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecurrenceError(_("“%(tz)s” is not a known time zone.") % {"tz": tz}) from None


def localize(local: datetime, zone: ZoneInfo) -> datetime:
    """The aware UTC instant for naive wall-clock ``local`` in ``zone``.

    Skipped times move forward to the first instant that exists (when the clocks jump); repeated
    times take the first occurrence.
    """
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap: fold=1 reads the time with the offset after the jump, which lands before it.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def occurrences(rrule: str, *, start_local: datetime, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` occurrences strictly after ``after`` (aware), as aware UTC datetimes.

    ``start_local`` is the naive wall-clock start (DTSTART) in ``tz``; it is itself the first
    occurrence when it matches the rule, as RFC 5545 says.
    """
    if start_local.tzinfo is not None:
        raise RecurrenceError(_("The start must be a wall-clock time without a time zone."))
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    if count < 0:
        raise ValueError("count must not be negative")
    rule = parse_rule(rrule)
    zone = _zone(tz)
    expanded = rrulestr(rule.expansion_text(), dtstart=start_local.replace(microsecond=0))
    # Skip ahead cheaply: local times a couple of days before ``after`` cannot be after it.
    skip_to = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=2)
    result: list[datetime] = []
    if count == 0:
        return result
    source = expanded.xafter(skip_to, inc=True) if "COUNT" not in rule.parts and skip_to > start_local else expanded
    for local in source:
        if isinstance(rule.until, datetime) and rule.until.tzinfo is None and local > rule.until:
            break
        if isinstance(rule.until, date) and not isinstance(rule.until, datetime) and local.date() > rule.until:
            break
        instant = localize(local, zone)
        if isinstance(rule.until, datetime) and rule.until.tzinfo is not None and instant > rule.until:
            break
        if instant <= after:
            continue
        result.append(instant)
        if len(result) >= count:
            break
    return result


# ---------------------------------------------------------------------------------------------
# Descriptions

_UNITS_EN = {"DAILY": ("day", "days"), "WEEKLY": ("week", "weeks"), "MONTHLY": ("month", "months"),
             "YEARLY": ("year", "years")}  # fmt: skip
_UNITS_FA = {"DAILY": "روز", "WEEKLY": "هفته", "MONTHLY": "ماه", "YEARLY": "سال"}
_ORDINALS_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second to last"}
_ORDINALS_FA = {1: "اولین", 2: "دومین", 3: "سومین", 4: "چهارمین", 5: "پنجمین", -1: "آخرین", -2: "یکی مانده به آخرین"}


def _en_ordinal(number: int) -> str:
    if number < 0:
        return "last day" if number == -1 else f"{-number}th-to-last day"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _join(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    if language == "fa":
        return "، ".join(items[:-1]) + " و " + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe(rrule: str, *, language: str, calendar: CalendarName, start_local: datetime | None = None) -> str:
    """A sentence for the UI: "Every 2 weeks on Saturday and Monday at 09:00, 10 times",
    «هر ۲ هفته، شنبه و دوشنبه، ساعت ۰۹:۰۰، ۱۰ بار»."""
    rule = parse_rule(rrule)
    lang = "fa" if language.lower().startswith("fa") else "en"
    parts: list[str] = []
    interval = rule.interval
    if lang == "fa":
        unit = _UNITS_FA[rule.freq]
        parts.append(f"هر {unit}" if interval == 1 else f"هر {interval} {unit}")
    else:
        singular, plural = _UNITS_EN[rule.freq]
        parts.append(f"Every {singular}" if interval == 1 else f"Every {interval} {plural}")

    if "BYMONTH" in rule.parts:
        months = [month_name(int(m), calendar="gregorian", language=lang) for m in rule.parts["BYMONTH"].split(",")]
        parts.append(("در " if lang == "fa" else "in ") + _join(months, lang))
    if "BYMONTHDAY" in rule.parts:
        days = [int(d) for d in rule.parts["BYMONTHDAY"].split(",")]
        if lang == "fa":
            texts = ["روز آخر" if d == -1 else (f"{-d}امین روز از آخر" if d < 0 else f"روز {d}") for d in days]
            suffix = " ماه میلادی" if calendar == "jalali" else ""
            parts.append(_join(texts, lang) + suffix)
        else:
            texts = [_en_ordinal(d) for d in days]
            suffix = " of the Gregorian month" if calendar == "jalali" else ""
            parts.append("on the " + _join(texts, lang) + suffix)
    if "BYDAY" in rule.parts:
        names: list[str] = []
        for item in rule.parts["BYDAY"].split(","):
            found = _BYDAY.match(item)
            assert found is not None  # validated by parse_rule
            day_name = weekday_name(_WEEKDAYS.index(found.group(2)), language=lang)
            if found.group(1):
                number = int(found.group(1))
                ordinals = _ORDINALS_FA if lang == "fa" else _ORDINALS_EN
                ordinal = ordinals.get(number, f"{number}")
                names.append(f"{ordinal} {day_name}" if lang == "fa" else f"the {ordinal} {day_name}")
            else:
                names.append(day_name)
        parts.append(_join(names, lang) if lang == "fa" else "on " + _join(names, lang))
    times = _times(rule, start_local)
    if times:
        parts.append(("ساعت " if lang == "fa" else "at ") + _join(times, lang))
    if "COUNT" in rule.parts:
        count = int(rule.parts["COUNT"])
        if lang == "fa":
            parts.append(f"{count} بار")
        else:
            parts.append("once" if count == 1 else f"{count} times")
    if rule.until is not None:
        until_day = rule.until.date() if isinstance(rule.until, datetime) else rule.until
        formatted = format_date(until_day, calendar=calendar, language=lang)
        parts.append(f"تا {formatted}" if lang == "fa" else f"until {formatted}")
    if lang == "fa":
        return to_persian_digits("، ".join(parts))
    return parts[0] + "".join(
        (", " if part[0].isdigit() or part.startswith("until") else " ") + part for part in parts[1:]
    )


def _times(rule: Rule, start_local: datetime | None) -> list[str]:
    if "BYHOUR" in rule.parts:
        minutes = [int(m) for m in rule.parts.get("BYMINUTE", str(start_local.minute if start_local else 0)).split(",")]
        hours = [int(h) for h in rule.parts["BYHOUR"].split(",")]
        return [format_time(datetime(2000, 1, 1, h, m), language="en") for h in hours for m in minutes]
    if start_local is not None:
        return [format_time(start_local, language="en")]
    return []
