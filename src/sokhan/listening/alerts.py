"""Alerts: spike detection over the stored hourly counts (``spikes`` does the statistics), the
alert rows it creates, and acknowledging them. Where an alert goes besides the alerts page is
``alert_destinations``. See docs/listening-crisis.md.

``detect_workspace`` evaluates the current hour (so far) and the previous one of every enabled
topic against the baseline of the weeks before. It is idempotent: an alert is unique per topic,
kind and hour (a database constraint), so running it again, or on two workers at once, creates
nothing twice; a later run of the same hour only raises the alert's figures. Announcing a new alert
happens in the transaction that inserts it: the in-app notifications are rows written with it, and
each outside destination gets one delivery job enqueued with it (the job exists iff the alert
does). The jobs send at most once (``alert_destinations.deliver``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Min, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sokhan.core.calendars import CalendarName, format_datetime
from sokhan.core.errors import NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.core.text import to_persian_digits
from sokhan.listening.models import Alert, AlertKind, HourlyCount, MentionTopic, Source, Topic
from sokhan.listening.spikes import (
    DEFAULT,
    HOUR,
    WEEK_HOURS,
    Count,
    Finding,
    Thresholds,
    baseline,
    evaluate,
    floor_hour,
)

TOP_MENTIONS = 5


# ------------------------------------------------------------------------------ detection


def detect_workspace(
    workspace: Workspace, *, now: datetime | None = None, thresholds: Thresholds = DEFAULT
) -> list[Alert]:
    """Evaluate every enabled topic of ``workspace``; the alerts that are new."""
    current = floor_hour(now or timezone.now())
    created: list[Alert] = []
    for topic in Topic.objects.filter(workspace=workspace, enabled=True).select_related("workspace"):
        created += detect_topic(topic, current=current, thresholds=thresholds)
    return created


def detect_topic(topic: Topic, *, current: datetime, thresholds: Thresholds = DEFAULT) -> list[Alert]:
    """Evaluate ``current`` (so far) and the hour before against the weeks before them."""
    previous = current - HOUR
    since = previous - thresholds.weeks * WEEK_HOURS * HOUR
    rows = HourlyCount.objects.filter(topic=topic, hour__gte=since, hour__lte=current)
    history = {h: Count(total, negative) for h, total, negative in rows.values_list("hour", "total", "negative")}
    if not history:
        return []
    start = min(min(history), _observed_since(topic))
    before = {h: c for h, c in history.items() if h < previous}
    base = baseline(before, start=start, end=previous, zone=topic.workspace.timezone or "UTC", thresholds=thresholds)
    created: list[Alert] = []
    for hour in (previous, current):
        for finding in evaluate(base, hour, history.get(hour) or Count(0, 0), thresholds):
            alert, new = _record(topic, finding)
            if new:
                created.append(alert)
    return created


def _observed_since(topic: Topic) -> datetime:
    """Since when a quiet hour of ``topic`` really means nobody mentioned it: the topic and the
    workspace's first source both existed (imported history may begin earlier; it counts too)."""
    first_source = Source.objects.filter(workspace_id=topic.workspace_id).aggregate(at=Min("created_at"))["at"]
    return floor_hour(max(topic.created_at, first_source or topic.created_at))


def _record(topic: Topic, finding: Finding) -> tuple[Alert, bool]:
    """The alert for ``finding``: created and announced once; a later, stronger finding for the
    same hour updates its figures and top mentions without announcing it again."""
    with transaction.atomic():
        existing = Alert.objects.select_for_update().filter(topic=topic, kind=finding.kind, hour=finding.hour).first()
        if existing is not None:
            if finding.probability < existing.probability:
                existing.observed, existing.expected = finding.observed, finding.expected
                existing.probability = finding.probability
                existing.mention_ids = top_mentions(topic, finding.hour, finding.kind)
                existing.save(update_fields=["observed", "expected", "probability", "mention_ids"])
            return existing, False
        try:
            with transaction.atomic():  # a savepoint: another worker may have inserted it meanwhile
                alert = Alert.objects.create(
                    workspace_id=topic.workspace_id,
                    topic=topic,
                    kind=finding.kind,
                    hour=finding.hour,
                    observed=finding.observed,
                    expected=finding.expected,
                    probability=finding.probability,
                    mention_ids=top_mentions(topic, finding.hour, finding.kind),
                )
        except IntegrityError:
            return Alert.objects.get(topic=topic, kind=finding.kind, hour=finding.hour), False
        from sokhan.listening.alert_destinations import announce  # the destinations import this module

        announce(alert)
        return alert, True


def top_mentions(topic: Topic, hour: datetime, kind: str, limit: int = TOP_MENTIONS) -> list[int]:
    """The hour's mentions that best show what happened: the widest reach first (then the most
    negative) for a volume spike, negative ones first (then by reach) for a negative one."""
    label_negative = Q(mention__corrected_sentiment="negative") | Q(
        mention__corrected_sentiment="", mention__sentiment="negative"
    )
    negative = Case(When(label_negative, then=Value(1)), default=Value(0), output_field=IntegerField())
    reach = F("mention__author_followers").desc(nulls_last=True)
    score = F("mention__sentiment_score").asc(nulls_last=True)
    order: list[str | OrderBy] = (
        [reach, "-negative", score] if kind == AlertKind.VOLUME else ["-negative", reach, score]
    )
    links = (
        MentionTopic.objects.filter(topic=topic, published_at__gte=hour, published_at__lt=hour + HOUR)
        .annotate(negative=negative)
        .order_by(*order, "mention_id")
    )
    return list(links.values_list("mention_id", flat=True)[:limit])


# ------------------------------------------------------------------------------ reading


def alerts_for(workspace: Workspace, *, open_only: bool = False, topic_id: int | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(workspace=workspace).select_related("workspace", "topic", "acknowledged_by")
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    if topic_id is not None:
        alerts = alerts.filter(topic_id=topic_id)
    return alerts


def alert_get(workspace: Workspace, alert_id: int) -> Alert:
    alert = alerts_for(workspace).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert in this workspace."))
    return alert


def listeners(workspace: Workspace) -> list[User]:
    """Active members who may see listening: who in-app alerts go to."""
    members = Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
    return [m.user for m in members.order_by("pk") if role_can(m.role, Perm.LISTENING_VIEW)]


def mentions_url(alert: Alert) -> str:
    """The mentions page listing the alert's topic and hour; empty while that page does not exist."""
    from sokhan.listening.mention_filters import MentionFilters

    try:
        path = reverse("listening:mentions", kwargs={"ws": alert.workspace.slug})
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in MentionFilters(topics=(alert.topic_id,), hour=alert.hour).as_query().items() if v}
    return f"{path}?{urlencode(query)}"


def alerts_path(workspace: Workspace) -> str:
    return reverse("crisis:alerts", kwargs={"ws": workspace.slug})


# ------------------------------------------------------------------------------ words


def _language() -> str:
    return "fa" if (translation.get_language() or "").startswith("fa") else "en"


def _number(value: float, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}"
    return to_persian_digits(text).replace(",", "٬").replace(".", "٫") if _language() == "fa" else text


def percent(share: float) -> str:
    text = f"{share * 100:.0f}%"
    return to_persian_digits(text).replace("%", "٪") if _language() == "fa" else text


def hour_text(alert: Alert) -> str:
    """When the alert's hour began, in the workspace's zone and calendar and the active language."""
    workspace = alert.workspace
    calendar: CalendarName = "jalali" if workspace.calendar == "jalali" else "gregorian"
    return format_datetime(alert.hour, calendar=calendar, language=_language(), tz=workspace.timezone or "UTC")


def alert_title(alert: Alert) -> str:
    """One line saying what happened, in the active language."""
    if alert.kind == AlertKind.NEGATIVE:
        return _("Negative mentions of “%(topic)s” surged") % {"topic": alert.topic.name}
    return _("Spike in mentions of “%(topic)s”") % {"topic": alert.topic.name}


def alert_summary(alert: Alert) -> str:
    """The figures behind it, in the active language."""
    if alert.kind == AlertKind.NEGATIVE:
        return _("%(share)s of the mentions in the hour from %(hour)s were negative; usually about %(usual)s.") % {
            "share": percent(alert.observed),
            "hour": hour_text(alert),
            "usual": percent(alert.expected),
        }
    return _("%(count)s mentions in the hour from %(hour)s; usually about %(usual)s.") % {
        "count": _number(alert.observed),
        "hour": hour_text(alert),
        "usual": _number(alert.expected, 1),
    }


# ------------------------------------------------------------------------------ changes


@transaction.atomic
def alert_acknowledge(actor: Membership, alert_id: int, ip: str | None = None) -> Alert:
    """Someone has seen the alert (anyone who may see listening); the first acknowledgement stays."""
    if not role_can(actor.role, Perm.LISTENING_VIEW):
        raise NotAllowed(_("Your role may not do this."))
    alert = Alert.objects.select_for_update().filter(workspace=actor.workspace, pk=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert in this workspace."))
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = actor.user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.alert.acknowledge",
            target=f"alert:{alert.pk}",
            data={"topic": alert.topic_id, "kind": alert.kind, "hour": alert.hour.isoformat()},
            ip=ip,
        )
    return alert


def alert_json(alert: Alert) -> dict[str, Any]:
    """What the API and the outbound webhook say about an alert."""
    return {
        "id": alert.pk,
        "topic": {"id": alert.topic_id, "name": alert.topic.name},
        "kind": alert.kind,
        "hour": alert.hour,
        "observed": alert.observed,
        "expected": alert.expected,
        "probability": alert.probability,
        "mention_ids": list(alert.mention_ids),
        "created_at": alert.created_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by_id,
    }
