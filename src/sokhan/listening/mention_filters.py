"""The mentions list: filters (the same for the page, the API and the insight page's links) → a
workspace-scoped query, keyset pages, and the label that counts.

**Days.** Hourly counts are kept per UTC hour, so a day of the charts is the UTC hours that *begin*
on that local day: from the first whole UTC hour at or after local midnight to the same point of
the next day (Asia/Tehran, UTC+03:30: 00:30 to 00:30). The list cuts its ``from``/``to`` days the
same way (``day_start``), so a figure's link lists exactly the mentions behind it.

**Text** (``q``) is a listening query (docs/listening.md), run by the product's matcher over the
rows the other filters leave, a batch at a time: a page that the scan limit cuts short has a cursor
that goes on from the last row read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import Case, F, Q, QuerySet, When
from django.db.models.expressions import Combinable
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.core.calendars import InvalidDateError, parse_date_guess
from sokhan.core.errors import DomainError
from sokhan.core.models import Workspace
from sokhan.core.text import normalize_fa, to_persian_digits
from sokhan.listening.matcher import Matcher
from sokhan.listening.models import Mention, MentionTopic
from sokhan.listening.query import Node, QuerySyntaxError, parse

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
SENTIMENTS = (POSITIVE, NEUTRAL, NEGATIVE)
NO_LABEL = "none"  # the sentiment filter's value for mentions without a label
UNKNOWN_LANGUAGE = "unknown"  # the language filter's value for mentions without a language
CORRECTED = ("yes", "agreed", "changed")  # any correction; the person kept the label; changed it
SENTIMENT_LABELS = {
    POSITIVE: gettext_lazy("Positive"),
    NEUTRAL: gettext_lazy("Neutral"),
    NEGATIVE: gettext_lazy("Negative"),
    NO_LABEL: gettext_lazy("Not rated"),
}
PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
SCAN_BATCH = 500
SCAN_LIMIT = 5000  # rows read for one page of a text search before answering with what was found


def effective_label(via: str = "") -> Case:
    """The label that counts, as a query expression: the correction if there is one. ``via``: the
    relation to the mention (``"mention__"``) for rows that are not mentions."""
    corrected = f"{via}corrected_sentiment"
    return Case(When(~Q(**{corrected: ""}), then=F(corrected)), default=F(f"{via}sentiment"))


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first whole UTC hour at or after local midnight of ``day`` (see the module docstring)."""
    midnight = datetime.combine(day, time.min, zone).astimezone(UTC)
    floor = midnight.replace(minute=0, second=0, microsecond=0)
    return floor if floor == midnight else floor + timedelta(hours=1)


def day_of_hour(hour: datetime, zone: tzinfo) -> date:
    """The day a UTC hour bucket belongs to: the local date it begins on."""
    return hour.astimezone(zone).date()


@dataclass(frozen=True)
class MentionFilters:
    topics: tuple[int, ...] = ()
    sentiments: tuple[str, ...] = ()  # SENTIMENTS or NO_LABEL, against the effective label
    languages: tuple[str, ...] = ()  # stored codes, or UNKNOWN_LANGUAGE
    networks: tuple[str, ...] = ()
    author: str = ""  # a handle, without @, any case
    since: date | None = None  # local days, cut as the module docstring says
    until: date | None = None
    hour: datetime | None = None  # one UTC hour bucket
    text: str = ""  # a listening query
    corrected: str = ""  # "", or one of CORRECTED

    def as_query(self) -> dict[str, str]:
        """The query-string form (what ``parse_filters`` reads back), for links."""
        out = {
            "topic": ",".join(str(t) for t in self.topics),
            "sentiment": ",".join(self.sentiments),
            "language": ",".join(self.languages),
            "network": ",".join(self.networks),
            "author": self.author,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "hour": self.hour.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z") if self.hour else "",
            "q": self.text,
            "corrected": self.corrected,
        }
        return {key: value for key, value in out.items() if value}


def _values(data: Mapping[str, Any], *names: str) -> list[str]:
    """Every value of the first of ``names`` present: repeated or comma-separated."""
    for name in names:
        getlist = getattr(data, "getlist", None)
        raw: Any = getlist(name) if getlist is not None else data.get(name, [])
        if not isinstance(raw, list | tuple):
            raw = [raw]
        out = [part.strip() for item in raw if item is not None for part in str(item).split(",") if part.strip()]
        if out:
            return out
    return []


def _one(data: Mapping[str, Any], *names: str) -> str:
    getlist = getattr(data, "getlist", None)
    for name in names:
        raw = (getlist(name) or [""])[0] if getlist is not None else data.get(name, "")
        if raw not in (None, ""):
            return str(raw).strip()
    return ""


def _choices(data: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = _values(data, name, f"{name}s")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise DomainError(
            _("Unknown %(field)s: %(values)s. Use one of: %(allowed)s.")
            % {"field": name, "values": ", ".join(bad), "allowed": ", ".join(allowed)},
            fields={name: "unknown"},
        )
    return tuple(values)


def parse_day(raw: str, name: str) -> date | None:
    """A date typed in either calendar, with any digits ("1405/01/01", "2026-03-21")."""
    text = normalize_fa(raw, digits="latin").strip()
    if not text:
        return None
    try:
        parsed = parse_date_guess(text)
    except InvalidDateError:
        raise DomainError(
            _("“%(value)s” is not a date. Write year/month/day.") % {"value": raw}, fields={name: "bad_date"}
        ) from None
    return parsed.date() if isinstance(parsed, datetime) else parsed


def _hour(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(_("hour must be a time like 2026-03-21T08:00Z."), fields={"hour": "bad_hour"}) from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def query_error_message(error: QuerySyntaxError) -> str:
    """The parser's error in the viewer's language: the column and what was expected there."""
    column = str(error.column)
    if (translation.get_language() or "").startswith("fa"):
        column = to_persian_digits(column)
    return _("Column %(column)s: expected %(expected)s; found %(found)s.") % {
        "column": column,
        "expected": error.expected,
        "found": error.found,
    }


def parse_text_query(text: str) -> Node | None:
    """The ``q`` filter as a query, or a DomainError naming ``q`` with the column."""
    if not text:
        return None
    try:
        return parse(text)
    except QuerySyntaxError as error:
        raise DomainError(query_error_message(error), fields={"q": "syntax"}, code="query_syntax") from None


def parse_filters(data: Mapping[str, Any]) -> MentionFilters:
    """Filters from a query string or JSON-shaped dict; a bad value is a DomainError naming it."""
    try:
        topics = tuple(int(v) for v in _values(data, "topic", "topics"))
    except ValueError:
        raise DomainError(
            _("%(field)s must be numbers.") % {"field": "topic"}, fields={"topic": "not_number"}
        ) from None
    since = parse_day(_one(data, "from", "since"), "from")
    until = parse_day(_one(data, "to", "until"), "to")
    if since and until and until < since:
        raise DomainError(_("The end date is before the start date."), fields={"to": "before_from"})
    text = " ".join(_one(data, "q", "text").split())[:500]
    parse_text_query(text)
    corrected = _one(data, "corrected")
    if corrected and corrected not in CORRECTED:
        _choices({"corrected": corrected}, "corrected", CORRECTED)
    return MentionFilters(
        topics=topics,
        sentiments=_choices(data, "sentiment", (*SENTIMENTS, NO_LABEL)),
        languages=tuple(_values(data, "language", "languages")),
        networks=tuple(v.lower() for v in _values(data, "network", "networks")),
        author=_one(data, "author").lstrip("@"),
        since=since,
        until=until,
        hour=_hour(_one(data, "hour")),
        text=text,
        corrected=corrected,
    )


def _sentiment_q(value: str) -> Q:
    if value == NO_LABEL:
        return Q(corrected_sentiment="", sentiment="")
    return Q(corrected_sentiment=value) | Q(corrected_sentiment="", sentiment=value)


def mentions_for(workspace: Workspace, filters: MentionFilters, zone: tzinfo) -> QuerySet[Mention]:
    """The workspace's mentions matching every filter but the text, newest first."""
    rows = Mention.objects.filter(workspace=workspace)
    start = day_start(filters.since, zone) if filters.since else None
    end = day_start(filters.until + timedelta(days=1), zone) if filters.until else None
    if filters.hour is not None:
        start = max(start, filters.hour) if start else filters.hour
        end = min(end, filters.hour + timedelta(hours=1)) if end else filters.hour + timedelta(hours=1)
    time_range: dict[str, datetime] = {}
    if start is not None:
        time_range["published_at__gte"] = start
    if end is not None:
        time_range["published_at__lt"] = end
    rows = rows.filter(**time_range)
    if filters.topics:
        # The copied ``published_at`` lets the topic index narrow the range too.
        links = MentionTopic.objects.filter(topic__workspace=workspace, topic_id__in=filters.topics, **time_range)
        rows = rows.filter(pk__in=links.values("mention_id"))
    if filters.sentiments:
        wanted = Q()
        for value in filters.sentiments:
            wanted |= _sentiment_q(value)
        rows = rows.filter(wanted)
    if filters.languages:
        codes = [code for code in filters.languages if code != UNKNOWN_LANGUAGE]
        language = Q(language__in=codes)
        if UNKNOWN_LANGUAGE in filters.languages:
            language |= Q(language="")
        rows = rows.filter(language)
    if filters.networks:
        rows = rows.filter(network__in=filters.networks)
    if filters.author:
        rows = rows.filter(author_handle__iexact=filters.author)
    if filters.corrected:
        rows = rows.exclude(corrected_sentiment="")
        same: Combinable = F("sentiment")
        if filters.corrected == "agreed":
            rows = rows.filter(corrected_sentiment=same)
        elif filters.corrected == "changed":
            rows = rows.exclude(corrected_sentiment=same)
    return rows.order_by("-published_at", "-id")


def next_cursor(mention: Mention) -> str:
    return f"{mention.published_at.isoformat()}|{mention.pk}"


def keyset(rows: QuerySet[Mention], before: str) -> QuerySet[Mention]:
    """``rows`` after the cursor ``before`` (``<iso time>|<id>``)."""
    if not before:
        return rows
    try:
        stamp, _sep, pk = before.replace(" ", "+").rpartition("|")
        at, last_id = datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        raise DomainError(_("The page cursor is not valid."), fields={"before": "invalid"}) from None
    return rows.filter(Q(published_at__lt=at) | Q(published_at=at, id__lt=last_id))


def page_of(
    rows: QuerySet[Mention], *, before: str = "", size: int = PAGE_SIZE, text: Node | None = None
) -> tuple[list[Mention], str]:
    """One page and the cursor of the next ("" at the end). With ``text``, rows are read in batches
    and kept when the query matches; after ``SCAN_LIMIT`` rows the page ends early and the cursor
    goes on from the last row read."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    if text is None:
        items = list(keyset(rows, before)[: size + 1])
        return items[:size], next_cursor(items[size - 1]) if len(items) > size else ""
    matcher: Matcher[int] = Matcher()
    matcher.set(0, text)
    found: list[Mention] = []
    cursor, scanned = before, 0
    while scanned < SCAN_LIMIT:
        batch = list(keyset(rows, cursor)[:SCAN_BATCH])
        for mention in batch:
            if matcher.match(mention.text, lang=mention.language, channel=mention.network):
                if len(found) == size:
                    return found, next_cursor(found[-1])
                found.append(mention)
        if len(batch) < SCAN_BATCH:
            return found, ""
        scanned += len(batch)
        cursor = next_cursor(batch[-1])
    return found, cursor
