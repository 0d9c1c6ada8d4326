"""Recurring and evergreen posts: a series re-creates a post's channel variants at every
occurrence of an RRULE (see :mod:`sokhan.publishing.recurrence` for the wall-clock rules).

The job (``materialise_due``, every minute) makes the occurrences that fall within ``LOOKAHEAD``
as new posts scheduled at the occurrence. Each occurrence is made once: its
``RecurringOccurrence`` row (unique per series and time) commits together with the post. When the
series' creator may not schedule (``post_schedule`` refuses: role, approval), the occurrence stays a
draft and the occurrence row says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.automation.acting import acting_member
from sokhan.automation.models import RecurringOccurrence, RecurringSeries
from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.publishing import recurrence
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.services import TargetInput, post_create, post_get, post_schedule

logger = logging.getLogger("sokhan.automation")

LOOKAHEAD = timedelta(hours=24)
MAX_PER_RUN = 50
EVERGREEN_LABEL = "evergreen"
FREQUENCIES = recurrence.FREQUENCIES
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def build_rrule(
    *,
    freq: str,
    interval: int = 1,
    weekdays: Sequence[str] = (),
    until: date | None = None,
    count: int | None = None,
) -> str:
    """The RRULE text the builder form describes."""
    if freq not in FREQUENCIES:
        raise DomainError(_("Choose how often."), fields={"freq": "invalid"})
    parts = [f"FREQ={freq}"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = [day for day in WEEKDAYS if day in set(weekdays)]
    if days:
        parts.append("BYDAY=" + ",".join(days))
    if count:
        parts.append(f"COUNT={count}")
    elif until is not None:
        parts.append(f"UNTIL={until:%Y%m%d}")
    return ";".join(parts)


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def series_get(workspace: Workspace, series_id: int) -> RecurringSeries:
    series = RecurringSeries.objects.filter(workspace=workspace, pk=series_id).select_related("source_post").first()
    if series is None:
        raise DomainError(_("No such series."), code="not_found")
    return series


def upcoming(series: RecurringSeries, *, count: int = 3, now: datetime | None = None) -> list[datetime]:
    try:
        return recurrence.occurrences(
            series.rrule, start_local=series.start_local, tz=series.timezone, after=now or timezone.now(), count=count
        )
    except recurrence.RecurrenceError:
        return []


@transaction.atomic
def series_create(
    *,
    actor: Membership,
    post_id: int,
    rrule: str,
    start_date: date,
    start_time: time,
    evergreen: bool = False,
    now: datetime | None = None,
    ip: str | None = None,
) -> RecurringSeries:
    _require(actor, Perm.POSTS_DRAFT)
    post = post_get(actor.workspace, post_id)
    if not PostTarget.objects.filter(post=post).exists():
        raise DomainError(_("This post has no channels to repeat on."), fields={"post": "invalid"})
    rule = rrule.strip().removeprefix("RRULE:").upper()
    try:
        recurrence.validate(rule)
    except recurrence.RecurrenceError as exc:
        raise DomainError(str(exc), fields={"rrule": "invalid"}) from None
    series = RecurringSeries(
        workspace=actor.workspace,
        source_post=post,
        rrule=rule,
        start_date=start_date,
        start_time=start_time.replace(second=0, microsecond=0),
        timezone=actor.workspace.timezone,
        evergreen=evergreen,
        created_by=actor.user,
    )
    first = upcoming(series, count=1, now=now)
    if not first:
        raise DomainError(_("This rule has no occurrence in the future."), fields={"rrule": "no future occurrence"})
    series.next_run = first[0]
    series.save()
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="recurring.create",
        target=f"post:{post.pk}",
        data={"series": series.pk, "rrule": rule, "start": series.start_local.isoformat(), "evergreen": evergreen},
        ip=ip,
    )
    return series


def series_set_active(*, actor: Membership, series_id: int, active: bool, ip: str | None = None) -> RecurringSeries:
    _require(actor, Perm.POSTS_DRAFT)
    series = series_get(actor.workspace, series_id)
    series.active = active
    if active:
        following = upcoming(series, count=1)
        series.next_run = following[0] if following else None
    series.save(update_fields=["active", "next_run"])
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="recurring.resume" if active else "recurring.pause",
        target=f"post:{series.source_post_id}", data={"series": series.pk}, ip=ip,
    )  # fmt: skip
    return series


def series_delete(*, actor: Membership, series_id: int, ip: str | None = None) -> None:
    """Stop and remove the series; posts it already made stay."""
    _require(actor, Perm.POSTS_DRAFT)
    series = series_get(actor.workspace, series_id)
    data = {"series": series.pk, "rrule": series.rrule}
    target = f"post:{series.source_post_id}"
    series.delete()
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="recurring.delete", target=target, data=data, ip=ip
    )


# ------------------------------------------------------------------ the job


def _variants(post: Post) -> list[TargetInput]:
    return [
        TargetInput(
            channel_id=row.channel_id,
            text=row.text,
            title=row.title,
            link=row.link,
            first_comment=row.first_comment,
            thread=list(row.thread or []),
            options=dict(row.options or {}),
            media=list(row.media or []),
        )
        for row in PostTarget.objects.filter(post=post).order_by("pk")
    ]


def _make_occurrence(series: RecurringSeries, actor: Membership, at: datetime) -> RecurringOccurrence | None:
    """The post for one occurrence, or None when it was already made."""
    try:
        with transaction.atomic():
            occurrence = RecurringOccurrence.objects.create(series=series, occurrence_at=at)
            source = series.source_post
            labels = list(source.labels or [])
            if series.evergreen and EVERGREEN_LABEL not in labels:
                labels.append(EVERGREEN_LABEL)
            post = post_create(
                actor=actor,
                targets=_variants(source),
                title=source.title,
                labels=labels,
                notes=_("Made by recurring series %(id)s from post %(post)s.") % {"id": series.pk, "post": source.pk},
            )
            occurrence.post = post
            try:
                with transaction.atomic():
                    post_schedule(actor=actor, post_id=post.pk, at=at)
                occurrence.scheduled = True
            except DomainError as exc:
                occurrence.note = _("Kept as a draft: %(reason)s") % {"reason": exc.message}
            occurrence.save()
            return occurrence
    except IntegrityError:
        return None


def materialise_series(series: RecurringSeries, *, now: datetime | None = None) -> int:
    """Make the series' occurrences due within ``LOOKAHEAD``; returns how many were made."""
    moment = now or timezone.now()
    horizon = moment + LOOKAHEAD
    made = 0
    try:
        membership = acting_member(
            series.workspace,
            series.created_by_id,
            refusal=_("The member who made this series can no longer create posts here."),
        )
        times = recurrence.occurrences(
            series.rrule, start_local=series.start_local, tz=series.timezone, after=moment, count=MAX_PER_RUN
        )
        last = moment
        for at in times:
            if at > horizon:
                break
            last = at
            if _make_occurrence(series, membership, at) is not None:
                made += 1
        following = recurrence.occurrences(
            series.rrule, start_local=series.start_local, tz=series.timezone, after=last, count=1
        )
        series.next_run = following[0] if following else None
        series.last_error = ""
    except (DomainError, recurrence.RecurrenceError) as exc:
        series.last_error = exc.message if isinstance(exc, DomainError) else str(exc)
        series.next_run = moment + timedelta(hours=1)  # try again later, not every minute
    series.save(update_fields=["next_run", "last_error"])
    return made


def materialise_due(now: datetime | None = None) -> int:
    moment = now or timezone.now()
    made = 0
    due = RecurringSeries.objects.filter(active=True, next_run__isnull=False, next_run__lte=moment + LOOKAHEAD)
    for series in due.select_related("workspace", "source_post").order_by("next_run"):
        made += materialise_series(series, now=moment)
    return made
