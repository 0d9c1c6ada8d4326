"""The inbox list: filters (the same for the page, the API and saved views) → a workspace-scoped query.

Filters are a plain dict (query-string or JSON shaped), validated into ``InboxFilters`` with errors
that name the bad field. The list is ordered newest activity first and paged by keyset
(``before`` = the last row's ``last_message_at``/id), which stays fast on a million messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError
from sokhan.core.models import User, Workspace
from sokhan.inbox.models import Conversation, Kind, Priority, Sentiment, Status

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
LIST_FIELDS = (
    "id",
    "channel_id",
    "kind",
    "status",
    "priority",
    "assignee_id",
    "team_id",
    "language",
    "sentiment",
    "contact_handle",
    "contact_name",
    "preview",
    "message_count",
    "last_message_at",
    "awaiting_since",
    "snoozed_until",
    "version",
    "subject_text",
)


@dataclass(frozen=True)
class InboxFilters:
    channels: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    assignee: str = ""  # "", "me", "none", or a user id
    team: int | None = None
    tags: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    awaiting: bool = False  # only conversations waiting for a reply
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form saved views keep (and ``parse_filters`` reads back)."""
        out: dict[str, Any] = {}
        for name in ("channels", "kinds", "statuses", "tags", "sentiments", "priorities", "languages"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.assignee:
            out["assignee"] = self.assignee
        if self.team is not None:
            out["team"] = self.team
        if self.since:
            out["since"] = self.since.isoformat()
        if self.until:
            out["until"] = self.until.isoformat()
        if self.awaiting:
            out["awaiting"] = True
        if self.text:
            out["text"] = self.text
        return out


def _values(data: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    raw: Any = getlist(name) if getlist is not None else data.get(name, [])
    if not isinstance(raw, list | tuple):  # one value: a string, or a number or bool from saved JSON
        raw = [raw]
    out: list[str] = []
    for item in raw:
        if item is None or item is False:
            continue
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    return out


def _choice(data: Mapping[str, Any], name: str, allowed: list[str]) -> tuple[str, ...]:
    values = _values(data, name)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise DomainError(
            _("Unknown %(field)s: %(values)s. Use one of: %(allowed)s.")
            % {"field": name, "values": ", ".join(bad), "allowed": ", ".join(a for a in allowed if a)},
            fields={name: "unknown"},
        )
    return tuple(values)


def _either(data: Mapping[str, Any], plural: str, singular: str, allowed: list[str]) -> tuple[str, ...]:
    return _choice(data, plural, allowed) or _choice(data, singular, allowed)


def _ints(data: Mapping[str, Any], name: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in _values(data, name))
    except ValueError:
        raise DomainError(_("%(field)s must be numbers.") % {"field": name}, fields={name: "not_number"}) from None


def _date(data: Mapping[str, Any], name: str) -> date | None:
    values = _values(data, name)
    if not values:
        return None
    try:
        return date.fromisoformat(values[0])
    except ValueError:
        raise DomainError(
            _("%(field)s must be a date like 2026-03-21.") % {"field": name}, fields={name: "bad_date"}
        ) from None


def parse_filters(data: Mapping[str, Any]) -> InboxFilters:
    assignee = (_values(data, "assignee") or [""])[0]
    if assignee not in ("", "me", "none") and not assignee.isdigit():
        raise DomainError(_("assignee must be me, none or a member id."), fields={"assignee": "unknown"})
    team_values = _ints(data, "team")
    since, until = _date(data, "since"), _date(data, "until")
    if since and until and until < since:
        raise DomainError(_("until is before since."), fields={"until": "before_since"})
    return InboxFilters(
        channels=_ints(data, "channels") or _ints(data, "channel"),
        kinds=_either(data, "kinds", "kind", list(Kind.values)),
        statuses=_either(data, "statuses", "status", list(Status.values)),
        assignee=assignee,
        team=team_values[0] if team_values else None,
        tags=tuple(_values(data, "tags") or _values(data, "tag")),
        sentiments=_choice(data, "sentiments", list(Sentiment.values))
        or _choice(data, "sentiment", list(Sentiment.values)),
        priorities=_choice(data, "priorities", list(Priority.values))
        or _choice(data, "priority", list(Priority.values)),
        languages=tuple(_values(data, "languages") or _values(data, "language")),
        since=since,
        until=until,
        awaiting=str((_values(data, "awaiting") or [""])[0]).lower() in ("1", "true", "yes", "on"),
        text=" ".join(str((_values(data, "text") or _values(data, "q") or [""])[0]).split())[:200],
    )


def conversations_for(
    workspace: Workspace, filters: InboxFilters, *, user: User, zone: Any = None
) -> QuerySet[Conversation]:
    """The workspace's conversations matching ``filters``, newest activity first."""
    rows = Conversation.objects.filter(workspace=workspace)
    if filters.channels:
        rows = rows.filter(channel_id__in=filters.channels)
    if filters.kinds:
        rows = rows.filter(kind__in=filters.kinds)
    if filters.statuses:
        rows = rows.filter(status__in=filters.statuses)
    if filters.assignee == "me":
        rows = rows.filter(assignee=user)
    elif filters.assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee:
        rows = rows.filter(assignee_id=int(filters.assignee))
    if filters.team is not None:
        rows = rows.filter(team_id=filters.team)
    for tag in filters.tags:
        rows = rows.filter(tags__workspace=workspace, tags__name__iexact=tag.lstrip("#"))
    if filters.sentiments:
        rows = rows.filter(sentiment__in=filters.sentiments)
    if filters.priorities:
        rows = rows.filter(priority__in=filters.priorities)
    if filters.languages:
        rows = rows.filter(language__in=filters.languages)
    zone = zone or timezone.get_current_timezone()
    if filters.since:
        rows = rows.filter(last_message_at__gte=datetime.combine(filters.since, time.min, zone))
    if filters.until:
        rows = rows.filter(last_message_at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, zone))
    if filters.awaiting:
        rows = rows.filter(awaiting_since__isnull=False)
    if filters.text:
        rows = rows.filter(
            Q(preview__icontains=filters.text)
            | Q(contact_handle__icontains=filters.text)
            | Q(contact_name__icontains=filters.text)
        )
    return rows.order_by("-last_message_at", "-id")


def page_size(size: int) -> int:
    return max(1, min(size, MAX_PAGE_SIZE))


def keyset(rows: QuerySet[Conversation], before: str) -> QuerySet[Conversation]:
    """``rows`` after the cursor ``before`` (``<iso time>|<id>``, from ``next_cursor``)."""
    if not before:
        return rows
    try:
        stamp, _sep, pk = before.rpartition("|")
        at, last_id = datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        raise DomainError(_("The page cursor is not valid."), fields={"before": "invalid"}) from None
    return rows.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=last_id))


def next_cursor(last_message_at: datetime | None, pk: int) -> str:
    return f"{last_message_at.isoformat()}|{pk}" if last_message_at is not None else ""


def page_of(rows: QuerySet[Conversation], *, before: str = "", size: int = PAGE_SIZE) -> tuple[list[Conversation], str]:
    """One page and the cursor of the next (``""`` at the end). ``before`` is ``<iso time>|<id>``."""
    size = page_size(size)
    items = list(keyset(rows, before).select_related("channel", "assignee", "team")[: size + 1])
    more = len(items) > size
    items = items[:size]
    cursor = next_cursor(items[-1].last_message_at, items[-1].pk) if more and items else ""
    return items, cursor
