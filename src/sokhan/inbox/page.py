"""What the inbox pages show and the small decisions behind their forms.

The views stay thin: they check access, call a workflow/replies service and answer with a redirect
(or JSON for the page's script). Everything they show comes from here: the list's filters as the
query string carries them (status defaults to open; an empty ``status`` means any), the rows and
their keyset cursor, the conversation's timeline (messages and notes in time order, with the rules
that acted on them), what the channel's connector can do, snooze presets in the viewer's zone, and
saved views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sokhan.channels.calls import connector_class
from sokhan.core.calendars import (
    CalendarName,
    InvalidDateError,
    aware_datetime,
    first_weekday,
    format_date,
    format_datetime,
    parse_date_guess,
)
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.text import normalize_fa
from sokhan.inbox.inbox_settings import inbox_settings_for
from sokhan.inbox.models import (
    Conversation,
    Direction,
    Kind,
    Message,
    Note,
    Priority,
    RuleHit,
    SavedView,
    Sentiment,
    Status,
    Tag,
    Team,
)
from sokhan.inbox.page_replies import Attachment, attachments_of
from sokhan.inbox.private_messages import PrivateRoute, private_route
from sokhan.inbox.queries import InboxFilters, conversations_for, page_of, parse_filters
from sokhan.inbox.replies import can_delete_others
from sokhan.inbox.reply_media import can_attach
from sokhan.inbox.saved_replies import render_saved_reply, saved_replies_for
from sokhan.networks.types import Capability

# Query-string names of the list's filters (as the filter form submits them and saved views replay them).
FILTER_KEYS = (
    "channel",
    "kind",
    "status",
    "assignee",
    "team",
    "tag",
    "sentiment",
    "priority",
    "language",
    "from",  # the date range; not "since", which is the updates endpoint's cursor
    "to",
    "awaiting",
    "q",
)
PAGE_SIZE = 30
UPDATES_MAX = 100
# Rows changed a little before the last poll are sent again: a transaction that commits late keeps
# its earlier ``updated_at``. The script ignores a row whose version it already shows.
UPDATES_OVERLAP = timedelta(seconds=10)
SNOOZE_PRESETS = ("1h", "tomorrow", "next_week")
SNOOZE_HOUR = time(9, 0)


# ------------------------------------------------------------------ the viewer


LANGUAGE_SAMPLE = 2000  # recent conversations whose languages the filter offers


@dataclass(frozen=True)
class Viewer:
    calendar: CalendarName
    language: str
    tz: tzinfo
    week_start: int

    def datetime(self, value: datetime) -> str:
        return format_datetime(value, calendar=self.calendar, language=self.language, tz=self.tz, style="short")

    def date_hint(self) -> str:
        today = timezone.now().astimezone(self.tz).date()
        return format_date(today, calendar=self.calendar, language=self.language, style="numeric")


def viewer_of(request: HttpRequest) -> Viewer:
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    language = "fa" if (translation.get_language() or "").startswith("fa") else "en"
    return Viewer(
        calendar=calendar,
        language=language,
        tz=timezone.get_current_timezone(),
        week_start=first_weekday(calendar=calendar, language=language),
    )


# ------------------------------------------------------------------ filters


def filter_values(query: QueryDict) -> dict[str, str]:
    """The filter form's values: the query's, with status "open" when the query does not name one."""
    values = {key: query.get(key, "") for key in FILTER_KEYS}
    if "status" not in query:
        values["status"] = Status.OPEN
    values["awaiting"] = "1" if values["awaiting"] in ("1", "true", "on", "yes") else ""
    return values


def filter_query(values: dict[str, str]) -> str:
    """The filters as a query string; ``status=`` is kept when empty (it means any status)."""
    pairs = [(k, v) for k, v in values.items() if v or k == "status"]
    return urlencode(pairs)


def _iso_day(raw: str, name: str) -> str:
    """A date typed in either calendar (any digits) as ISO, for ``parse_filters``."""
    text = normalize_fa(raw, digits="latin").strip()
    if not text:
        return ""
    try:
        parsed = parse_date_guess(text)
    except InvalidDateError:
        raise DomainError(
            _("“%(value)s” is not a date. Write year/month/day.") % {"value": raw}, fields={name: "bad_date"}
        ) from None
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    return day.isoformat()


def parse_list_filters(values: dict[str, str]) -> InboxFilters:
    data = dict(values)
    data["since"] = _iso_day(data.pop("from", ""), "from")
    data["until"] = _iso_day(data.pop("to", ""), "to")
    data["text"] = data.pop("q", "")
    return parse_filters({k: v for k, v in data.items() if v})


def values_from_saved(filters: dict[str, Any]) -> dict[str, str]:
    """A saved view's filters (``InboxFilters.as_dict``) as the list's query values."""

    def joined(name: str) -> str:
        raw = filters.get(name) or []
        return ",".join(str(v) for v in raw) if isinstance(raw, list) else str(raw)

    return {
        "channel": joined("channels"),
        "kind": joined("kinds"),
        "status": joined("statuses"),
        "assignee": str(filters.get("assignee") or ""),
        "team": str(filters.get("team") or ""),
        "tag": joined("tags"),
        "sentiment": joined("sentiments"),
        "priority": joined("priorities"),
        "language": joined("languages"),
        "from": str(filters.get("since") or ""),
        "to": str(filters.get("until") or ""),
        "awaiting": "1" if filters.get("awaiting") else "",
        "q": str(filters.get("text") or ""),
    }


# ------------------------------------------------------------------ the list


@dataclass
class ListState:
    values: dict[str, str]
    query: str  # the filters' query string, carried by every link of the page
    filters: InboxFilters
    rows: list[Conversation]
    cursor: str
    error: str = ""


def list_state(membership: Membership, query: QueryDict, *, before: str = "") -> ListState:
    values = filter_values(query)
    error = ""
    try:
        filters = parse_list_filters(values)
    except DomainError as exc:
        error = exc.message
        values = filter_values(QueryDict())
        filters = parse_list_filters(values)
    rows_qs = conversations_for(
        membership.workspace, filters, user=membership.user, zone=timezone.get_current_timezone()
    )
    try:
        rows, cursor = page_of(rows_qs, before=before, size=PAGE_SIZE)
    except DomainError as exc:
        error = error or exc.message
        rows, cursor = page_of(rows_qs, size=PAGE_SIZE)
    prefetch_related_objects(rows, "tags")
    return ListState(values=values, query=filter_query(values), filters=filters, rows=rows, cursor=cursor, error=error)


def inbox_url(workspace: Workspace, query: str = "", **extra: str) -> str:
    base = reverse("inbox:inbox", kwargs={"ws": workspace.slug})
    parts = [p for p in (query, urlencode(extra) if extra else "") if p]
    return f"{base}?{'&'.join(parts)}" if parts else base


def updates_url(workspace: Workspace, query: str = "") -> str:
    base = reverse("inbox:updates", kwargs={"ws": workspace.slug})
    return f"{base}?{query}" if query else base


def conversation_page_url(workspace: Workspace, conversation_id: int, query: str = "") -> str:
    base = reverse("inbox:conversation", kwargs={"ws": workspace.slug, "conversation_id": conversation_id})
    return f"{base}?{query}" if query else base


@dataclass(frozen=True)
class Options:
    """The choices of the filter form and the conversation's pickers."""

    channels: list[tuple[int, str]]
    kinds: list[tuple[str, str]]
    statuses: list[tuple[str, str]]
    members: list[User]
    teams: list[Team]
    sentiments: list[tuple[str, str]]
    priorities: list[tuple[str, str]]
    languages: list[str]


def options_for(workspace: Workspace) -> Options:
    channels = [(c.pk, c.display_name or c.network) for c in workspace.channels.order_by("display_name", "pk")]
    members = [
        m.user
        for m in Membership.objects.filter(workspace=workspace, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
        if role_can(m.role, Perm.INBOX_VIEW)
    ]
    # The languages of recent conversations (an index range, not a scan of every conversation),
    # plus the product's own two.
    recent = (
        Conversation.objects.filter(workspace=workspace)
        .order_by("-last_message_at")
        .values_list("language", flat=True)[:LANGUAGE_SAMPLE]
    )
    languages = sorted({"fa", "en", *(str(code) for code in recent if code)})
    return Options(
        channels=channels,
        kinds=[(str(v), str(label)) for v, label in Kind.choices],
        statuses=[(str(v), str(label)) for v, label in Status.choices],
        members=members,
        teams=list(Team.objects.filter(workspace=workspace).order_by("name")),
        sentiments=[(str(v), str(label)) for v, label in Sentiment.choices if v],
        priorities=[(str(v), str(label)) for v, label in Priority.choices],
        languages=languages,
    )


# ------------------------------------------------------------------ updates (polled by the list)


def parse_since(raw: str) -> datetime:
    try:
        since = datetime.fromisoformat(raw.replace(" ", "+"))  # a bare "+" in a query string is a space
    except ValueError:
        raise DomainError(_("since must be a time like 2026-03-21T08:00:00+00:00."), fields={"since": "bad"}) from None
    return since if timezone.is_aware(since) else timezone.make_aware(since, timezone.get_current_timezone())


def changed_since(
    membership: Membership, query: QueryDict, since: datetime
) -> tuple[list[Conversation], list[int], datetime]:
    """Conversations matching the filters changed after ``since``, the ids of changed ones that no
    longer match (the list drops them), and the ``since`` of the next poll."""
    now = timezone.now()
    filters = parse_list_filters(filter_values(query))
    matching = list(
        conversations_for(membership.workspace, filters, user=membership.user, zone=timezone.get_current_timezone())
        .filter(updated_at__gt=since)
        .select_related("channel", "assignee", "team")
        .prefetch_related("tags")[:UPDATES_MAX]
    )
    seen = {c.pk for c in matching}
    gone = [
        pk
        for pk in Conversation.objects.filter(workspace=membership.workspace, updated_at__gt=since)
        .order_by("-updated_at")
        .values_list("pk", flat=True)[:UPDATES_MAX]
        if pk not in seen
    ]
    return matching, gone, now - UPDATES_OVERLAP


# ------------------------------------------------------------------ the conversation


@dataclass
class Entry:
    """One line of the timeline: a message or an internal note."""

    at: datetime
    message: Message | None = None
    note: Note | None = None
    rules: list[str] = field(default_factory=list)
    new: bool = False  # arrived after the reply form was opened (shown when a reply was refused)
    attachments: list[Attachment] = field(default_factory=list)  # files a sent message carried
    private: PrivateRoute | None = None  # a received message: whether its author can be messaged privately


@dataclass(frozen=True)
class Abilities:
    reply: bool
    like: bool
    hide: bool
    delete: bool
    network: str
    reply_media: bool = False  # files from the library may go with a reply here


def abilities_of(conversation: Conversation) -> Abilities:
    try:
        cls = connector_class(conversation.channel.network)
    except DomainError:
        return Abilities(False, False, False, False, conversation.channel.network)
    needed = Capability.SEND_DM if conversation.kind == Kind.DM and cls.has(Capability.SEND_DM) else Capability.REPLY
    return Abilities(
        reply=cls.has(needed),
        like=cls.has(Capability.LIKE),
        hide=cls.has(Capability.HIDE),
        delete=can_delete_others(conversation.channel.network),
        network=str(cls.name),
        reply_media=can_attach(cls, direct=needed == Capability.SEND_DM),
    )


def rule_hit_text(hit: RuleHit) -> list[str]:
    """What a rule did, one line per action ("Tagged “refund” by rule Refunds"); ``detail`` is the
    sentence the rule engine wrote when it acted."""
    outcomes = {"not supported": _("not supported"), "not allowed": _("not allowed"), "failed": _("failed")}
    out: list[str] = []
    for item in hit.actions or [{}]:
        item = item if isinstance(item, dict) else {}
        action, value = str(item.get("action", "")), item.get("value", "")
        detail, result = str(item.get("detail", "")), str(item.get("result", ""))
        if action == "tag" and result in ("", "done"):
            line = _("Tagged “%(value)s” by rule %(rule)s") % {"value": value, "rule": hit.rule_name}
        elif detail or action:
            line = _("Rule %(rule)s: %(detail)s") % {"rule": hit.rule_name, "detail": detail or action}
        else:
            line = _("Matched rule %(rule)s") % {"rule": hit.rule_name}
        if result in outcomes:
            line = _("%(line)s (%(outcome)s)") % {"line": line, "outcome": outcomes[result]}
        out.append(line)
    return out


def timeline(conversation: Conversation, *, new_after: datetime | None = None) -> list[Entry]:
    messages = list(
        Message.objects.filter(conversation=conversation)
        .select_related("sent_by")
        .prefetch_related(Prefetch("rule_hits", queryset=RuleHit.objects.order_by("created_at", "id")))
        .order_by("created_at", "id")
    )
    notes = list(Note.objects.filter(conversation=conversation).select_related("author").order_by("created_at", "id"))
    files = attachments_of(messages, conversation.workspace)
    dm = conversation.kind == Kind.DM
    entries = [
        Entry(
            at=m.created_at,
            message=m,
            rules=[text for hit in m.rule_hits.all() for text in rule_hit_text(hit)],
            new=bool(new_after and m.received_at > new_after),
            attachments=files.get(m.pk, []),
            private=private_route(m, conversation) if m.direction == Direction.IN and not dm else None,
        )
        for m in messages
    ]
    entries += [Entry(at=n.created_at, note=n, new=bool(new_after and n.created_at > new_after)) for n in notes]
    entries.sort(key=lambda e: (e.at, 0 if e.message else 1, e.message.pk if e.message else e.note.pk if e.note else 0))
    return entries


def latest_received(conversation: Conversation) -> Message | None:
    return (
        Message.objects.filter(conversation=conversation, direction=Direction.IN).order_by("-created_at", "-id").first()
    )


def saved_replies(conversation: Conversation, agent: User) -> list[dict[str, Any]]:
    """The workspace's saved replies in the conversation's language (and language-neutral ones),
    each with its text filled in for this conversation."""
    out = []
    for item in saved_replies_for(conversation.workspace, language=conversation.language):
        out.append({"id": item.pk, "title": item.title, "text": render_saved_reply(item.text, conversation, agent)})
    return out


def guidelines_of(workspace: Workspace) -> str:
    return str(inbox_settings_for(workspace).guidelines or "")


def parse_seen_at(raw: str) -> datetime | None:
    try:
        seen = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return seen if timezone.is_aware(seen) else None


# ------------------------------------------------------------------ snoozing


def snooze_presets(viewer: Viewer, now: datetime | None = None) -> list[tuple[str, str, datetime]]:
    """``(key, label, until)``: in an hour, tomorrow at 9:00 and the start of next week at 9:00, in
    the viewer's zone and week (Saturday for Iranian calendars)."""
    now = now or timezone.now()
    local = now.astimezone(viewer.tz)
    ahead = (viewer.week_start - local.weekday()) % 7 or 7
    return [
        ("1h", _("In 1 hour"), now + timedelta(hours=1)),
        ("tomorrow", _("Tomorrow 9:00"), _at_nine(local.date() + timedelta(days=1), viewer.tz)),
        ("next_week", _("Next week"), _at_nine(local.date() + timedelta(days=ahead), viewer.tz)),
    ]


def _at_nine(day: date, tz: tzinfo) -> datetime:
    try:
        return aware_datetime(day, SNOOZE_HOUR, tz)
    except InvalidDateError:  # the clocks skip 9:00 that day
        return aware_datetime(day, time(10, 0), tz)


def snooze_until(data: QueryDict, viewer: Viewer) -> datetime:
    """The snooze time from the form: a preset, or a date (either calendar) and a time."""
    preset = data.get("preset", "")
    for key, _label, until in snooze_presets(viewer):
        if key == preset:
            return until
    raw_date = data.get("until_date", "").strip()
    if not raw_date:
        raise DomainError(_("Choose when the conversation should come back."), fields={"until": "missing"})
    try:
        parsed = parse_date_guess(raw_date, tz=viewer.tz)
    except InvalidDateError as exc:
        raise DomainError(str(exc), fields={"until": "invalid"}) from None
    day = parsed.astimezone(viewer.tz).date() if isinstance(parsed, datetime) else parsed
    raw_time = normalize_fa(data.get("until_time", ""), digits="latin").strip() or "09:00"
    try:
        wall = time.fromisoformat(raw_time.zfill(5))
        return aware_datetime(day, wall, viewer.tz)
    except ValueError:
        raise DomainError(_("Time is HH:MM, from 00:00 to 23:59."), fields={"until": "invalid"}) from None
    except InvalidDateError as exc:
        raise DomainError(str(exc), fields={"until": "invalid"}) from None


# ------------------------------------------------------------------ saved views


def saved_views_for(membership: Membership) -> list[SavedView]:
    """Shared views and the member's own."""
    return list(
        SavedView.objects.filter(workspace=membership.workspace)
        .filter(Q(owner__isnull=True) | Q(owner=membership.user))
        .order_by("name", "id")
    )


def saved_view_query(view: SavedView) -> str:
    return filter_query(values_from_saved(view.filters or {}))


def saved_view_create(membership: Membership, *, name: str, query: str, shared: bool) -> SavedView:
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("Give the view a name."), fields={"name": "empty"})
    if len(name) > 100:
        raise DomainError(_("A view's name is at most 100 characters."), fields={"name": "too_long"})
    if shared and not role_can(membership.role, Perm.INBOX_REPLY):
        raise DomainError(_("Your role may save only personal views."), fields={"shared": "forbidden"})
    # No statuses in a saved view means any status (replayed as ``status=``), not the list's default.
    filters = parse_list_filters(filter_values(QueryDict(query)))
    return SavedView.objects.create(
        workspace=membership.workspace, owner=None if shared else membership.user, name=name, filters=filters.as_dict()
    )


def saved_view_delete(membership: Membership, view: SavedView) -> None:
    if view.owner_id is None and not role_can(membership.role, Perm.INBOX_REPLY):
        raise DomainError(_("Your role may not delete shared views."), fields={"view": "forbidden"})
    if view.owner_id is not None and view.owner_id != membership.user_id:
        raise DomainError(_("That view is someone else's."), fields={"view": "forbidden"})
    view.delete()


def tag_suggestions(workspace: Workspace) -> list[str]:
    return list(Tag.objects.filter(workspace=workspace).order_by("name").values_list("name", flat=True)[:200])
