"""Importing mentions exported elsewhere: a JSONL or CSV file, UTF-8 (a BOM is fine).

Columns (CSV header names; JSONL object keys), in ``docs/listening-sources.md``:

==================  =========  ============================================================
``text``            required   the post's text
``published_at``    required   ISO 8601 (``2025-03-01T14:30:00+03:30``, ``…Z``), a date and time
                               without a zone is UTC; or Unix seconds
``network``         optional   a connector key (``x``, ``telegram``…) or any short name;
                               default ``import``
``remote_id``       optional   the network's id of the post (the dedupe key with ``network``)
``url``             optional   an http(s) link to the post
``author_handle``   optional
``author_name``     optional
``author_followers`` optional  a whole number ≥ 0 (the reach proxy)
``language``        optional   ``fa``, ``en``, ``fa-IR``…; detected when missing
==================  =========  ============================================================

Also accepted: ``id`` for ``remote_id``, ``link`` for ``url``, ``lang`` for ``language``,
``date``/``created_at`` for ``published_at``, ``author`` for ``author_handle``, ``followers`` for
``author_followers``. Other columns are ignored.

The whole file is checked first; with any bad line nothing is stored and every problem comes back
naming its line and field (the first ``MAX_ERRORS``). A good file is then read a second time and
ingested in batches; a crash midway leaves the batches already committed, and importing the same
file again stores the rest without doubling anything (mentions are deduplicated).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.models import Workspace
from sokhan.listening.ingest import IncomingItem, IngestResult, canonical_url, ingest
from sokhan.listening.models import Source, SourceKind

FORMATS = ("jsonl", "csv")
MAX_ERRORS = 100
MAX_TEXT = 100_000
MAX_NAME = 200
DEFAULT_NETWORK = "import"
ALIASES = {
    "id": "remote_id",
    "link": "url",
    "lang": "language",
    "date": "published_at",
    "created_at": "published_at",
    "author": "author_handle",
    "followers": "author_followers",
}
FIELDS = (
    "network",
    "remote_id",
    "url",
    "author_handle",
    "author_name",
    "author_followers",
    "language",
    "text",
    "published_at",
)
_NETWORK = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,31}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class LineError:
    line: int
    field: str  # the column, or "" for the line as a whole
    message: str  # ready to show: names the line and the field


@dataclass
class ImportResult:
    created: int = 0  # mentions stored
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0  # all bad lines' problems (``errors`` keeps the first MAX_ERRORS)
    lines: int = 0  # items read
    ingest: IngestResult = field(default_factory=IngestResult)
    source: Source | None = None


class _Problem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading -----------------------------------------------------------------------------------


def _lines(stream: IO[Any]) -> Iterator[tuple[int, str | None]]:
    """``(line number, text)``; text None for a line that is not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        if isinstance(raw, str):
            yield number, raw.removeprefix("\ufeff") if number == 1 else raw
            continue
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None


def _records(stream: IO[Any], file_format: str) -> Iterator[tuple[int, dict[str, Any] | _Problem]]:
    """``(line, fields)`` of each record, or ``(line, problem)`` for one that cannot be read."""
    if file_format == "jsonl":
        for number, text in _lines(stream):
            if text is None:
                yield number, _Problem("", _("not valid UTF-8"))
            elif text.strip():
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as error:
                    yield number, _Problem("", _("not valid JSON (%(error)s)") % {"error": error.msg})
                    continue
                if isinstance(value, dict):
                    yield number, value
                else:
                    yield number, _Problem("", _("expected a JSON object"))
        return
    yield from _csv_records(stream)


def _csv_records(stream: IO[Any]) -> Iterator[tuple[int, dict[str, Any] | _Problem]]:
    bad: dict[int, bool] = {}

    def text_lines() -> Iterator[str]:
        for number, text in _lines(stream):
            bad[number] = text is None
            yield text if text is not None else ""

    reader = csv.reader(text_lines())
    header: list[str] | None = None
    last = 0
    for row in reader:
        first, last = last + 1, reader.line_num
        if any(bad.get(n) for n in range(first, last + 1)):
            yield first, _Problem("", _("not valid UTF-8"))
            continue
        if header is None:
            header = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in row]
            missing = [name for name in ("text", "published_at") if name not in header]
            if missing:
                names = ", ".join(missing)
                yield first, _Problem("header", _("the header has no column %(names)s") % {"names": names})
                return
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            counts = {"n": len(row), "m": len(header)}
            yield first, _Problem("", _("%(n)s values but the header has %(m)s columns") % counts)
            continue
        yield first, {name: value for name, value in zip(header, row, strict=False) if name in FIELDS}


# --- checking one record -----------------------------------------------------------------------


def _string(record: dict[str, Any], name: str, *, limit: int = MAX_NAME) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Problem(name, _("must be text"))
    text = str(value).strip()
    if len(text) > limit:
        raise _Problem(name, _("is longer than %(n)s characters") % {"n": limit})
    return text


def parse_time(value: Any) -> datetime:
    """ISO 8601 (a missing zone is UTC) or Unix seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    text = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=UTC)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _item(record: dict[str, Any]) -> IncomingItem:
    fields = {ALIASES.get(key, key): value for key, value in record.items()}
    text = _string(fields, "text", limit=MAX_TEXT)
    if not text:
        raise _Problem("text", _("is missing or empty"))
    if fields.get("published_at") in (None, ""):
        raise _Problem("published_at", _("is missing"))
    try:
        published = parse_time(fields["published_at"])
    except (ValueError, OverflowError, OSError):
        raise _Problem(
            "published_at", _("is not a date and time (use ISO 8601, e.g. 2025-03-01T14:30:00+03:30)")
        ) from None
    network = _string(fields, "network").lower() or DEFAULT_NETWORK
    if not _NETWORK.fullmatch(network):
        raise _Problem("network", _("must be a short name of letters, digits, _ . or - (e.g. x, telegram)"))
    url = _string(fields, "url", limit=1000)
    if url and not canonical_url(url):
        raise _Problem("url", _("must be an http:// or https:// address"))
    language = _string(fields, "language", limit=16)
    if language and not _LANGUAGE.fullmatch(language):
        raise _Problem("language", _("must be a language code such as fa or en"))
    followers_raw = fields.get("author_followers")
    followers: int | None = None
    if followers_raw not in (None, ""):
        text_value = str(followers_raw).strip()
        if isinstance(followers_raw, bool) or not text_value.isdigit():
            raise _Problem("author_followers", _("must be a whole number of 0 or more"))
        followers = int(text_value)
    return IncomingItem(
        network=network,
        remote_id=_string(fields, "remote_id", limit=300),
        text=text,
        published_at=published,
        url=url,
        author_handle=_string(fields, "author_handle"),
        author_name=_string(fields, "author_name"),
        author_followers=followers,
        language=language,
    )


def _error(line: int, problem: _Problem) -> LineError:
    if problem.field:
        message = _("Line %(line)s, %(field)s: %(problem)s") % {
            "line": line,
            "field": problem.field,
            "problem": problem.message,
        }
    else:
        message = _("Line %(line)s: %(problem)s") % {"line": line, "problem": problem.message}
    return LineError(line, problem.field, message)


# --- the import --------------------------------------------------------------------------------


def _seekable(fileobj: IO[Any]) -> IO[Any]:
    """The file itself, or a copy that can be read twice (a pipe, a stream)."""
    if fileobj.seekable():
        fileobj.seek(0)
        return fileobj
    copy = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - the caller's to close
    while chunk := fileobj.read(1024 * 1024):
        copy.write(chunk.encode() if isinstance(chunk, str) else chunk)
    copy.seek(0)
    return copy


def import_file(
    workspace: Workspace,
    fileobj: IO[Any],
    file_format: str,
    *,
    name: str = "",
    source: Source | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Check the whole file, then (only if every line is good) ingest it for ``workspace`` through
    an ``import`` source (``source``, or a new one named ``name``)."""
    if file_format not in FORMATS:
        raise ValueError(_("Unknown format %(format)s: use jsonl or csv.") % {"format": file_format})
    stream = _seekable(fileobj)
    outcome = ImportResult()
    for line, record in _records(stream, file_format):
        try:
            if isinstance(record, _Problem):
                raise record
            _item(record)
            outcome.lines += 1
        except _Problem as problem:
            outcome.error_count += 1
            if len(outcome.errors) < MAX_ERRORS:
                outcome.errors.append(_error(line, problem))
    if outcome.error_count:
        return outcome
    now = now or timezone.now()
    if source is None:
        label = name.strip()[:120] or _("Import of %(date)s") % {"date": now.strftime("%Y-%m-%d %H:%M UTC")}
        source = Source.objects.create(
            workspace=workspace, kind=SourceKind.IMPORT, name=label, target=name[:500], last_polled_at=now
        )
    stream.seek(0)
    items = (_item(record) for _line, record in _records(stream, file_format) if not isinstance(record, _Problem))
    outcome.ingest = ingest(workspace, items, source=source, now=now)
    outcome.created = outcome.ingest.stored
    outcome.source = source
    return outcome


def import_text(workspace: Workspace, text: str, file_format: str, **options: Any) -> ImportResult:
    """``import_file`` for a string (tests, pasted data)."""
    return import_file(workspace, io.BytesIO(text.encode("utf-8")), file_format, **options)
