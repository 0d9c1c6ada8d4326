"""Publishing pages: the calendar (month, week, list) and moving a post to another day.

Everything is shown in the viewer's calendar, language and time zone (the middleware activates
them). The filters, the view and the anchor date are GET parameters, so every state of the page
has an address; HTMX swaps ``#calendar-body`` and pushes that address. Moving a post is a POST to
``calendar/move/`` (drag and drop in ``calendar.js``, or the per-item "Move" form without
JavaScript) that calls :func:`sokhan.publishing.reschedule.post_reschedule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sokhan.core.calendars import (
    CalendarName,
    DateParseError,
    InvalidDateError,
    first_weekday,
    format_date,
    format_datetime,
    format_time,
    month_name,
    parse_date_guess,
    weekday_name,
    weekend_days,
)
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership, User
from sokhan.core.permissions import Perm, role_can
from sokhan.core.text import normalize_fa, to_persian_digits
from sokhan.publishing import calendar_feed, calendar_grid
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.reschedule import post_reschedule, refusal
from sokhan.publishing.services import target_get
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import is_htmx, safe_next

VIEWS = ("month", "week", "list")
MAX_ITEMS = 2000
LABEL_SOURCE_POSTS = 2000
SNIPPET_CHARS = 80
CONFIRMED = (S.PUBLISHED, S.RESOLVED)
ANCHOR_YEARS = (1900, 2399)

STATE_LABELS: dict[str, str | Promise] = {
    S.DRAFT: gettext_lazy("Draft"),
    S.IN_REVIEW: gettext_lazy("In review"),
    S.APPROVED: gettext_lazy("Approved"),
    S.SCHEDULED: gettext_lazy("Scheduled"),
    S.PUBLISHING: gettext_lazy("Publishing"),
    S.PUBLISHED: gettext_lazy("Published"),
    S.FAILED: gettext_lazy("Failed"),
    S.OUTCOME_UNKNOWN: gettext_lazy("Outcome unknown"),
    S.RESOLVED: gettext_lazy("Published (checked)"),
}


def post_url(ws: str, post_id: int) -> str:
    return reverse("publishing:post", kwargs={"ws": ws, "post_id": post_id})


def new_post_url(ws: str) -> str:
    return reverse("publishing:composer_new", kwargs={"ws": ws})


# ------------------------------------------------------------------ filters


class CalendarFilterForm(forms.Form):
    channel = forms.TypedChoiceField(label=gettext_lazy("Channel"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    author = forms.TypedChoiceField(label=gettext_lazy("Author"), required=False, coerce=int, empty_value=None)
    label = forms.ChoiceField(label=gettext_lazy("Label"), required=False)

    def __init__(self, data: QueryDict | None, *, membership: Membership) -> None:
        super().__init__(data)
        workspace = membership.workspace
        channels = workspace.channels.order_by("display_name", "pk")
        channel_choices = [(c.pk, f"{c.display_name} ({c.network})") for c in channels]
        self._choices("channel", [("", _("All channels")), *channel_choices])
        self._choices("status", [("", _("Any status")), *((k, str(v)) for k, v in STATE_LABELS.items())])
        authors = User.objects.filter(memberships__workspace=workspace).order_by("full_name", "email")
        self._choices("author", [("", _("Anyone")), *((u.pk, u.display_name) for u in authors)])
        labels: set[str] = set()
        for row in Post.objects.filter(workspace=workspace).values_list("labels", flat=True)[:LABEL_SOURCE_POSTS]:
            labels.update(str(label) for label in row or [] if str(label).strip())
        self._choices("label", [("", _("Any label")), *((label, label) for label in sorted(labels))])

    def _choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def values(self) -> dict[str, Any]:
        """The valid filters (an invalid one is ignored, as if it were not set)."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}

    def query(self) -> str:
        """The filters as a query string to carry across navigation ("" when none is set)."""
        params = QueryDict(mutable=True)
        for name, value in self.values().items():
            if value not in (None, ""):
                params[name] = str(value)
        return params.urlencode()


# ------------------------------------------------------------------ items


@dataclass(frozen=True)
class Item:
    target: PostTarget
    when: datetime
    hour: int
    time_text: str
    state: str
    state_label: str
    channel: str
    network: str
    snippet: str
    url: str
    movable: bool
    why_not: str
    move_date: str
    move_time: str


@dataclass(frozen=True)
class Viewer:
    calendar: CalendarName
    language: str
    tz: Any  # tzinfo
    week_start: int
    weekend: frozenset[int]
    today: date
    may_move: bool


def _viewer(request: HttpRequest, membership: Membership) -> Viewer:
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    language = "fa" if (translation.get_language() or "").startswith("fa") else "en"
    return Viewer(
        calendar=calendar,
        language=language,
        tz=timezone.get_current_timezone(),
        week_start=first_weekday(calendar=calendar, language=language),
        weekend=weekend_days(calendar=calendar, language=language),
        today=timezone.localdate(),
        may_move=role_can(membership.role, Perm.POSTS_PUBLISH),
    )


def _when(target: PostTarget) -> datetime | None:
    if target.state in CONFIRMED and target.published_at:
        return target.published_at
    return target.scheduled_at


def _snippet(target: PostTarget) -> str:
    text = (target.text.strip().splitlines() or [""])[0] or target.title or target.post.title
    return Truncator(text).chars(SNIPPET_CHARS)


def _items(membership: Membership, viewer: Viewer, first: date, last: date, filters: dict[str, Any]) -> list[Item]:
    since, until = calendar_grid.day_range_utc(first, last, viewer.tz)
    rows = PostTarget.objects.filter(workspace=membership.workspace).filter(
        Q(scheduled_at__gte=since, scheduled_at__lt=until) | Q(published_at__gte=since, published_at__lt=until)
    )
    if filters.get("channel"):
        rows = rows.filter(channel_id=filters["channel"])
    if filters.get("status"):
        rows = rows.filter(state=filters["status"])
    if filters.get("author"):
        rows = rows.filter(post__author_id=filters["author"])
    label = filters.get("label") or ""
    ws = membership.workspace.slug
    items: list[Item] = []
    for target in rows.select_related("channel", "post").order_by("scheduled_at", "pk")[:MAX_ITEMS]:
        when = _when(target)
        if when is None or not since <= when < until:
            continue
        if label and label not in (target.post.labels or []):
            continue
        local = when.astimezone(viewer.tz)
        why_not = refusal(target)
        items.append(
            Item(
                target=target,
                when=when,
                hour=local.hour,
                time_text=format_time(local, language=viewer.language),
                state=target.state,
                state_label=str(STATE_LABELS.get(target.state, target.state)),
                channel=target.channel.display_name or target.channel.network,
                network=target.channel.network,
                snippet=_snippet(target),
                url=post_url(ws, target.post_id),
                movable=viewer.may_move and not why_not,
                why_not=why_not,
                move_date=format_date(
                    local.date(), calendar=viewer.calendar, language=viewer.language, style="numeric"
                ),
                move_time=format_time(local, language=viewer.language),
            )
        )
    items.sort(key=lambda item: (item.when, item.target.pk))
    return items


# ------------------------------------------------------------------ the page


def _anchor(value: str, today: date) -> date:
    """The ``date`` parameter (ISO); today when missing, invalid or outside years 1900–2399."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return today
    return day if ANCHOR_YEARS[0] <= day.year <= ANCHOR_YEARS[1] else today


def _digits(text: str, viewer: Viewer) -> str:
    return to_persian_digits(text) if viewer.language == "fa" else text


def _link(base: str, view: str, day: date, query: str) -> str:
    params = f"view={view}&date={day.isoformat()}"
    return f"{base}?{params}&{query}" if query else f"{base}?{params}"


def body_context(request: HttpRequest, membership: Membership, params: QueryDict) -> dict[str, Any]:
    """Everything ``_calendar_body.html`` shows for the page state in ``params``."""
    viewer = _viewer(request, membership)
    view = params.get("view", "month")
    if view not in VIEWS:
        view = "month"
    anchor = _anchor(params.get("date", ""), viewer.today)
    form = CalendarFilterForm(params, membership=membership)
    filters = form.values()
    query = form.query()
    month = calendar_grid.month_grid(
        anchor, calendar=viewer.calendar, week_start=viewer.week_start, weekend=viewer.weekend, today=viewer.today
    )
    week = calendar_grid.week_grid(
        anchor, calendar=viewer.calendar, week_start=viewer.week_start, weekend=viewer.weekend, today=viewer.today
    )
    if view == "week":
        first, last = week.start, week.end
        prev_day, next_day = week.start - timedelta(days=7), week.end + timedelta(days=1)
        title = _("%(start)s – %(end)s") % {
            "start": format_date(week.start, calendar=viewer.calendar, language=viewer.language),
            "end": format_date(week.end, calendar=viewer.calendar, language=viewer.language),
        }
    else:
        first, last = (month.start, month.end) if view == "month" else (month.first, month.last)
        prev_day = calendar_grid.shift_month(anchor, -1, viewer.calendar)
        next_day = calendar_grid.shift_month(anchor, 1, viewer.calendar)
        title = _digits(
            f"{month_name(month.month, calendar=viewer.calendar, language=viewer.language)} {month.year}", viewer
        )
    items = _items(membership, viewer, first, last, filters)
    by_day = calendar_grid.bucket_by_day(items, lambda item: item.when, viewer.tz)
    base = reverse("publishing:calendar", kwargs={"ws": membership.workspace.slug})
    here = _link(base, view, anchor, query)
    return {
        "view": view,
        "views": [(v, label, _link(base, v, anchor, query)) for v, label in _view_labels()],
        "anchor": anchor,
        "title": title,
        "form": form,
        "query": query,
        "here": here,
        "prev_url": _link(base, view, prev_day, query),
        "next_url": _link(base, view, next_day, query),
        "today_url": _link(base, view, viewer.today, query),
        "calendar_url": base,
        "move_url": reverse("publishing:calendar_move", kwargs={"ws": membership.workspace.slug}),
        "weekday_headers": [(weekday_name(w, language=viewer.language), w in viewer.weekend) for w in month.weekdays],
        "month_weeks": [[(day, by_day.get(day.date, [])) for day in wk] for wk in month.weeks],
        "week_days": [
            (day, weekday_name(day.date.weekday(), language=viewer.language), by_day.get(day.date, []))
            for day in week.days
        ],
        "week_hours": [
            (
                hour,
                format_time(time(hour, 0), language=viewer.language),
                [(day, [i for i in by_day.get(day.date, []) if i.hour == hour]) for day in week.days],
            )
            for hour in range(24)
        ],
        "list_days": [
            (day, weekday_name(day.weekday(), language=viewer.language), day_items)
            for day, day_items in sorted(by_day.items())
            if first <= day <= last
        ],
        "item_count": len(items),
        "may_move": viewer.may_move,
        "move_hint": _("Year/month/day, e.g. %(example)s") % {"example": _example_date(viewer)},
    }


def _example_date(viewer: Viewer) -> str:
    return format_date(viewer.today, calendar=viewer.calendar, language=viewer.language, style="numeric")


def _view_labels() -> list[tuple[str, str]]:
    return [("month", _("Month")), ("week", _("Week")), ("list", _("List"))]


def _render(
    request: HttpRequest, membership: Membership, params: QueryDict, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = workspace_context(membership, "calendar", **body_context(request, membership, params), **extra)
    if is_htmx(request):
        return render(request, "publishing/_calendar_body.html", context, status=status)
    context["feed_url"] = calendar_feed.calendar_url(membership.workspace)
    context["new_post_url"] = new_post_url(membership.workspace.slug)
    return render(request, "publishing/calendar.html", context, status=status)


@workspace_page(Perm.POSTS_VIEW)
@require_GET
def calendar_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _render(request, membership, request.GET)


# ------------------------------------------------------------------ moving


def _new_time(target: PostTarget, data: QueryDict, tz: Any) -> datetime:
    """The new time from the move form: ``date`` (either calendar, any digits), and optionally
    ``time`` (HH:MM) or ``hour`` (week view); otherwise the target keeps its wall-clock time."""
    current = _when(target) or timezone.now()
    raw_date = data.get("date", "").strip()
    try:
        parsed = parse_date_guess(raw_date, tz=tz)
    except DateParseError as exc:
        raise DomainError(str(exc), fields={"date": "invalid"}) from None
    day = parsed.astimezone(tz).date() if isinstance(parsed, datetime) else parsed
    hour: int | None = None
    minute: int | None = None
    raw_time = normalize_fa(data.get("time", ""), digits="latin").strip()
    raw_hour = normalize_fa(data.get("hour", ""), digits="latin").strip()
    if raw_time:
        try:
            wall = time.fromisoformat(raw_time if len(raw_time) > 4 else raw_time.zfill(5))
        except ValueError:
            raise DomainError(_("Time is HH:MM, from 00:00 to 23:59."), fields={"time": "invalid"}) from None
        hour, minute = wall.hour, wall.minute
    elif raw_hour:
        if not raw_hour.isdigit() or not 0 <= int(raw_hour) <= 23:
            raise DomainError(_("Hour is 0 to 23."), fields={"hour": "invalid"})
        hour = int(raw_hour)
    elif isinstance(parsed, datetime):
        local = parsed.astimezone(tz)
        hour, minute = local.hour, local.minute
    try:
        return calendar_grid.moved_to(current, day, tz, hour=hour, minute=minute)
    except InvalidDateError as exc:
        raise DomainError(str(exc), fields={"time": "invalid"}) from None


def _return_params(request: HttpRequest, fallback: str) -> tuple[str, QueryDict]:
    target = safe_next(request, fallback)
    return target, QueryDict(urlsplit(target).query)


@workspace_page(Perm.POSTS_PUBLISH)
@require_POST
def calendar_move(request: HttpRequest, membership: Membership) -> HttpResponse:
    base = reverse("publishing:calendar", kwargs={"ws": membership.workspace.slug})
    back, params = _return_params(request, base)
    tz = timezone.get_current_timezone()
    raw_id = request.POST.get("target", "")
    if not raw_id.isdigit():
        raise Http404("no such post target")
    try:
        target = target_get(membership.workspace, int(raw_id))
    except NotFound:
        raise Http404("no such post target") from None
    try:
        at = _new_time(target, request.POST, tz)
        moved = post_reschedule(actor=membership, post_target_id=target.pk, at=at, ip=client_ip(request))
    except DomainError as error:
        if is_htmx(request):
            return _render(request, membership, params, move_error=error.message)
        return _render(request, membership, params, status=error.status, move_error=error.message)
    done = _("Moved to %(when)s.") % {"when": _moved_text(request, moved, tz)}
    if is_htmx(request):
        return _render(request, membership, params, move_done=done)
    messages.success(request, done)
    return redirect(back)


def _moved_text(request: HttpRequest, target: PostTarget, tz: Any) -> str:
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    language = "fa" if (translation.get_language() or "").startswith("fa") else "en"
    when = target.scheduled_at or timezone.now()
    return format_datetime(when, calendar=calendar, language=language, tz=tz, style="long")


urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/calendar/", calendar_page, name="calendar"),
    path("w/<slug:ws>/calendar/move/", calendar_move, name="calendar_move"),
]
