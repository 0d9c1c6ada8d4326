"""The post-mortem of an incident: the figures (``summarize``, stored in ``Incident.summary``) and a
readable text from them (``postmortem_text``, in the active language).

Figures: how long it lasted; mentions of its topics per hour and the negative share during the
incident against the week before it opened; the alerts of those topics while it was open (and the
one it started from); holding statements sent; the checklist; the urgent mentions that reached the
inbox while it was open, how many were answered and the median time to the first answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from sokhan.core.calendars import CalendarName, format_datetime
from sokhan.core.text import to_persian_digits
from sokhan.inbox.models import Direction, Kind, Message, Priority
from sokhan.listening.models import Alert, AlertKind, HourlyCount, Incident, Topic
from sokhan.listening.spikes import HOUR, floor_hour

BEFORE = timedelta(days=7)


def _mentions(topic_ids: list[int], start: datetime, end: datetime) -> tuple[int, int, float]:
    """Mentions, negative mentions and hours in the UTC hour buckets that begin in [start, end)."""
    first = floor_hour(start)
    rows = HourlyCount.objects.filter(topic_id__in=topic_ids, hour__gte=first, hour__lt=end)
    sums = rows.aggregate(total=Sum("total"), negative=Sum("negative"))
    hours = max((end - first) / HOUR, 1.0)
    return int(sums["total"] or 0), int(sums["negative"] or 0), hours


def _share(negative: int, total: int) -> float | None:
    return round(negative / total, 4) if total else None


def summarize(incident: Incident, *, now: datetime, resumed: bool) -> dict[str, Any]:
    chosen = list(incident.topics.values_list("pk", "name"))
    topic_ids = [pk for pk, _name in chosen] or list(
        Topic.objects.filter(workspace_id=incident.workspace_id).values_list("pk", flat=True)
    )
    opened = incident.opened_at
    total, negative, hours = _mentions(topic_ids, opened, now)
    before_total, before_negative, before_hours = _mentions(topic_ids, opened - BEFORE, floor_hour(opened))
    alerts = Alert.objects.filter(
        workspace_id=incident.workspace_id, topic_id__in=topic_ids, hour__gte=floor_hour(opened)
    )
    alert_ids = set(alerts.values_list("pk", flat=True)) | ({incident.alert_id} if incident.alert_id else set())
    kinds = list(Alert.objects.filter(pk__in=alert_ids).values_list("kind", flat=True))
    statements = list(incident.events.filter(kind="statement").order_by("at", "pk"))
    done = [i for i in incident.checklist if i.get("done")]
    return {
        "opened_at": opened.isoformat(),
        "closed_at": now.isoformat(),
        "duration_seconds": round((now - opened).total_seconds()),
        "topics": [name for _pk, name in chosen],
        "mentions": {
            "during": total,
            "negative_during": negative,
            "per_hour_during": round(total / hours, 2),
            "negative_share_during": _share(negative, total),
            "before": before_total,
            "negative_before": before_negative,
            "per_hour_before": round(before_total / before_hours, 2),
            "negative_share_before": _share(before_negative, before_total),
        },
        "alerts": {
            "total": len(kinds),
            "volume": kinds.count(AlertKind.VOLUME),
            "negative": kinds.count(AlertKind.NEGATIVE),
        },
        "statements": {
            "sent": len(statements),
            "names": sorted({str(e.data.get("name") or "") for e in statements} - {""}),
        },
        "checklist": {
            "done": len(done),
            "total": len(incident.checklist),
            "open_items": [str(i.get("item", "")) for i in incident.checklist if not i.get("done")],
        },
        "notes": incident.events.filter(kind="note").count(),
        "inbox": _inbox(incident, now),
        "publishing": {"paused_before": incident.paused_before, "resumed": resumed},
    }


def _inbox(incident: Incident, now: datetime) -> dict[str, Any]:
    """Urgent mentions the inbox received while the incident was open and how fast they were
    answered (first answer, from when Sokhan received the message)."""
    received = Message.objects.filter(
        workspace_id=incident.workspace_id,
        direction=Direction.IN,
        kind=Kind.MENTION,
        conversation__priority=Priority.URGENT,
        received_at__gte=incident.opened_at,
        received_at__lt=now,
    ).values_list("conversation_id", "received_at", "answered_at")
    rows = list(received)
    waits = [(answered - at).total_seconds() for _c, at, answered in rows if answered is not None and answered >= at]
    return {
        "conversations": len({c for c, _at, _answered in rows}),
        "messages": len(rows),
        "answered": len(waits),
        "median_response_seconds": round(median(waits)) if waits else None,
    }


# ------------------------------------------------------------------------------ the text


def _fa() -> bool:
    return (translation.get_language() or "").startswith("fa")


def _digits(text: str) -> str:
    return to_persian_digits(text) if _fa() else text


def _percent(share: float | None) -> str:
    if share is None:
        return "—"
    text = f"{share * 100:.0f}%"
    return to_persian_digits(text).replace("%", "٪") if _fa() else text


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        text = _("%(n)s min") % {"n": max(minutes, 1)}
    elif minutes < 48 * 60:
        text = _("%(h)s h %(m)s min") % {"h": minutes // 60, "m": minutes % 60}
    else:
        text = _("%(d)s d %(h)s h") % {"d": minutes // (24 * 60), "h": (minutes // 60) % 24}
    return _digits(text)


def _when(incident: Incident, iso: str) -> str:
    workspace = incident.workspace
    calendar: CalendarName = "jalali" if workspace.calendar == "jalali" else "gregorian"
    language = "fa" if _fa() else "en"
    return format_datetime(datetime.fromisoformat(iso), calendar=calendar, language=language, tz=workspace.timezone)


def postmortem_text(incident: Incident, summary: dict[str, Any], notes: str = "") -> str:
    """The post-mortem as plain text in the active language, from ``summary``."""
    m, alerts, statements = summary["mentions"], summary["alerts"], summary["statements"]
    checklist, inbox = summary["checklist"], summary["inbox"]
    separator = "، " if _fa() else ", "
    lines = [
        _("Crisis “%(title)s”: from %(start)s to %(end)s (%(duration)s).")
        % {
            "title": incident.title,
            "start": _when(incident, summary["opened_at"]),
            "end": _when(incident, summary["closed_at"]),
            "duration": duration_text(summary["duration_seconds"]),
        },
        _("Owner: %(owner)s. Topics: %(topics)s.")
        % {
            "owner": incident.owner.display_name if incident.owner else "—",
            "topics": separator.join(summary["topics"]) or _("all topics"),
        },
        _(
            "Mentions: %(during)s during the incident, %(rate)s an hour against %(rate_before)s an hour in the "
            "week before; negative share %(share)s against %(share_before)s."
        )
        % {
            "during": _digits(str(m["during"])),
            "rate": _digits(f"{m['per_hour_during']:.1f}"),
            "rate_before": _digits(f"{m['per_hour_before']:.1f}"),
            "share": _percent(m["negative_share_during"]),
            "share_before": _percent(m["negative_share_before"]),
        },
        _digits(
            _("Alerts: %(n)s (%(volume)s volume, %(negative)s negative share).")
            % {"n": alerts["total"], "volume": alerts["volume"], "negative": alerts["negative"]}
        ),
        _digits(_("Holding statements sent: %(n)s.") % {"n": statements["sent"]})
        + (f" ({separator.join(statements['names'])})" if statements["names"] else ""),
        _digits(_("Checklist: %(done)s of %(total)s done.") % {"done": checklist["done"], "total": checklist["total"]})
        + (
            " " + _("Not done: %(items)s.") % {"items": separator.join(checklist["open_items"])}
            if checklist["open_items"]
            else ""
        ),
        _digits(
            _("Inbox: %(n)s urgent mentions, %(answered)s answered, median first answer %(median)s.")
            % {
                "n": inbox["messages"],
                "answered": inbox["answered"],
                "median": duration_text(inbox["median_response_seconds"]),
            }
        ),
        _("Publishing resumed when the incident ended.")
        if summary["publishing"]["resumed"]
        else (
            _("Publishing stays paused: it was already paused when the incident began.")
            if summary["publishing"]["paused_before"]
            else _("Publishing had been resumed during the incident.")
        ),
    ]
    if notes:
        lines += ["", _("Notes:"), notes]
    return "\n".join(lines)
