"""The private iCalendar (RFC 5545) feed of a workspace's scheduled and published posts.

Its address carries a signed token over the workspace id (its own salt, so a feed token is no
use anywhere else) instead of the id, so feeds cannot be enumerated. Anyone with the address can
read it, as with any calendar subscription; members who may view posts see it in the API.
"""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from icalendar import Calendar, Event

from sokhan.core.models import Workspace
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget

_SALT = "sokhan.publishing.calendar"
ENTRIES = 1000
CONFIRMED = (S.PUBLISHED, S.RESOLVED)
TENTATIVE = (S.SCHEDULED, S.PUBLISHING, S.OUTCOME_UNKNOWN)


def calendar_token(workspace: Workspace) -> str:
    return signing.Signer(salt=_SALT).sign(str(workspace.pk))


def calendar_url(workspace: Workspace) -> str:
    return settings.BASE_URL + reverse("publishing:calendar_feed", kwargs={"token": calendar_token(workspace)})


def _workspace(token: str) -> Workspace:
    try:
        workspace_id = int(signing.Signer(salt=_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise Http404("no such calendar") from None
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404("no such calendar")
    return workspace


def _summary(target: PostTarget) -> str:
    first_line = (target.text.strip().splitlines() or [""])[0] or target.title
    name = target.channel.display_name or target.channel.network
    return f"{name}: {Truncator(first_line).chars(100)}" if first_line else name


def render_calendar(workspace: Workspace) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Sokhan//Publishing calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", workspace.name)
    cal.add("x-wr-timezone", workspace.timezone or "UTC")
    stamp = timezone.now().astimezone(UTC).replace(microsecond=0)
    rows = (
        PostTarget.objects.filter(workspace=workspace, state__in=CONFIRMED + TENTATIVE)
        .select_related("channel")
        .order_by("-scheduled_at", "-id")[:ENTRIES]
    )
    for target in rows:
        start = target.published_at if target.state in CONFIRMED and target.published_at else target.scheduled_at
        if start is None:
            continue
        event = Event()
        event.add("uid", f"{target.idempotency_key}@sokhan")
        event.add("dtstamp", stamp)
        event.add("dtstart", start.astimezone(UTC).replace(microsecond=0))
        event.add("summary", _summary(target))
        event.add("description", target.text)
        if target.state in CONFIRMED and target.remote_url:
            event.add("url", target.remote_url)
        event.add("status", "CONFIRMED" if target.state in CONFIRMED else "TENTATIVE")
        cal.add_component(event)
    return bytes(cal.to_ical())


def calendar_view(request: HttpRequest, token: str) -> HttpResponse:
    body = render_calendar(_workspace(token))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="sokhan.ics"'
    return response
