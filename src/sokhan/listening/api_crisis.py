"""Alerts and crisis mode over the API: alerts (list, one, acknowledge), alert destinations,
incidents (start crisis mode, read one with its timeline, notes, checklist, statements sent, end)
and holding statements. See docs/listening-crisis.md.

Reading needs ``listening.view``; acknowledging an alert too (with a write token). Starting and
ending crisis mode, destinations and holding statements need ``listening.manage``; working an open
incident (notes, checklist ticks, statements sent) needs ``listening.view`` and ``inbox.reply``.
Every id is looked up inside the workspace of the URL: another workspace's is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.core.errors import NotAllowed
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.listening import alert_destinations as dest
from sokhan.listening import alerts as alert_service
from sokhan.listening import crisis
from sokhan.listening import crisis_statements as statements
from sokhan.listening.models import AlertDestination, HoldingStatement, Incident, IncidentEvent

router = Router(tags=["listening alerts and crisis"])
BASE = "/workspaces/{ws}/listening"
ALERTS_MAX = 200


# ------------------------------------------------------------------------------ alerts


class TopicRef(Schema):
    id: int
    name: str


class AlertOut(Schema):
    id: int
    topic: TopicRef
    kind: str = Field(description="`volume` or `negative`.")
    hour: datetime = Field(description="The UTC hour the alert is about (its start).")
    observed: float = Field(description="Mentions (volume) or the negative share, 0–1 (negative).")
    expected: float = Field(description="The same figure in a normal hour (the baseline).")
    probability: float = Field(description="Chance of at least `observed` in a normal hour.")
    mention_ids: list[int] = Field(description="The hour's top mentions (reach, negativity).")
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None


class AlertsQuery(Schema):
    open: bool = Field(False, description="Only alerts nobody acknowledged.")
    topic: int | None = None
    size: int = Field(50, ge=1, le=ALERTS_MAX)


@router.get(f"{BASE}/alerts", response={200: list[AlertOut], **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def alerts_list(request: HttpRequest, ws: str, filters: Query[AlertsQuery]) -> list[dict[str, Any]]:
    """The newest alerts first."""
    workspace = access_of(request).workspace_membership.workspace
    found = alert_service.alerts_for(workspace, open_only=filters.open, topic_id=filters.topic)
    return [alert_service.alert_json(a) for a in found[: filters.size]]


@router.get(f"{BASE}/alerts/{{alert_id}}", response={200: AlertOut, **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def alerts_get(request: HttpRequest, ws: str, alert_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return alert_service.alert_json(alert_service.alert_get(workspace, alert_id))


@router.post(
    f"{BASE}/alerts/{{alert_id}}/acknowledge",
    response={200: AlertOut, **ERRORS},
    auth=access(Perm.LISTENING_VIEW, Scope.WRITE),
)
def alerts_acknowledge(request: HttpRequest, ws: str, alert_id: int) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return alert_service.alert_json(alert_service.alert_acknowledge(membership, alert_id, ip=client_ip(request)))


# ------------------------------------------------------------------------------ destinations


class DestinationIn(Schema):
    kind: str = Field(description="`in_app`, `email`, `webhook` or `bot`.")
    target: str = Field("", description="The email address, the webhook URL, or the bot's chat id / @username.")
    channel: int | None = Field(None, description="For `bot`: the Telegram or Bale channel whose bot writes.")


class DestinationPatch(Schema):
    enabled: bool


class DestinationOut(Schema):
    id: int
    kind: str
    target: str
    channel: int | None
    enabled: bool
    created_at: datetime


def destination_out(destination: AlertDestination) -> dict[str, Any]:
    return {
        "id": destination.pk,
        "kind": destination.kind,
        "target": destination.target,
        "channel": destination.channel_id,
        "enabled": destination.enabled,
        "created_at": destination.created_at,
    }


@router.get(
    f"{BASE}/alert-destinations", response={200: list[DestinationOut], **ERRORS}, auth=access(Perm.LISTENING_VIEW)
)
def destinations_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    workspace = access_of(request).workspace_membership.workspace
    return [destination_out(d) for d in dest.destinations_for(workspace)]


@router.post(
    f"{BASE}/alert-destinations",
    response={201: DestinationOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.ADMIN),
)
def destinations_create(request: HttpRequest, ws: str, payload: DestinationIn) -> Status[dict[str, Any]]:
    """Webhook URLs inside the server's network are refused. The signing secret is shown on the
    destinations page, never over the API."""
    membership = access_of(request).workspace_membership
    made = dest.destination_create(membership, payload.dict(), ip=client_ip(request))
    return Status(201, destination_out(made))


@router.patch(
    f"{BASE}/alert-destinations/{{destination_id}}",
    response={200: DestinationOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.ADMIN),
)
def destinations_update(
    request: HttpRequest, ws: str, destination_id: int, payload: DestinationPatch
) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    changed = dest.destination_set_enabled(membership, destination_id, payload.enabled, ip=client_ip(request))
    return destination_out(changed)


@router.delete(
    f"{BASE}/alert-destinations/{{destination_id}}",
    response={204: None, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.ADMIN),
)
def destinations_delete(request: HttpRequest, ws: str, destination_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    dest.destination_delete(membership, destination_id, ip=client_ip(request))
    return Status(204, None)


# ------------------------------------------------------------------------------ incidents


class IncidentIn(Schema):
    title: str = Field("", description="Empty with an alert: the alert's description.")
    owner: int | None = Field(None, description="A member's user id; default: the caller.")
    topics: list[int] = Field(default_factory=list, description="Topic ids; none: every topic (or the alert's).")
    alert: int | None = Field(None, description="The alert it starts from.")


class EventOut(Schema):
    id: int
    at: datetime
    kind: str = Field(description="opened, note, owner, checklist, statement, mentions, closed.")
    actor: int | None
    text: str
    data: dict[str, Any]


class IncidentOut(Schema):
    id: int
    title: str
    status: str
    owner: int | None
    opened_by: int | None
    topics: list[int]
    alert: int | None
    opened_at: datetime
    closed_at: datetime | None
    paused_before: bool = Field(description="Publishing was already paused: ending the incident leaves it paused.")
    checklist: list[dict[str, Any]]
    postmortem: str
    summary: dict[str, Any]
    events: list[EventOut] | None = None


def event_out(event: IncidentEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor_id,
        "text": event.text,
        "data": event.data,
    }


def incident_out(incident: Incident, *, events: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": incident.pk,
        "title": incident.title,
        "status": incident.status,
        "owner": incident.owner_id,
        "opened_by": incident.opened_by_id,
        "topics": list(incident.topics.values_list("pk", flat=True)),
        "alert": incident.alert_id,
        "opened_at": incident.opened_at,
        "closed_at": incident.closed_at,
        "paused_before": incident.paused_before,
        "checklist": incident.checklist,
        "postmortem": incident.postmortem,
        "summary": incident.summary,
    }
    if events:
        out["events"] = [event_out(e) for e in incident.events.order_by("at", "pk")]
    return out


@router.get(f"{BASE}/incidents", response={200: list[IncidentOut], **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def incidents_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    """Newest first, without their timelines."""
    workspace = access_of(request).workspace_membership.workspace
    return [incident_out(i) for i in crisis.incidents_for(workspace)[:100]]


@router.post(
    f"{BASE}/incidents", response={201: IncidentOut, **ERRORS}, auth=access(Perm.LISTENING_MANAGE, Scope.WRITE)
)
def incidents_start(request: HttpRequest, ws: str, payload: IncidentIn) -> Status[dict[str, Any]]:
    """Start crisis mode: publishing paused, the incident opened. 409 ``incident_open`` while
    another incident is open."""
    membership = access_of(request).workspace_membership
    incident = crisis.crisis_start(
        membership,
        title=payload.title,
        owner_id=payload.owner,
        topic_ids=payload.topics,
        alert_id=payload.alert,
        ip=client_ip(request),
    )
    return Status(201, incident_out(incident, events=True))


@router.get(
    f"{BASE}/incidents/{{incident_id}}", response={200: IncidentOut, **ERRORS}, auth=access(Perm.LISTENING_VIEW)
)
def incidents_get(request: HttpRequest, ws: str, incident_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return incident_out(crisis.incident_get(workspace, incident_id), events=True)


class NoteIn(Schema):
    text: str


class ChecklistIn(Schema):
    index: int | None = Field(None, description="The item's position (from 0) to mark or remove.")
    done: bool | None = Field(None, description="Mark the item done or not done.")
    remove: bool = False
    add: str = Field("", description="A new item's text (needs listening.manage).")


class StatementSentIn(Schema):
    text: str = Field(description="The statement as sent.")
    name: str = ""
    where: str = ""
    statement: int | None = Field(None, description="The holding statement it came from.")


def _worker(request: HttpRequest) -> Membership:
    """The caller, who must be allowed to work an open incident (``crisis.can_work``)."""
    membership = access_of(request).workspace_membership
    if not crisis.can_work(membership.role):
        raise NotAllowed(_("Your role may not do this."))
    return membership


@router.post(
    f"{BASE}/incidents/{{incident_id}}/notes",
    response={201: EventOut, **ERRORS},
    auth=access(Perm.LISTENING_VIEW, Scope.WRITE),
)
def incidents_note(request: HttpRequest, ws: str, incident_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    event = crisis.crisis_note(_worker(request), incident_id, payload.text)
    return Status(201, event_out(event))


@router.post(
    f"{BASE}/incidents/{{incident_id}}/checklist",
    response={200: IncidentOut, **ERRORS},
    auth=access(Perm.LISTENING_VIEW, Scope.WRITE),
)
def incidents_checklist(request: HttpRequest, ws: str, incident_id: int, payload: ChecklistIn) -> dict[str, Any]:
    """One change: ``add`` an item, ``remove`` the item at ``index``, or mark it ``done``."""
    membership = _worker(request)
    if payload.add:
        incident = crisis.crisis_checklist_add(membership, incident_id, payload.add)
    elif payload.remove:
        incident = crisis.crisis_checklist_remove(membership, incident_id, payload.index)
    else:
        incident = crisis.crisis_checklist_mark(membership, incident_id, payload.index, bool(payload.done))
    return incident_out(incident)


@router.post(
    f"{BASE}/incidents/{{incident_id}}/statements",
    response={201: EventOut, **ERRORS},
    auth=access(Perm.LISTENING_VIEW, Scope.WRITE),
)
def incidents_statement(
    request: HttpRequest, ws: str, incident_id: int, payload: StatementSentIn
) -> Status[dict[str, Any]]:
    """Record a holding statement as sent (it goes in the timeline and the post-mortem)."""
    event = crisis.crisis_statement_sent(
        _worker(request),
        incident_id,
        text=payload.text,
        name=payload.name,
        where=payload.where,
        statement_id=payload.statement,
    )
    return Status(201, event_out(event))


class EndIn(Schema):
    notes: str = Field("", description="Added to the post-mortem.")


@router.post(
    f"{BASE}/incidents/{{incident_id}}/end",
    response={200: IncidentOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def incidents_end(request: HttpRequest, ws: str, incident_id: int, payload: EndIn) -> dict[str, Any]:
    """End crisis mode: publishing resumes unless it was paused before; the post-mortem is written."""
    membership = access_of(request).workspace_membership
    incident = crisis.crisis_end(membership, incident_id, notes=payload.notes, ip=client_ip(request))
    return incident_out(incident, events=True)


# ------------------------------------------------------------------------------ holding statements


class StatementIn(Schema):
    name: str
    language: str = Field(description="fa, en, …")
    text: str = Field(description="Variables: {brand_name}, {agent_name}, {incident_title}, {topic_names}.")


class StatementPatch(Schema):
    name: str | None = None
    language: str | None = None
    text: str | None = None


class StatementOut(Schema):
    id: int
    name: str
    language: str
    text: str
    unknown_variables: list[str]
    created_at: datetime


def statement_out(statement: HoldingStatement) -> dict[str, Any]:
    return {
        "id": statement.pk,
        "name": statement.name,
        "language": statement.language,
        "text": statement.text,
        "unknown_variables": statements.statement_check(statement.text),
        "created_at": statement.created_at,
    }


@router.get(
    f"{BASE}/holding-statements", response={200: list[StatementOut], **ERRORS}, auth=access(Perm.LISTENING_VIEW)
)
def statements_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    workspace = access_of(request).workspace_membership.workspace
    return [statement_out(s) for s in statements.statements_for(workspace)]


@router.post(
    f"{BASE}/holding-statements",
    response={201: StatementOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def statements_create(request: HttpRequest, ws: str, payload: StatementIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    return Status(201, statement_out(statements.statement_create(membership, payload.dict(), ip=client_ip(request))))


@router.patch(
    f"{BASE}/holding-statements/{{statement_id}}",
    response={200: StatementOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def statements_update(request: HttpRequest, ws: str, statement_id: int, payload: StatementPatch) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    changed = statements.statement_update(
        membership, statement_id, payload.dict(exclude_unset=True), ip=client_ip(request)
    )
    return statement_out(changed)


@router.delete(
    f"{BASE}/holding-statements/{{statement_id}}",
    response={204: None, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def statements_delete(request: HttpRequest, ws: str, statement_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    statements.statement_delete(membership, statement_id, ip=client_ip(request))
    return Status(204, None)
