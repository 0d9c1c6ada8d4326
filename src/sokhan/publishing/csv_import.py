"""Read and validate bulk-composer CSV files without touching the database.

Two formats:

* ``hootsuite`` — Hootsuite's bulk composer: no header (a header row whose first cell mentions
  "date" is skipped), columns ``date/time`` (``dd/mm/yyyy hh:mm`` or ``mm/dd/yyyy hh:mm``, 24 h,
  chosen with ``date_order``), ``message``, ``link`` (optional). The channels come from the
  composer (``channels`` argument).
* ``sokhan`` — ours, with a header row: ``date, time, channels, text, link, media_urls, labels,
  calendar`` (English or Persian column names, any order; ``date``, ``channels`` and ``text`` are
  required). Dates may be Jalali (``calendar`` column ``jalali``; empty means: guess by year, below
  1700 is Jalali) and any cell may use Persian digits. ``channels`` holds channel keys or ids
  separated by ``,``/``;``/``،``, looked up (case-insensitively) in ``known_channels``, a mapping
  from every accepted name or id to the channel's canonical key.

Rows are numbered like a spreadsheet: the first line of the file is row 1 (the header, when there
is one), a quoted cell spanning lines is still one row. Every problem becomes a ``RowError`` with
its row and column; a row with any error is left out of ``ImportReport.rows``.
``error_report_csv`` writes the bad rows back with an ``errors`` column for download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Literal
from urllib.parse import urlsplit

from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _

from sokhan.core.calendars import (
    CalendarName,
    DateParseError,
    InvalidDateError,
    aware_datetime,
    from_gregorian,
    parse_date,
)
from sokhan.core.calendars import parse_date_guess as _parse_date_guess
from sokhan.core.text import fold_for_match, to_latin_digits

DateOrder = Literal["dmy", "mdy"]
LengthCheck = Callable[[str, str], str | None]

MAX_ROWS = 50_000
SOKHAN_COLUMNS = ("date", "time", "channels", "text", "link", "media_urls", "labels", "calendar")
REQUIRED_COLUMNS = ("date", "channels", "text")
HOOTSUITE_COLUMNS = ("date", "message", "link")
_ALIASES = {
    "date": ("date", "تاریخ"),
    "time": ("time", "ساعت", "زمان"),
    "channels": ("channels", "channel", "کانالها", "کانال"),
    "text": ("text", "message", "متن", "پیام"),
    "link": ("link", "url", "پیوند", "لینک"),
    "media_urls": ("media_urls", "media", "رسانه", "رسانهها"),
    "labels": ("labels", "label", "برچسبها", "برچسب"),
    "calendar": ("calendar", "تقویم"),
}
_HEADER_NAMES = {fold_for_match(alias): column for column, aliases in _ALIASES.items() for alias in aliases}
_CALENDAR_WORDS: tuple[tuple[CalendarName, tuple[str, ...]], ...] = (
    ("gregorian", ("gregorian", "میلادی", "g")),
    ("jalali", ("jalali", "shamsi", "persian", "جلالی", "شمسی", "خورشیدی", "j")),
)
_CALENDARS: dict[str, CalendarName] = {
    fold_for_match(word): calendar for calendar, words in _CALENDAR_WORDS for word in words
}
_LIST_SEPARATORS = str.maketrans({";": ",", "،": ",", "\n": ",", "\r": ","})


@dataclass(frozen=True, slots=True)
class RowError:
    row_number: int  # 1-based, the first line of the file is row 1
    column: str | None  # None when the whole row (or file) is meant
    message: str


@dataclass(frozen=True, slots=True)
class ParsedRow:
    row_number: int
    scheduled_at: datetime  # aware, UTC
    text: str
    channels: list[str]  # canonical channel keys (values of ``known_channels``)
    link: str = ""
    media_urls: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    calendar: CalendarName | None = None
    cells: list[str] = field(default_factory=list)  # the row as uploaded, for ``reject_row``


@dataclass(slots=True)
class ImportReport:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # column names for ``error_report_csv``
    raw_rows: dict[int, list[str]] = field(default_factory=dict)  # cells of rows that have errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_for(self, row_number: int) -> list[RowError]:
        return [error for error in self.errors if error.row_number == row_number]

    def reject(self, row: ParsedRow, problems: Sequence[tuple[str | None, str]]) -> None:
        """Checks made after parsing (network rules, media) failed: move ``row`` to the errors."""
        if not problems:
            return
        self.rows = [kept for kept in self.rows if kept.row_number != row.row_number]
        self.errors.extend(RowError(row.row_number, column, message) for column, message in problems)
        self.raw_rows[row.row_number] = list(row.cells)


class _FileError(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


# ---------------------------------------------------------------------------------------------
# Decoding and splitting


def decode(data: bytes | str) -> str:
    """UTF-8 (with or without BOM) text; anything else is a ``_FileError`` naming the line."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _FileError(
            RowError(1, None, _("The file is UTF-16 (Excel “Unicode text”). Save it as “CSV UTF-8” and try again."))
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _FileError(
            RowError(
                line,
                None,
                _(
                    "The file is not UTF-8 (byte 0x%(byte)s on line %(line)s cannot be read; files saved by "
                    "older Excel are often Windows-1256). Save it as “CSV UTF-8” and try again."
                )
                % {"byte": f"{data[exc.start]:02X}", "line": line},
            )
        ) from None


def sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or tab: whichever appears most often outside quotes in the first row."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda key: counts[key])
    return best if counts[best] else ","


def _records(text: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=False)
    try:
        return [[cell.replace("\r\n", "\n").strip() for cell in record] for record in reader]
    except csv.Error as exc:
        raise _FileError(
            RowError(reader.line_num or 1, None, _("The file is not valid CSV: %(error)s") % {"error": exc})
        ) from None


# ---------------------------------------------------------------------------------------------
# Cell checks


def _valid_url(value: str) -> bool:
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and ("." in host or host == "localhost")


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.translate(_LIST_SEPARATORS).split(",") if item.strip()]


class _Row:
    """Collects the errors of one row."""

    def __init__(self, report: ImportReport, number: int, cells: list[str]) -> None:
        self.report = report
        self.number = number
        self.cells = cells
        self.failed = False

    def error(self, column: str | None, message: str) -> None:
        self.failed = True
        self.report.errors.append(RowError(self.number, column, message))

    def finish(self) -> bool:
        if self.failed:
            self.report.raw_rows[self.number] = self.cells
        return not self.failed


def _check_common(
    row: _Row,
    *,
    text: str,
    text_column: str,
    channels: list[str],
    link: str,
    when: datetime | None,
    now: datetime,
    length_check: LengthCheck | None,
) -> None:
    if not text:
        row.error(text_column, _("The text is empty."))
    elif length_check is not None:
        for channel in channels:
            problem = length_check(channel, text)
            if problem:
                row.error(text_column, _("%(channel)s: %(problem)s") % {"channel": channel, "problem": problem})
    if link and not _valid_url(link):
        row.error(
            "link", _("“%(link)s” is not a web address (it must start with http:// or https://).") % {"link": link}
        )
    if when is not None and when <= now:
        row.error("date", _("%(when)s is in the past.") % {"when": when.isoformat(timespec="minutes")})


def _check_duplicate(row: _Row, key: tuple[object, ...], seen: dict[tuple[object, ...], int]) -> None:
    if key in seen:
        row.error(None, _("This row repeats row %(row)s.") % {"row": seen[key]})
    else:
        seen[key] = row.number


def _map_channels(row: _Row, value: str, known_channels: Mapping[str, str], column: str) -> list[str]:
    folded = {fold_for_match(name): key for name, key in known_channels.items()}
    result: list[str] = []
    for name in _split_list(value):
        key = folded.get(fold_for_match(name))
        if key is None:
            row.error(column, _("Unknown channel “%(channel)s”.") % {"channel": name})
        elif key not in result:
            result.append(key)
    return result


# ---------------------------------------------------------------------------------------------
# Hootsuite


def _hootsuite_when(value: str, order: DateOrder, tz: str) -> datetime:
    cleaned = to_latin_digits(value).strip()
    pieces = cleaned.replace(" ", "/").replace(":", "/").split("/")
    if len(pieces) != 5 or not all(piece.isdigit() for piece in pieces):
        example = "31/12/2025 09:00" if order == "dmy" else "12/31/2025 09:00"
        raise DateParseError(
            _("“%(value)s” is not a date and time like %(example)s.") % {"value": value, "example": example}
        )
    first, second, year, hour, minute = (int(piece) for piece in pieces)
    day, month = (first, second) if order == "dmy" else (second, first)
    if hour > 23 or minute > 59:
        raise DateParseError(_("“%(value)s” has no such time of day (24-hour clock).") % {"value": value})
    return aware_datetime(from_gregorian(year, month, day), time(hour, minute), tz)


def parse_hootsuite(
    data: bytes | str,
    *,
    date_order: DateOrder,
    tz: str,
    channels: Sequence[str] = (),
    now: datetime | None = None,
    length_check: LengthCheck | None = None,
    max_rows: int = MAX_ROWS,
) -> ImportReport:
    """Read a Hootsuite bulk file; ``channels`` are the canonical keys every row goes to."""
    report = ImportReport(header=list(HOOTSUITE_COLUMNS))
    moment = now or dj_timezone.now()
    try:
        records = _records(decode(data))
    except _FileError as exc:
        report.errors.append(exc.error)
        return report
    records = [record for record in records if any(record)]
    if not records:
        report.errors.append(RowError(1, None, _("The file is empty.")))
        return report
    if len(records) > max_rows:
        report.errors.append(
            RowError(max_rows + 1, None, _("The file has more than %(max)s rows.") % {"max": max_rows})
        )
        return report
    seen: dict[tuple[object, ...], int] = {}
    for index, cells in enumerate(records, start=1):
        if index == 1 and "date" in cells[0].lower():
            continue
        row = _Row(report, index, cells)
        if len(cells) < 2:
            row.error("message", _("The row has no message column (expected: date, message, link)."))
            row.finish()
            continue
        if len(cells) > 3:
            row.error(None, _("The row has %(count)s columns; expected date, message and an optional link.") % {
                "count": len(cells)})  # fmt: skip
        when: datetime | None = None
        try:
            when = _hootsuite_when(cells[0], date_order, tz).astimezone(UTC)
        except InvalidDateError as exc:
            row.error("date", str(exc))
        text, link = cells[1], cells[2] if len(cells) > 2 else ""
        _check_common(row, text=text, text_column="message", channels=list(channels), link=link, when=when,
                      now=moment, length_check=length_check)  # fmt: skip
        if when is not None and text:
            _check_duplicate(row, (when, fold_for_match(text), link), seen)
        if row.finish() and when is not None:
            report.rows.append(
                ParsedRow(index, when, text, list(channels), link, calendar="gregorian", cells=list(cells))
            )
    return report


# ---------------------------------------------------------------------------------------------
# Sokhan


def _header_columns(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, name in enumerate(header):
        column = _HEADER_NAMES.get(fold_for_match(name).replace(" ", "_"))
        if column is None:
            if name:
                errors.append(RowError(1, name, _("Unknown column “%(name)s”.") % {"name": name}))
            continue
        if column in positions:
            errors.append(RowError(1, column, _("Column “%(name)s” appears twice.") % {"name": column}))
            continue
        positions[column] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        hint = ""
        if len(header) == 1:
            hint = " " + _("The header has one column; separate columns with “,” or “;”.")
        errors.append(
            RowError(
                1,
                None,
                _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)} + hint,
            )
        )
    return positions, errors


def parse_sokhan(
    data: bytes | str,
    *,
    tz: str,
    known_channels: Mapping[str, str],
    now: datetime | None = None,
    length_check: LengthCheck | None = None,
    max_rows: int = MAX_ROWS,
) -> ImportReport:
    """Read a file in Sokhan's format (see the module docstring)."""
    report = ImportReport()
    moment = now or dj_timezone.now()
    try:
        records = _records(decode(data))
    except _FileError as exc:
        report.errors.append(exc.error)
        return report
    if not records or not any(any(record) for record in records):
        report.errors.append(RowError(1, None, _("The file is empty.")))
        return report
    header = records[0]
    report.header = header
    positions, header_errors = _header_columns(header)
    if any(error.column is None or error.column in REQUIRED_COLUMNS for error in header_errors):
        report.errors.extend(header_errors)
        return report
    report.errors.extend(header_errors)  # unknown extra columns: reported, rows still read
    if len(records) - 1 > max_rows:
        report.errors.append(
            RowError(max_rows + 2, None, _("The file has more than %(max)s rows.") % {"max": max_rows})
        )
        return report
    if len(records) == 1:
        report.errors.append(RowError(2, None, _("The file has a header but no rows.")))
        return report
    seen: dict[tuple[object, ...], int] = {}
    for index, cells in enumerate(records[1:], start=2):
        if not any(cells):
            continue
        row = _Row(report, index, cells)
        if len(cells) > len(header):
            row.error(None, _("The row has %(count)s cells but the header has %(header)s columns.") % {
                "count": len(cells), "header": len(header)})  # fmt: skip

        def cell(column: str, cells: list[str] = cells) -> str:
            position = positions.get(column)
            return cells[position] if position is not None and position < len(cells) else ""

        calendar: CalendarName | None = None
        calendar_text = cell("calendar")
        if calendar_text:
            calendar = _CALENDARS.get(fold_for_match(calendar_text))
            if calendar is None:
                row.error("calendar", _("“%(value)s” is not a calendar; use gregorian or jalali.") % {
                    "value": calendar_text})  # fmt: skip
        when: datetime | None = None
        date_text, time_text = cell("date"), cell("time")
        if not date_text:
            row.error("date", _("The date is empty."))
        elif not time_text and ":" not in to_latin_digits(date_text):
            row.error("time", _("The time is empty."))
        elif not (calendar_text and calendar is None):
            combined = f"{date_text} {time_text}".strip()
            try:
                parsed = (
                    parse_date(combined, calendar=calendar, tz=tz)
                    if calendar is not None
                    else _parse_date_guess(combined, tz=tz)
                )
            except InvalidDateError as exc:
                row.error("time" if time_text and "time" in str(exc) else "date", str(exc))
            else:
                if isinstance(parsed, datetime):
                    when = parsed.astimezone(UTC)
                else:
                    row.error("time", _("The time is empty."))
        channels = _map_channels(row, cell("channels"), known_channels, "channels")
        if not cell("channels"):
            row.error("channels", _("No channel given."))
        text, link = cell("text"), cell("link")
        _check_common(row, text=text, text_column="text", channels=channels, link=link, when=when, now=moment,
                      length_check=length_check)  # fmt: skip
        media = _split_list(cell("media_urls").replace(" ", ","))
        for url in media:
            if not _valid_url(url):
                row.error("media_urls", _("“%(url)s” is not a web address.") % {"url": url})
        if when is not None and text:
            _check_duplicate(row, (when, tuple(sorted(channels)), fold_for_match(text), link), seen)
        if row.finish() and when is not None:
            labels = _split_list(cell("labels"))
            report.rows.append(ParsedRow(index, when, text, channels, link, media, labels, calendar, list(cells)))
    return report


# ---------------------------------------------------------------------------------------------
# Error report

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    """Neutralise spreadsheet formulas in cells we hand back for download."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def error_report_csv(report: ImportReport) -> str:
    """The rows with errors (cells as uploaded) plus ``row`` and ``errors`` columns, UTF-8 with a BOM
    so Excel shows Persian correctly. File-level errors (no cells) get a row of their own."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", *report.header, "errors"])
    numbers = sorted({error.row_number for error in report.errors})
    for number in numbers:
        messages = [
            f"{error.column}: {error.message}" if error.column else error.message for error in report.errors_for(number)
        ]
        cells = report.raw_rows.get(number, [])
        padded = cells + [""] * (len(report.header) - len(cells))
        writer.writerow([str(number), *(_safe(cell) for cell in padded), _safe("\n".join(messages))])
    return "\ufeff" + out.getvalue()
