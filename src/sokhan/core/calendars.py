"""Gregorian and Jalali (Solar Hijri) calendars: conversion, names, weeks, formatting, parsing.

Conversion uses Borkowski's algorithm (the one behind jalaali-js): Nowruz of every Jalali year is
computed from the table of breaks in the 33-year leap cycle, which matches the official Iranian
calendar for years 1–3177 (the 2820-year rule gets 1403/1404 wrong). Month and day
arithmetic is then ordinary ``datetime.date`` arithmetic from Nowruz.

Everything takes ``calendar`` ("gregorian"/"jalali", the values of ``core.models.Calendar``) and
``language`` ("en"/"fa"; region suffixes such as "fa-ir" are accepted) explicitly, so the same
helpers serve templates, the API, exports and e-mails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from sokhan.core.text import normalize_fa, to_persian_digits

CalendarName = Literal["gregorian", "jalali"]
DateStyle = Literal["long", "short", "numeric"]

# Python weekday numbers (Monday == 0).
SATURDAY = 5
FRIDAY = 4
IRANIAN_WEEK_START = SATURDAY
IRANIAN_WEEKEND = frozenset({FRIDAY})
ISO_WEEK_START = 0
ISO_WEEKEND = frozenset({5, 6})

JALALI_MIN_YEAR = 1
JALALI_MAX_YEAR = 3176
# Years below this are read as Jalali when guessing: Gregorian input for this product is modern,
# and the Jalali year will not reach 1700 until the 2320s.
JALALI_GUESS_LIMIT = 1700

_BREAKS = (-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324,
           2394, 2456, 3178)  # fmt: skip

JALALI_MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
                    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")  # fmt: skip
JALALI_MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
                    "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")  # fmt: skip
GREGORIAN_MONTHS_FA = ("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن",
                       "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر")  # fmt: skip
# Indexed by Python weekday (Monday == 0).
WEEKDAYS_FA = ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه")

_GREGORIAN_MONTHS_EN: tuple[Promise, ...] = (
    pgettext_lazy("month name", "January"),
    pgettext_lazy("month name", "February"),
    pgettext_lazy("month name", "March"),
    pgettext_lazy("month name", "April"),
    pgettext_lazy("month name", "May"),
    pgettext_lazy("month name", "June"),
    pgettext_lazy("month name", "July"),
    pgettext_lazy("month name", "August"),
    pgettext_lazy("month name", "September"),
    pgettext_lazy("month name", "October"),
    pgettext_lazy("month name", "November"),
    pgettext_lazy("month name", "December"),
)
_GREGORIAN_MONTHS_EN_SHORT: tuple[Promise, ...] = (
    pgettext_lazy("abbreviated month", "Jan"),
    pgettext_lazy("abbreviated month", "Feb"),
    pgettext_lazy("abbreviated month", "Mar"),
    pgettext_lazy("abbreviated month", "Apr"),
    pgettext_lazy("abbreviated month", "May"),
    pgettext_lazy("abbreviated month", "Jun"),
    pgettext_lazy("abbreviated month", "Jul"),
    pgettext_lazy("abbreviated month", "Aug"),
    pgettext_lazy("abbreviated month", "Sep"),
    pgettext_lazy("abbreviated month", "Oct"),
    pgettext_lazy("abbreviated month", "Nov"),
    pgettext_lazy("abbreviated month", "Dec"),
)
_WEEKDAYS_EN: tuple[Promise, ...] = (
    pgettext_lazy("weekday", "Monday"),
    pgettext_lazy("weekday", "Tuesday"),
    pgettext_lazy("weekday", "Wednesday"),
    pgettext_lazy("weekday", "Thursday"),
    pgettext_lazy("weekday", "Friday"),
    pgettext_lazy("weekday", "Saturday"),
    pgettext_lazy("weekday", "Sunday"),
)


class InvalidDateError(ValueError):
    """A year/month/day (or local time) that does not exist; the message names the bad part."""


class DateParseError(InvalidDateError):
    """User-typed date text that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, order=True, slots=True)
class JalaliDate:
    year: int
    month: int
    day: int

    def to_gregorian(self) -> date:
        return from_jalali(self.year, self.month, self.day)

    def weekday(self) -> int:
        """Python weekday (Monday == 0), the same day as the Gregorian date."""
        return self.to_gregorian().weekday()

    def __str__(self) -> str:
        return f"{self.year:04d}/{self.month:02d}/{self.day:02d}"


class CalendarDate(NamedTuple):
    """A date as year/month/day in a named calendar (for display and month grids)."""

    year: int
    month: int
    day: int


# ---------------------------------------------------------------------------------------------
# Conversion


def _nowruz_march_day(jalali_year: int) -> tuple[int, int]:
    """(Gregorian year, day in March) of 1 Farvardin — Borkowski / jalaali-js ``jalCal``."""
    if not JALALI_MIN_YEAR <= jalali_year <= JALALI_MAX_YEAR + 1:
        raise InvalidDateError(
            _("Jalali year %(year)s is outside the supported range %(low)s–%(high)s.")
            % {"year": jalali_year, "low": JALALI_MIN_YEAR, "high": JALALI_MAX_YEAR}
        )
    leap_j = -14
    jp = _BREAKS[0]
    jump = 0
    for jm in _BREAKS[1:]:
        jump = jm - jp
        if jalali_year < jm:
            break
        leap_j += (jump // 33) * 8 + (jump % 33) // 4
        jp = jm
    n = jalali_year - jp
    leap_j += (n // 33) * 8 + ((n % 33) + 3) // 4
    if jump % 33 == 4 and jump - n == 4:
        leap_j += 1
    gregorian_year = jalali_year + 621
    leap_g = gregorian_year // 4 - ((gregorian_year // 100 + 1) * 3) // 4 - 150
    return gregorian_year, 20 + leap_j - leap_g


def nowruz(jalali_year: int) -> date:
    """The Gregorian date of 1 Farvardin of ``jalali_year``."""
    gregorian_year, march_day = _nowruz_march_day(jalali_year)
    return date(gregorian_year, 3, 1) + timedelta(days=march_day - 1)


def is_jalali_leap(year: int) -> bool:
    """Whether Esfand of ``year`` has 30 days (e.g. 1403 yes, 1404 no)."""
    return (nowruz(year + 1) - nowruz(year)).days == 366


def jalali_month_length(year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise InvalidDateError(_("month %(month)s is out of range (1–12).") % {"month": month})
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if is_jalali_leap(year) else 29


def gregorian_month_length(year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise InvalidDateError(_("month %(month)s is out of range (1–12).") % {"month": month})
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - date(year, month, 1)).days


def _day_of_year_offset(month: int) -> int:
    return (month - 1) * 31 if month <= 7 else 186 + (month - 7) * 30


def from_jalali(year: int, month: int, day: int) -> date:
    """Gregorian ``date`` for a Jalali year/month/day; ``InvalidDateError`` if it does not exist."""
    length = jalali_month_length(year, month)
    if not 1 <= day <= length:
        raise InvalidDateError(
            _("day %(day)s does not exist in %(month)s %(year)s.")
            % {"day": day, "month": month_name(month, calendar="jalali"), "year": year}
        )
    return nowruz(year) + timedelta(days=_day_of_year_offset(month) + day - 1)


def from_gregorian(year: int, month: int, day: int) -> date:
    """``date(year, month, day)`` with our error messages instead of Python's."""
    if not 1 <= year <= 9999:
        raise InvalidDateError(_("year %(year)s is out of range.") % {"year": year})
    length = gregorian_month_length(year, month)
    if not 1 <= day <= length:
        raise InvalidDateError(
            _("day %(day)s does not exist in %(month)s %(year)s.")
            % {"day": day, "month": month_name(month, calendar="gregorian"), "year": year}
        )
    return date(year, month, day)


def _as_local_date(value: date, tz: tzinfo | str | None) -> date:
    if isinstance(value, datetime):
        if tz is not None:
            if dj_timezone.is_naive(value):
                raise ValueError("a naive datetime cannot be converted to a time zone")
            value = value.astimezone(_zone(tz))
        return value.date()
    return value


def to_jalali(value: date, *, tz: tzinfo | str | None = None) -> JalaliDate:
    """Jalali date of ``value``; an aware datetime is first moved to ``tz`` when given."""
    day = _as_local_date(value, tz)
    year = day.year - 621
    start = nowruz(year)
    if day < start:
        year -= 1
        start = nowruz(year)
    offset = (day - start).days
    if offset < 186:
        return JalaliDate(year, offset // 31 + 1, offset % 31 + 1)
    offset -= 186
    return JalaliDate(year, offset // 30 + 7, offset % 30 + 1)


def to_calendar(value: date, calendar: CalendarName) -> CalendarDate:
    if calendar == "jalali":
        j = to_jalali(value)
        return CalendarDate(j.year, j.month, j.day)
    return CalendarDate(value.year, value.month, value.day)


def from_calendar(year: int, month: int, day: int, calendar: CalendarName) -> date:
    return from_jalali(year, month, day) if calendar == "jalali" else from_gregorian(year, month, day)


def month_bounds(value: date, calendar: CalendarName) -> tuple[date, date]:
    """First and last Gregorian dates of the month containing ``value`` in ``calendar``."""
    year, month, _day = to_calendar(value, calendar)
    if calendar == "jalali":
        return from_jalali(year, month, 1), from_jalali(year, month, jalali_month_length(year, month))
    return date(year, month, 1), date(year, month, gregorian_month_length(year, month))


# ---------------------------------------------------------------------------------------------
# Weeks


def first_weekday(*, calendar: CalendarName, language: str) -> int:
    """Python weekday a week starts on: Saturday for the Iranian week, else Monday (ISO)."""
    return IRANIAN_WEEK_START if calendar == "jalali" or _lang(language) == "fa" else ISO_WEEK_START


def weekend_days(*, calendar: CalendarName, language: str) -> frozenset[int]:
    """Friday for the Iranian week, Saturday and Sunday otherwise."""
    return IRANIAN_WEEKEND if calendar == "jalali" or _lang(language) == "fa" else ISO_WEEKEND


def week_bounds(value: date, *, week_start: int = IRANIAN_WEEK_START) -> tuple[date, date]:
    """First and last day of the week containing ``value``."""
    start = value - timedelta(days=(value.weekday() - week_start) % 7)
    return start, start + timedelta(days=6)


# ---------------------------------------------------------------------------------------------
# Names


def _lang(language: str | None) -> str:
    return "fa" if (language or "").lower().startswith("fa") else "en"


def _english(text: Promise) -> str:
    # English names are translatable strings rendered in English on purpose: ``language`` is
    # explicit, so an English export must not pick up the viewer's active translation.
    with translation.override("en"):
        return str(text)


def month_name(month: int, *, calendar: CalendarName, language: str | None = None, short: bool = False) -> str:
    """Month name; ``language`` None means the active language."""
    if not 1 <= month <= 12:
        raise InvalidDateError(_("month %(month)s is out of range (1–12).") % {"month": month})
    lang = _lang(language if language is not None else translation.get_language())
    if calendar == "jalali":
        # Jalali month names are not abbreviated in either language.
        return (JALALI_MONTHS_FA if lang == "fa" else JALALI_MONTHS_EN)[month - 1]
    if lang == "fa":
        return GREGORIAN_MONTHS_FA[month - 1]
    return _english((_GREGORIAN_MONTHS_EN_SHORT if short else _GREGORIAN_MONTHS_EN)[month - 1])


def weekday_name(weekday: int, *, language: str | None = None) -> str:
    """Name of a Python weekday (Monday == 0): «شنبه» … «جمعه» in Persian, Monday … in English."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0–6, got {weekday}")
    if _lang(language if language is not None else translation.get_language()) == "fa":
        return WEEKDAYS_FA[weekday]
    return _english(_WEEKDAYS_EN[weekday])


# ---------------------------------------------------------------------------------------------
# Formatting


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def format_date(value: date, *, calendar: CalendarName, language: str, style: DateStyle = "long") -> str:
    """Format a date for display.

    long: «۳۰ آبان ۱۴۰۴», "21 November 2025", "30 Aban 1404"; short: "21 Nov 2025" (only English
    Gregorian months have abbreviations); numeric: «۱۴۰۴/۰۸/۳۰», "2025-11-21" (ISO), "1404/08/30".
    Persian output uses Persian digits. A datetime is formatted by its own (local) date.
    """
    lang = _lang(language)
    year, month, day = to_calendar(_as_local_date(value, None), calendar)
    if style == "numeric":
        if lang == "en" and calendar == "gregorian":
            text = f"{year:04d}-{month:02d}-{day:02d}"
        else:
            text = f"{year:04d}/{month:02d}/{day:02d}"
    else:
        name = month_name(month, calendar=calendar, language=lang, short=style == "short")
        text = f"{day} {name} {year}"
    return to_persian_digits(text) if lang == "fa" else text


def format_time(value: datetime | time, *, language: str) -> str:
    text = f"{value.hour:02d}:{value.minute:02d}"
    return to_persian_digits(text) if _lang(language) == "fa" else text


def format_datetime(
    value: datetime, *, calendar: CalendarName, language: str, tz: tzinfo | str, style: DateStyle = "short"
) -> str:
    """Format an aware datetime in ``tz``: "21 Nov 2025, 14:05", «۳۰ آبان ۱۴۰۴، ۱۴:۰۵»."""
    if dj_timezone.is_naive(value):
        raise ValueError("format_datetime needs an aware datetime; naive ones have no time zone")
    local = value.astimezone(_zone(tz))
    lang = _lang(language)
    separator = "، " if lang == "fa" else ", "
    return (
        format_date(local.date(), calendar=calendar, language=lang, style=style)
        + separator
        + format_time(local, language=lang)
    )


# ---------------------------------------------------------------------------------------------
# Local times


def aware_datetime(day: date, at: time, tz: tzinfo | str) -> datetime:
    """``day`` at wall-clock ``at`` in ``tz``.

    A wall-clock time skipped by a DST jump raises ``InvalidDateError``; a repeated one (clocks
    go back) resolves to its first occurrence, the one that comes earlier in real time.
    """
    zone = _zone(tz)
    candidate = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    round_trip = candidate.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        raise InvalidDateError(
            _("%(time)s does not exist on %(date)s in %(zone)s (the clocks skip it).")
            % {"time": at.strftime("%H:%M"), "date": day.isoformat(), "zone": str(zone)}
        )
    return candidate


# ---------------------------------------------------------------------------------------------
# Parsing

_MONTH_WORDS: dict[str, tuple[CalendarName, int]] = {}


def _register(calendar: CalendarName, names: dict[int, tuple[str, ...]]) -> None:
    for month, words in names.items():
        for word in words:
            _MONTH_WORDS[normalize_fa(word, zwnj="remove").casefold()] = (calendar, month)


_register(
    "jalali",
    {i + 1: (fa, en) for i, (fa, en) in enumerate(zip(JALALI_MONTHS_FA, JALALI_MONTHS_EN, strict=True))},
)
_register(
    "jalali",
    {5: ("Amordad", "امرداد"), 9: ("Azar",), 10: ("Dei",), 12: ("Espand", "اسپند")},
)
_register(
    "gregorian",
    {
        1: ("January", "Jan", "ژانویه"),
        2: ("February", "Feb", "فوریه"),
        3: ("March", "Mar", "مارس"),
        4: ("April", "Apr", "آوریل", "آپریل"),
        5: ("May", "مه", "می"),
        6: ("June", "Jun", "ژوئن", "جون"),
        7: ("July", "Jul", "ژوئیه", "ژوییه", "جولای"),
        8: ("August", "Aug", "اوت", "آگوست"),
        9: ("September", "Sep", "Sept", "سپتامبر"),
        10: ("October", "Oct", "اکتبر"),
        11: ("November", "Nov", "نوامبر"),
        12: ("December", "Dec", "دسامبر"),
    },
)

# Matched after casefolding, so ISO's "T" separator is a lowercase "t" here.
_TIME = re.compile(r"(?:^|[\st])(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")
_SEPARATORS = re.compile(r"[\s/\-.,،]+")
_NUMBER = re.compile(r"[0-9]+")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|ام|م)$")


class _Parsed(NamedTuple):
    year: int
    month: int
    day: int
    calendar: CalendarName | None  # set when a month name fixes the calendar
    at: time | None


def _read(text: str) -> _Parsed:
    original = text
    cleaned = normalize_fa(text, digits="latin", zwnj="remove").casefold()
    if not cleaned:
        raise DateParseError(_("Enter a date."))
    at: time | None = None
    found = _TIME.search(cleaned)
    if found:
        hour, minute = int(found.group(1)), int(found.group(2))
        second = int(found.group(3) or 0)
        if hour > 23:
            raise DateParseError(_("hour %(hour)s is out of range (0–23).") % {"hour": hour})
        if minute > 59:
            raise DateParseError(_("minute %(minute)s is out of range (0–59).") % {"minute": minute})
        if second > 59:
            raise DateParseError(_("second %(second)s is out of range (0–59).") % {"second": second})
        at = time(hour, minute, second)
        cleaned = cleaned[: found.start()].strip()
    # "آبان ماه" / "آبان‌ماه" is the formal way of writing a month name.
    tokens = [t.removesuffix("ماه") or t for t in _SEPARATORS.split(cleaned) if t and t != "ماه"]
    numbers: list[str] = []
    months: list[tuple[CalendarName, int]] = []
    for token in tokens:
        ordinal = _ORDINAL.match(token)
        if _NUMBER.fullmatch(token) or ordinal:
            numbers.append(ordinal.group(1) if ordinal else token)
        elif token in _MONTH_WORDS:
            months.append(_MONTH_WORDS[token])
        else:
            raise DateParseError(_("“%(word)s” is not a month name.") % {"word": token})
    if len(months) > 1:
        raise DateParseError(_("“%(text)s” names more than one month.") % {"text": original.strip()})
    if months and len(numbers) == 2:
        year_tokens = [n for n in numbers if len(n) == 4]
        if len(year_tokens) != 1:
            raise DateParseError(_("Write the year with four digits, e.g. 1404 or 2025."))
        year_text = year_tokens[0]
        day_text = numbers[1] if numbers[0] == year_text else numbers[0]
        calendar, month = months[0]
        return _Parsed(int(year_text), month, int(day_text), calendar, at)
    if not months and len(numbers) == 3:
        if len(numbers[0]) == 4:
            year_text, month_text, day_text = numbers
        elif len(numbers[2]) == 4:
            day_text, month_text, year_text = numbers
        else:
            raise DateParseError(_("Write the year with four digits, e.g. 1404 or 2025."))
        if len(month_text) > 2 or len(day_text) > 2:
            raise DateParseError(
                _("“%(text)s” is not a date; write year/month/day, e.g. 1404/08/30.") % {"text": original.strip()}
            )
        return _Parsed(int(year_text), int(month_text), int(day_text), None, at)
    raise DateParseError(
        _("“%(text)s” is not a date; write year/month/day, e.g. 1404/08/30.") % {"text": original.strip()}
    )


def _build(parsed: _Parsed, calendar: CalendarName, tz: tzinfo | str | None) -> date | datetime:
    if not 1 <= parsed.month <= 12:
        raise DateParseError(_("month %(month)s is out of range (1–12).") % {"month": parsed.month})
    if calendar == "jalali" and not JALALI_MIN_YEAR <= parsed.year <= JALALI_MAX_YEAR:
        raise DateParseError(
            _("Jalali year %(year)s is outside the supported range %(low)s–%(high)s.")
            % {"year": parsed.year, "low": JALALI_MIN_YEAR, "high": JALALI_MAX_YEAR}
        )
    try:
        day = from_calendar(parsed.year, parsed.month, parsed.day, calendar)
        if parsed.at is None:
            return day
        return aware_datetime(day, parsed.at, tz if tz is not None else dj_timezone.get_current_timezone())
    except InvalidDateError as exc:
        raise DateParseError(str(exc)) from exc


def parse_date(text: str, *, calendar: CalendarName, tz: tzinfo | str | None = None) -> date | datetime:
    """Read a user-typed date in ``calendar``.

    Accepts Persian, Arabic-Indic and Latin digits; ``/ - .`` ``,`` and spaces as separators;
    year/month/day or day/month/year (four-digit year); month names in Persian or English in any
    position ("30 Aban 1404", «۳۰ آبان ۱۴۰۴», "Nov 21, 2025"); an optional 24-hour ``HH:MM[:SS]``
    at the end. Returns a ``date``, or with a time an aware ``datetime`` in ``tz`` (default: the
    active time zone). A month name of the other calendar is an error, never silently converted.
    """
    parsed = _read(text)
    if parsed.calendar is not None and parsed.calendar != calendar:
        raise DateParseError(
            _("“%(month)s” is a %(other)s month, but the date is read as %(calendar)s.")
            % {
                "month": month_name(parsed.month, calendar=parsed.calendar),
                "other": _calendar_label(parsed.calendar),
                "calendar": _calendar_label(calendar),
            }
        )
    return _build(parsed, calendar, tz)


def guess_calendar(year: int) -> CalendarName:
    return "jalali" if year < JALALI_GUESS_LIMIT else "gregorian"


def parse_date_guess(text: str, *, tz: tzinfo | str | None = None) -> date | datetime:
    """Like ``parse_date`` but picks the calendar: from the month name if there is one, otherwise
    by year (below 1700 is Jalali), so "1404/08/30" and "2025-11-21" give the same day."""
    parsed = _read(text)
    return _build(parsed, parsed.calendar or guess_calendar(parsed.year), tz)


def _calendar_label(calendar: CalendarName) -> str:
    return _("Jalali") if calendar == "jalali" else _("Gregorian")
