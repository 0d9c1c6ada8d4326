"""Crisis mode: one action pauses all publishing and opens an incident (owner, topics, the alert it
came from); the incident keeps a timeline (notes, holding statements sent, checklist changes, the
hourly mentions and what reached the inbox) and a stakeholder checklist; ending it resumes
publishing (only if crisis mode paused it) and writes the post-mortem. See docs/listening-crisis.md.

While an incident is open, listening's ingest sends every new matching mention to the inbox at
urgent priority (``routing.py``); ``open_incident`` is the question it asks.

One open incident per workspace: starting one locks the workspace row first, so two people pressing
the button at once get one incident and one clear refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.inbox.models import Direction, Kind, Message, Priority
from sokhan.listening.alerts import alert_title, listeners
from sokhan.listening.crisis_summary import postmortem_text, summarize
from sokhan.listening.models import Alert, HourlyCount, Incident, IncidentEvent, IncidentStatus, Topic
from sokhan.listening.spikes import HOUR, floor_hour
from sokhan.notifications.services import notify
from sokhan.publishing.services import publishing_control, publishing_pause, publishing_resume

TITLE_MAX = 200
NOTE_MAX = 5000
ITEM_MAX = 200
CHECKLIST_MAX = 30
TICK_HOURS_MAX = 48  # an hourly timeline line is written for at most this many hours back

DEFAULT_CHECKLIST = (
    gettext_lazy("Legal has reviewed the situation"),
    gettext_lazy("Leadership is informed"),
    gettext_lazy("Customer support is briefed"),
    gettext_lazy("PR / communications lead is on it"),
    gettext_lazy("Scheduled posts are reviewed"),
)


def can_run(role: str) -> bool:
    """Start and end crisis mode, change its owner, checklist items and holding statements."""
    return role_can(role, Perm.LISTENING_MANAGE)


def can_work(role: str) -> bool:
    """Work an open incident: notes, ticking checklist items, recording statements sent."""
    return can_run(role) or (role_can(role, Perm.LISTENING_VIEW) and role_can(role, Perm.INBOX_REPLY))


def _require(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed(_("Your role may not do this."))


# ------------------------------------------------------------------------------ reading


def open_incident(workspace: Workspace | int) -> Incident | None:
    return Incident.objects.filter(workspace=workspace, status=IncidentStatus.OPEN).first()


def incidents_for(workspace: Workspace) -> QuerySet[Incident]:
    return Incident.objects.filter(workspace=workspace).select_related("owner", "opened_by", "alert")


def incident_get(workspace: Workspace, incident_id: int) -> Incident:
    incident = incidents_for(workspace).filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(_("No such incident in this workspace."))
    return incident


def incident_path(incident: Incident) -> str:
    return reverse("crisis:incident", kwargs={"ws": incident.workspace.slug, "incident_id": incident.pk})


def incident_topic_ids(incident: Incident) -> list[int]:
    """The incident's topics; none chosen means every topic of the workspace."""
    chosen = list(incident.topics.values_list("pk", flat=True))
    return chosen or list(Topic.objects.filter(workspace_id=incident.workspace_id).values_list("pk", flat=True))


def as_id(value: object) -> int | None:
    """A form's or payload's id as a number; None when it is not one."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def _member(workspace: Workspace, user_id: object) -> User:
    wanted = as_id(user_id)
    membership = (
        Membership.objects.filter(workspace=workspace, user_id=wanted, user__is_active=True)
        .select_related("user")
        .first()
        if wanted is not None
        else None
    )
    if membership is None:
        raise DomainError(_("Choose a member of this workspace as the owner."), fields={"owner": "invalid"})
    return membership.user


def _locked(actor: Membership, incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().filter(workspace=actor.workspace, pk=incident_id).first()
    if incident is None:
        raise NotFound(_("No such incident in this workspace."))
    incident.workspace = actor.workspace
    return incident


def _open(actor: Membership, incident_id: int) -> Incident:
    incident = _locked(actor, incident_id)
    if incident.status != IncidentStatus.OPEN:
        raise Conflict(_("This incident is closed."))
    return incident


def _event(incident: Incident, actor: User | None, kind: str, text: str = "", **data: Any) -> IncidentEvent:
    return IncidentEvent.objects.create(incident=incident, actor=actor, kind=kind, text=text, data=data)


# ------------------------------------------------------------------------------ start


@transaction.atomic
def crisis_start(
    actor: Membership,
    *,
    title: str = "",
    owner_id: object = None,
    topic_ids: Iterable[object] = (),
    alert_id: object = None,
    ip: str | None = None,
) -> Incident:
    """Crisis mode on: publishing paused (remembering whether it already was), an incident opened
    with its default checklist, everyone who follows listening told."""
    _require(can_run(actor.role))
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    current = open_incident(workspace)
    if current is not None:
        raise Conflict(
            _("Crisis mode is already on (“%(title)s”). End that incident before starting another.")
            % {"title": current.title},
            code="incident_open",
        )
    alert = None
    if alert_id not in (None, ""):
        alert = Alert.objects.filter(workspace=workspace, pk=as_id(alert_id) or 0).first()
        if alert is None:
            raise DomainError(_("No such alert in this workspace."), fields={"alert": "invalid"})
    wanted = [i for i in (as_id(t) for t in topic_ids) if i is not None]
    topics = list(Topic.objects.filter(workspace=workspace, pk__in=wanted))
    if len(topics) != len(set(wanted)):
        raise DomainError(_("Choose topics of this workspace."), fields={"topics": "invalid"})
    if not topics and alert is not None:
        topics = [alert.topic]
    title = (title or "").strip() or (alert_title(alert) if alert else "")
    if not title:
        raise DomainError(_("Give the incident a title."), fields={"title": "required"})
    if len(title) > TITLE_MAX:
        raise DomainError(_("The title is at most %(n)s characters.") % {"n": TITLE_MAX}, fields={"title": "too_long"})
    owner = _member(workspace, owner_id) if owner_id not in (None, "") else actor.user

    control = publishing_control(workspace)
    paused_before = control.paused
    with translation.override(workspace.language or settings.LANGUAGE_CODE):
        checklist = [{"item": str(item), "done": False, "by": None, "at": None} for item in DEFAULT_CHECKLIST]
        reason = _("Crisis mode: %(title)s") % {"title": title}
    if not paused_before:
        publishing_pause(actor=actor, reason=reason, ip=ip)
    incident = Incident.objects.create(
        workspace=workspace,
        title=title,
        owner=owner,
        opened_by=actor.user,
        alert=alert,
        paused_before=paused_before,
        checklist=checklist,
    )
    incident.topics.set(topics)
    _event(
        incident,
        actor.user,
        "opened",
        paused_before=paused_before,
        topics=[t.name for t in topics],
        alert=alert.pk if alert else None,
        owner=owner.display_name,
    )
    audit_record(
        workspace=workspace,
        actor=actor.user,
        action="listening.crisis.start",
        target=f"incident:{incident.pk}",
        data={"title": title, "paused_before": paused_before, "topics": [t.pk for t in topics], "alert": alert_id},
        ip=ip,
    )
    notify(
        listeners(workspace),
        workspace=workspace,
        kind="listening.crisis",
        title=lambda: _("Crisis mode is on: %(title)s") % {"title": title},
        body=lambda: (
            _("%(who)s started crisis mode. Publishing is paused until the incident ends.")
            % {"who": actor.user.display_name}
        ),
        url=incident_path(incident),
        exclude=[actor.user],
    )
    return incident


# ------------------------------------------------------------------------------ working it


@transaction.atomic
def crisis_note(actor: Membership, incident_id: int, text: str) -> IncidentEvent:
    _require(can_work(actor.role))
    incident = _open(actor, incident_id)
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the note first."), fields={"text": "required"})
    if len(text) > NOTE_MAX:
        raise DomainError(_("A note is at most %(n)s characters.") % {"n": NOTE_MAX}, fields={"text": "too_long"})
    return _event(incident, actor.user, "note", text)


@transaction.atomic
def crisis_owner_set(actor: Membership, incident_id: int, owner_id: object, ip: str | None = None) -> Incident:
    _require(can_run(actor.role))
    incident = _open(actor, incident_id)
    owner = _member(actor.workspace, owner_id)
    if incident.owner_id != owner.pk:
        incident.owner = owner
        incident.save(update_fields=["owner"])
        _event(incident, actor.user, "owner", owner=owner.display_name)
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.crisis.owner",
            target=f"incident:{incident.pk}",
            data={"owner": owner.pk},
            ip=ip,
        )
    return incident


def _item(incident: Incident, index: object) -> dict[str, Any]:
    position = as_id(index)
    position = -1 if position is None else position
    if not 0 <= position < len(incident.checklist):
        raise DomainError(_("No such checklist item."), fields={"index": "invalid"})
    item: dict[str, Any] = incident.checklist[position]
    return item


@transaction.atomic
def crisis_checklist_mark(actor: Membership, incident_id: int, index: object, done: bool) -> Incident:
    _require(can_work(actor.role))
    incident = _open(actor, incident_id)
    item = _item(incident, index)
    if bool(item.get("done")) != done:
        item.update(done=done, by=actor.user.pk if done else None, at=timezone.now().isoformat() if done else None)
        incident.save(update_fields=["checklist"])
        _event(incident, actor.user, "checklist", item=item["item"], done=done)
    return incident


@transaction.atomic
def crisis_checklist_add(actor: Membership, incident_id: int, text: str) -> Incident:
    _require(can_run(actor.role))
    incident = _open(actor, incident_id)
    text = " ".join((text or "").split())
    if not text:
        raise DomainError(_("Write the checklist item first."), fields={"item": "required"})
    if len(text) > ITEM_MAX:
        raise DomainError(_("An item is at most %(n)s characters.") % {"n": ITEM_MAX}, fields={"item": "too_long"})
    if len(incident.checklist) >= CHECKLIST_MAX:
        raise DomainError(_("A checklist has at most %(n)s items.") % {"n": CHECKLIST_MAX}, fields={"item": "full"})
    incident.checklist = [*incident.checklist, {"item": text, "done": False, "by": None, "at": None}]
    incident.save(update_fields=["checklist"])
    _event(incident, actor.user, "checklist", item=text, added=True)
    return incident


@transaction.atomic
def crisis_checklist_remove(actor: Membership, incident_id: int, index: object) -> Incident:
    _require(can_run(actor.role))
    incident = _open(actor, incident_id)
    item = _item(incident, index)
    incident.checklist = [i for i in incident.checklist if i is not item]
    incident.save(update_fields=["checklist"])
    _event(incident, actor.user, "checklist", item=item["item"], removed=True)
    return incident


@transaction.atomic
def crisis_statement_sent(
    actor: Membership, incident_id: int, *, text: str, name: str = "", where: str = "", statement_id: object = None
) -> IncidentEvent:
    """Record that a holding statement went out (as sent: the text after editing)."""
    _require(can_work(actor.role))
    incident = _open(actor, incident_id)
    text = (text or "").strip()
    if not text:
        raise DomainError(_("The statement has no text."), fields={"text": "required"})
    if len(text) > NOTE_MAX:
        raise DomainError(_("A statement is at most %(n)s characters.") % {"n": NOTE_MAX}, fields={"text": "too_long"})
    return _event(
        incident,
        actor.user,
        "statement",
        text,
        statement=as_id(statement_id),
        name=(name or "").strip()[:120],
        where=(where or "").strip()[:200],
    )


# ------------------------------------------------------------------------------ end


@transaction.atomic
def crisis_end(actor: Membership, incident_id: int, *, notes: str = "", ip: str | None = None) -> Incident:
    """Crisis mode off: publishing resumed unless it was paused before the incident, the summary
    and the post-mortem written, everyone told."""
    _require(can_run(actor.role))
    incident = _open(actor, incident_id)
    notes = (notes or "").strip()[:NOTE_MAX]
    now = timezone.now()
    resumed = False
    if not incident.paused_before and publishing_control(actor.workspace).paused:
        publishing_resume(actor=actor, ip=ip)
        resumed = True
    summary = summarize(incident, now=now, resumed=resumed)
    with translation.override(actor.workspace.language or settings.LANGUAGE_CODE):
        incident.postmortem = postmortem_text(incident, summary, notes)
    incident.summary = summary
    incident.status, incident.closed_at = IncidentStatus.CLOSED, now
    incident.save(update_fields=["status", "closed_at", "summary", "postmortem"])
    _event(incident, actor.user, "closed", notes, resumed=resumed)
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="listening.crisis.end",
        target=f"incident:{incident.pk}",
        data={"resumed": resumed, "duration_seconds": summary["duration_seconds"]},
        ip=ip,
    )
    title = incident.title
    notify(
        listeners(actor.workspace),
        workspace=actor.workspace,
        kind="listening.crisis",
        title=lambda: _("Crisis mode ended: %(title)s") % {"title": title},
        body=lambda: _("Publishing is on again.") if resumed else _("Publishing stays paused."),
        url=incident_path(incident),
        exclude=[actor.user],
    )
    return incident


@transaction.atomic
def crisis_postmortem_save(actor: Membership, incident_id: int, text: str, ip: str | None = None) -> Incident:
    """Edit the post-mortem after the incident (the figures in ``summary`` stay as measured)."""
    _require(can_run(actor.role))
    incident = _locked(actor, incident_id)
    if incident.status != IncidentStatus.CLOSED:
        raise Conflict(_("The post-mortem is written when the incident ends."))
    text = (text or "").strip()
    if len(text) > 20_000:
        raise DomainError(
            _("The post-mortem is at most %(n)s characters.") % {"n": 20_000}, fields={"text": "too_long"}
        )
    if text != incident.postmortem:
        incident.postmortem = text
        incident.save(update_fields=["postmortem"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.crisis.postmortem",
            target=f"incident:{incident.pk}",
            ip=ip,
        )
    return incident


# ------------------------------------------------------------------------------ the hourly line


def incident_tick(workspace: Workspace, now: datetime | None = None) -> int:
    """Write the open incident's timeline line for each finished hour not written yet: mentions
    of its topics, how many negative, and how many urgent mentions reached the inbox. Idempotent
    (it continues after the last hour written); how many lines it wrote."""
    incident = open_incident(workspace)
    if incident is None:
        return 0
    last_done = floor_hour(now or timezone.now())
    written = incident.events.filter(kind="mentions").order_by("-at", "-pk").values_list("data", flat=True).first()
    start = floor_hour(incident.opened_at)
    if written and written.get("hour"):
        start = datetime.fromisoformat(written["hour"]) + HOUR
    start = max(start, last_done - TICK_HOURS_MAX * HOUR)
    hours = [start + i * HOUR for i in range(int((last_done - start) / HOUR))]
    if not hours:
        return 0
    counts = _hour_counts(incident_topic_ids(incident), hours)
    routed = _urgent_mentions(workspace, hours)
    with transaction.atomic():
        for hour in hours:
            total, negative = counts.get(hour, (0, 0))
            IncidentEvent.objects.create(
                incident=incident,
                at=hour + HOUR,
                kind="mentions",
                data={"hour": hour.isoformat(), "total": total, "negative": negative, "routed": routed.get(hour, 0)},
            )
    return len(hours)


def _hour_counts(topic_ids: Sequence[int], hours: Sequence[datetime]) -> dict[datetime, tuple[int, int]]:
    rows = (
        HourlyCount.objects.filter(topic_id__in=topic_ids, hour__gte=hours[0], hour__lte=hours[-1])
        .values("hour")
        .annotate(total=Sum("total"), negative=Sum("negative"))
    )
    return {floor_hour(r["hour"]): (int(r["total"] or 0), int(r["negative"] or 0)) for r in rows}


def _urgent_mentions(workspace: Workspace, hours: Sequence[datetime]) -> dict[datetime, int]:
    received = Message.objects.filter(
        workspace=workspace,
        direction=Direction.IN,
        kind=Kind.MENTION,
        conversation__priority=Priority.URGENT,
        received_at__gte=hours[0],
        received_at__lt=hours[-1] + HOUR,
    ).values_list("received_at", flat=True)
    found: dict[datetime, int] = {}
    for at in received:
        found[floor_hour(at)] = found.get(floor_hour(at), 0) + 1
    return found
