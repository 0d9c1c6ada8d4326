"""What the mentions page shows: the viewer's calendar and zone, the filter form's values (dates in
the viewer's calendar), the page of mentions and its cursor, the filter choices, and the links
the listening pages make to the list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone, translation

from sokhan.core.calendars import CalendarName, DateStyle, format_date, format_datetime
from sokhan.core.errors import DomainError
from sokhan.core.models import Workspace
from sokhan.core.text import to_persian_digits
from sokhan.listening.mention_filters import (
    NO_LABEL,
    SENTIMENT_LABELS,
    SENTIMENTS,
    UNKNOWN_LANGUAGE,
    MentionFilters,
    mentions_for,
    page_of,
    parse_filters,
    parse_text_query,
)
from sokhan.listening.models import Mention, Topic

FORM_KEYS = ("topic", "sentiment", "language", "network", "author", "from", "to", "hour", "q", "corrected")
OPTIONS_SAMPLE = 2000  # recent mentions whose languages and networks the filter offers


@dataclass(frozen=True)
class Viewer:
    calendar: CalendarName
    language: str
    zone: tzinfo

    def date(self, value: date, style: DateStyle = "short") -> str:
        return format_date(value, calendar=self.calendar, language=self.language, style=style)

    def datetime(self, value: datetime) -> str:
        return format_datetime(value, calendar=self.calendar, language=self.language, tz=self.zone, style="short")

    def digits(self, text: str) -> str:
        return to_persian_digits(text) if self.language == "fa" else text

    @property
    def rtl(self) -> bool:
        return self.language == "fa"


def viewer_of(request: HttpRequest) -> Viewer:
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    language = "fa" if (translation.get_language() or "").startswith("fa") else "en"
    return Viewer(calendar=calendar, language=language, zone=timezone.get_current_timezone())


def mentions_url(workspace: Workspace, filters: MentionFilters | None = None, **extra: str) -> str:
    base = reverse("listening:mentions", kwargs={"ws": workspace.slug})
    query = {**(filters.as_query() if filters else {}), **{k: v for k, v in extra.items() if v}}
    return f"{base}?{urlencode(query)}" if query else base


@dataclass
class ListState:
    values: dict[str, str]  # the form's values, dates in the viewer's calendar
    filters: MentionFilters
    rows: list[Mention]
    cursor: str
    error: str = ""


def _shown_values(filters: MentionFilters, viewer: Viewer, raw: dict[str, str], *, bad: bool) -> dict[str, str]:
    """What the form shows: valid dates in the viewer's calendar; after an error, what was typed."""
    values = {key: raw.get(key, "") for key in FORM_KEYS}
    if bad:
        return values
    values["from"] = viewer.date(filters.since, "numeric") if filters.since else ""
    values["to"] = viewer.date(filters.until, "numeric") if filters.until else ""
    return values


def list_state(workspace: Workspace, query: QueryDict, viewer: Viewer, *, before: str = "") -> ListState:
    raw = {key: query.get(key, "") for key in FORM_KEYS}
    error = ""
    try:
        filters = parse_filters(query)
    except DomainError as exc:
        error, filters = exc.message, MentionFilters()
    rows = mentions_for(workspace, filters, viewer.zone).select_related("corrected_by")
    try:
        items, cursor = page_of(rows, before=before, text=parse_text_query(filters.text))
    except DomainError as exc:
        error = error or exc.message
        items, cursor = page_of(rows)
    prefetch_related_objects(items, "topics")
    return ListState(
        values=_shown_values(filters, viewer, raw, bad=bool(error)),
        filters=filters,
        rows=items,
        cursor=cursor,
        error=error,
    )


@dataclass(frozen=True)
class Options:
    topics: list[Topic]
    sentiments: list[tuple[str, Any]]
    languages: list[str]
    networks: list[str]


def options_for(workspace: Workspace) -> Options:
    recent = Mention.objects.filter(workspace=workspace).order_by("-published_at")[:OPTIONS_SAMPLE]
    seen = list(recent.values_list("language", "network"))
    languages = sorted({lang for lang, _n in seen if lang})
    if any(not lang for lang, _n in seen):
        languages.append(UNKNOWN_LANGUAGE)
    return Options(
        topics=list(Topic.objects.filter(workspace=workspace).order_by("name")),
        sentiments=[(value, SENTIMENT_LABELS[value]) for value in (*SENTIMENTS, NO_LABEL)],
        languages=languages,
        networks=sorted({network for _l, network in seen if network}),
    )
