"""Publishing pages: a channel's queue — its weekly posting times and the posts waiting in them.

Posting times are wall-clock times in the workspace's time zone (see
:mod:`sokhan.publishing.queue`); the weekly grid starts on Saturday for Persian viewers. Adding and
removing a time rewrites the channel's whole list through ``queue.slots_replace`` (validated and
audited there). The upcoming list shows the next posting times and what already holds them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sokhan.channels.models import Channel
from sokhan.core.calendars import CalendarName, first_weekday, format_time, weekday_name, weekend_days
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.core.text import normalize_fa
from sokhan.publishing import calendar_grid
from sokhan.publishing.models import PostingSlot, PostTarget
from sokhan.publishing.queue import (
    TAKING,
    SlotInput,
    next_free_slot,
    slots_list,
    slots_replace,
    suggested_slots,
)
from sokhan.publishing.views.calendar import STATE_LABELS, post_url
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import is_htmx

UPCOMING = 14


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    targets: list[tuple[PostTarget, str, str]]  # target, state label, post URL


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _language() -> str:
    return "fa" if (translation.get_language() or "").startswith("fa") else "en"


def _week(request: HttpRequest, language: str) -> tuple[int, frozenset[int]]:
    """The viewer's first weekday and weekend days (Saturday and Friday for Persian)."""
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    return first_weekday(calendar=calendar, language=language), weekend_days(calendar=calendar, language=language)


def _upcoming(channel: Channel, slots: list[PostingSlot], zone: ZoneInfo, ws: str) -> list[Upcoming]:
    now = timezone.now()
    times = calendar_grid.upcoming_slots([(s.weekday, s.time) for s in slots], after=now, tz=zone, count=UPCOMING)
    if not times:
        return []
    held: dict[datetime, list[tuple[PostTarget, str, str]]] = {}
    rows = (
        PostTarget.objects.filter(
            channel=channel,
            state__in=TAKING,
            scheduled_at__gte=times[0],
            scheduled_at__lt=times[-1] + timedelta(minutes=1),
        )
        .select_related("post")
        .order_by("scheduled_at", "pk")
    )
    for target in rows:
        if target.scheduled_at is None:
            continue
        minute = target.scheduled_at.astimezone(UTC).replace(second=0, microsecond=0)
        held.setdefault(minute, []).append(
            (target, str(STATE_LABELS.get(target.state, target.state)), post_url(ws, target.post_id))
        )
    return [Upcoming(at=at, targets=held.get(at, [])) for at in times]


def _context(request: HttpRequest, membership: Membership, channel: Channel | None, **extra: Any) -> dict[str, Any]:
    workspace = membership.workspace
    language = _language()
    week_start, weekend = _week(request, language)
    order = calendar_grid.weekday_order(week_start)
    zone = _zone(workspace.timezone)
    context: dict[str, Any] = {
        "channels": list(workspace.channels.order_by("display_name", "pk")),
        "channel": channel,
        "queue_tz": workspace.timezone or "UTC",
        "may_edit": role_can(membership.role, Perm.POSTS_EDIT),
        "weekday_choices": [(w, weekday_name(w, language=language)) for w in order],
        **extra,
    }
    if channel is not None:
        slots = slots_list(workspace, channel.pk)
        by_day: dict[int, list[PostingSlot]] = {}
        for slot in slots:
            by_day.setdefault(slot.weekday, []).append(slot)
        context["columns"] = [
            (
                w,
                weekday_name(w, language=language),
                w in weekend,
                [(s, s.time.strftime("%H:%M"), format_time(s.time, language=language)) for s in by_day.get(w, [])],
            )
            for w in order
        ]
        context["slot_count"] = len(slots)
        context["upcoming"] = _upcoming(channel, slots, zone, workspace.slug)
        try:
            context["next_free"] = next_free_slot(channel, after=timezone.now(), tz=workspace.timezone)
        except DomainError:
            context["next_free"] = None
        context["queue_url"] = reverse("publishing:queue", kwargs={"ws": workspace.slug}) + f"?channel={channel.pk}"
        if context["may_edit"]:
            have = {(s.weekday, s.time) for s in slots}
            context["suggested"] = [
                (w, weekday_name(w, language=language), t.strftime("%H:%M"), format_time(t, language=language))
                for w, t in suggested_slots(workspace)
                if (w, t) not in have
            ]
    return context


def _channel(membership: Membership, raw: str | None) -> Channel | None:
    channels = membership.workspace.channels.order_by("display_name", "pk")
    if raw:
        if not raw.isdigit():
            raise Http404("no such channel")
        channel = channels.filter(pk=int(raw)).first()
        if channel is None:
            raise Http404("no such channel")
        return channel
    return channels.first()


def _slot_inputs(slots: list[PostingSlot]) -> list[SlotInput]:
    return [SlotInput(weekday=s.weekday, time=s.time.strftime("%H:%M")) for s in slots]


def _change(request: HttpRequest, membership: Membership, channel: Channel) -> str:
    """Apply the add/remove form; returns the success message (``DomainError`` on bad input)."""
    action = request.POST.get("action", "")
    raw_weekday = request.POST.get("weekday", "")
    raw_time = normalize_fa(request.POST.get("time", ""), digits="latin").strip()
    if not raw_weekday.isdigit() or not 0 <= int(raw_weekday) <= 6:
        raise DomainError(_("Choose a day of the week."), fields={"weekday": "invalid"})
    weekday = int(raw_weekday)
    current = slots_list(membership.workspace, channel.pk)
    wanted = _slot_inputs(current)
    language = _language()
    if action == "add":
        if not raw_time:
            raise DomainError(_("Enter a time, e.g. 09:30."), fields={"time": "required"})
        wanted.append(SlotInput(weekday=weekday, time=raw_time))
        done = _("Added %(day)s %(time)s.")
    elif action == "remove":
        wanted = [s for s in wanted if not (s.weekday == weekday and s.time == raw_time)]
        if len(wanted) == len(current):
            raise DomainError(_("This posting time is not in the list."), fields={"time": "missing"})
        done = _("Removed %(day)s %(time)s.")
    else:
        raise DomainError(_("Unknown action."), fields={"action": "invalid"})
    try:
        slots_replace(actor=membership, channel_id=channel.pk, slots=wanted, ip=client_ip(request))
    except DomainError as error:
        if error.fields and any(k.startswith("slots.") and k.endswith(".time") for k in error.fields):
            raise DomainError(_("Time is HH:MM, from 00:00 to 23:59."), fields={"time": "invalid"}) from None
        if any(k.startswith("slots.") for k in error.fields):
            raise DomainError(_("This posting time is already in the list."), fields={"time": "duplicate"}) from None
        raise
    shown = raw_time
    with contextlib.suppress(ValueError):
        shown = format_time(time.fromisoformat(raw_time.zfill(5)), language=language)
    return done % {"day": weekday_name(weekday, language=language), "time": shown}


@workspace_page(Perm.POSTS_VIEW)
@require_http_methods(["GET", "POST"])
def queue_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    channel = _channel(membership, source.get("channel"))
    status = 200
    extra: dict[str, Any] = {}
    if request.method == "POST":
        if not role_can(membership.role, Perm.POSTS_EDIT):
            raise PermissionDenied(Perm.POSTS_EDIT.value)
        if channel is None:
            raise Http404("no channel")
        try:
            done = _change(request, membership, channel)
        except DomainError as error:
            status = 400
            extra["queue_error"] = error.message
        else:
            if not is_htmx(request):
                messages.success(request, done)
                return redirect(
                    reverse("publishing:queue", kwargs={"ws": membership.workspace.slug}) + f"?channel={channel.pk}"
                )
            extra["queue_done"] = done
    context = workspace_context(membership, "calendar", **_context(request, membership, channel, **extra))
    if is_htmx(request):
        # HTMX does not swap error answers; the message is part of the fragment either way.
        return render(request, "publishing/_queue_channel.html", context)
    return render(request, "publishing/queue.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/queue/", queue_page, name="queue"),
]
