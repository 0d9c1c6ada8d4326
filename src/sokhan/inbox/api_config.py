"""Inbox configuration over the API: rules (with a dry run), saved replies, inbox settings, teams,
and the response report. See docs/inbox-rules.md.

NOTE: ``router`` must be added in ``sokhan/api/urls.py``:
``api.add_router("", "sokhan.inbox.api_config.router")``.

Everything is scoped to ``{ws}``: an id from another workspace answers 404. Reading needs
``inbox.view``; changing rules, settings and teams needs ``workspace.settings`` (and a token with
the admin scope, as for the brand rules); changing saved replies needs ``inbox.reply``.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.core.errors import DomainError
from sokhan.core.permissions import Perm
from sokhan.inbox import inbox_settings as settings_service
from sokhan.inbox import rules as rules_service
from sokhan.inbox import saved_replies as replies_service
from sokhan.inbox.models import InboxSettings, Rule, SavedReply, Team
from sokhan.metrics.inbox_report import response_report, workspace_zone
from sokhan.metrics.response import GROUPS

router = Router(tags=["inbox settings"])
BASE = "/workspaces/{ws}/inbox"
REPORT_DEFAULT_DAYS = 30
REPORT_MAX_DAYS = 731

# ---------------------------------------------------------------------------------------------
# Rules


class RuleIn(Schema):
    name: str
    enabled: bool = True
    match_all: bool = Field(True, description="true: every condition must hold; false: any one.")
    stop: bool = Field(False, description="Later rules are not run on a message this rule matched.")
    conditions: list[Any] = Field(
        default_factory=list,
        description='`{"field", "op", "value"}` items; fields `keywords` (op any/all/none), `sentiment`, `channel`, '
        "`type`, `language` (op in/not_in), `followers` (op gte/lte). None: every message matches.",
    )
    actions: list[Any] = Field(
        default_factory=list,
        description='`{"action", "value"}` items: `tag`, `assign` ({"user": id} or {"team": id}), `priority`, '
        "`hide`, `notify` (member ids), `auto_reply` (text with variables), `close`.",
    )


class RulePatch(Schema):
    name: str | None = None
    enabled: bool | None = None
    match_all: bool | None = None
    stop: bool | None = None
    conditions: list[Any] | None = None
    actions: list[Any] | None = None


class RuleOut(Schema):
    id: int
    position: int
    name: str
    enabled: bool
    match_all: bool
    stop: bool
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    updated_at: datetime


class ReorderIn(Schema):
    ids: list[int] = Field(description="Every rule id of the workspace once, in the new order.")


class DryRunIn(RuleIn):
    name: str = "Dry run"
    last_n: int = Field(50, ge=1, le=500, description="How many of the latest received messages to try.")


class DryRunActionOut(Schema):
    action: str
    value: Any = None
    result: str = Field(description="`would apply`, `not supported`, `not allowed` or `failed`.")
    detail: str


class DryRunRowOut(Schema):
    message_id: int
    conversation_id: int
    channel: str
    network: str
    kind: str
    author: str
    text: str
    created_at: datetime
    matches: bool
    conditions: list[bool] = Field(description="Each condition's own result, in order.")
    actions: list[DryRunActionOut]


def rule_out(rule: Rule) -> dict[str, Any]:
    return {**rules_service.rule_json(rule), "updated_at": rule.updated_at}


def _patch(payload: Schema) -> dict[str, Any]:
    return {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}


@router.get(f"{BASE}/rules", response={200: list[RuleOut], **ERRORS}, auth=access(Perm.INBOX_VIEW))
def rules_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    """The workspace's rules in the order they run."""
    workspace = access_of(request).workspace_membership.workspace
    return [rule_out(r) for r in rules_service.rules_for(workspace)]


@router.post(f"{BASE}/rules", response={201: RuleOut, **ERRORS}, auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN))
def rules_create(request: HttpRequest, ws: str, payload: RuleIn) -> Status[dict[str, Any]]:
    """A new rule, last in the order. A wrong condition or action is a 400 whose ``fields`` name it
    (``conditions.0.value``, ``actions.1.action``…, counted from 0)."""
    membership = access_of(request).workspace_membership
    return Status(201, rule_out(rules_service.rule_create(membership, payload.dict(), ip=client_ip(request))))


@router.post(
    f"{BASE}/rules/dry-run",
    response={200: list[DryRunRowOut], **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.READ),
)
def rules_dry_run(request: HttpRequest, ws: str, payload: DryRunIn) -> list[dict[str, Any]]:
    """Evaluate an unsaved rule against the latest received messages: whether each matches and what
    each action would do. Nothing is written, sent or enqueued."""
    workspace = access_of(request).workspace_membership.workspace
    data = payload.dict()
    last_n = data.pop("last_n")
    rows = rules_service.dry_run(workspace, data, last_n=last_n)
    return [dataclasses.asdict(row) for row in rows]


@router.post(
    f"{BASE}/rules/reorder",
    response={200: list[RuleOut], **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def rules_reorder(request: HttpRequest, ws: str, payload: ReorderIn) -> list[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    return [rule_out(r) for r in rules_service.rule_reorder(membership, payload.ids, ip=client_ip(request))]


@router.get(f"{BASE}/rules/{{rule_id}}", response={200: RuleOut, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def rules_get(request: HttpRequest, ws: str, rule_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return rule_out(rules_service.rule_get(workspace, rule_id))


@router.patch(
    f"{BASE}/rules/{{rule_id}}",
    response={200: RuleOut, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def rules_update(request: HttpRequest, ws: str, rule_id: int, payload: RulePatch) -> dict[str, Any]:
    """Change a rule; fields left out keep their value (``{"enabled": false}`` disables it)."""
    membership = access_of(request).workspace_membership
    return rule_out(rules_service.rule_update(membership, rule_id, _patch(payload), ip=client_ip(request)))


@router.delete(
    f"{BASE}/rules/{{rule_id}}",
    response={204: None, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def rules_delete(request: HttpRequest, ws: str, rule_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    rules_service.rule_delete(membership, rule_id, ip=client_ip(request))
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Saved replies


class SavedReplyIn(Schema):
    title: str
    text: str = Field(
        description="Variables: {author_name}, {author_handle}, {brand_name}, {agent_name}, {channel_name}."
    )
    language: str = Field("", description="A code such as fa or en; empty: every language.")


class SavedReplyPatch(Schema):
    title: str | None = None
    text: str | None = None
    language: str | None = None


class SavedReplyOut(Schema):
    id: int
    title: str
    text: str
    language: str
    unknown_variables: list[str] = Field(description="{names} Sokhan does not fill in; they stay as written.")
    updated_at: datetime


def reply_out(reply: SavedReply) -> dict[str, Any]:
    return {
        "id": reply.pk,
        "title": reply.title,
        "text": reply.text,
        "language": reply.language,
        "unknown_variables": replies_service.saved_reply_check(reply.text),
        "updated_at": reply.updated_at,
    }


@router.get(f"{BASE}/saved-replies", response={200: list[SavedReplyOut], **ERRORS}, auth=access(Perm.INBOX_VIEW))
def saved_replies_list(request: HttpRequest, ws: str, language: str = "") -> list[dict[str, Any]]:
    """Saved replies by title; with ``language``, those in it first, then those without a language."""
    workspace = access_of(request).workspace_membership.workspace
    return [reply_out(r) for r in replies_service.saved_replies_for(workspace, language=language)]


@router.post(
    f"{BASE}/saved-replies",
    response={201: SavedReplyOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def saved_replies_create(request: HttpRequest, ws: str, payload: SavedReplyIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    reply = replies_service.saved_reply_create(membership, payload.dict(), ip=client_ip(request))
    return Status(201, reply_out(reply))


@router.get(f"{BASE}/saved-replies/{{reply_id}}", response={200: SavedReplyOut, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def saved_replies_get(request: HttpRequest, ws: str, reply_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return reply_out(replies_service.saved_reply_get(workspace, reply_id))


@router.patch(
    f"{BASE}/saved-replies/{{reply_id}}",
    response={200: SavedReplyOut, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def saved_replies_update(request: HttpRequest, ws: str, reply_id: int, payload: SavedReplyPatch) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    reply = replies_service.saved_reply_update(membership, reply_id, _patch(payload), ip=client_ip(request))
    return reply_out(reply)


@router.delete(
    f"{BASE}/saved-replies/{{reply_id}}",
    response={204: None, **ERRORS},
    auth=access(Perm.INBOX_REPLY, Scope.WRITE),
)
def saved_replies_delete(request: HttpRequest, ws: str, reply_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    replies_service.saved_reply_delete(membership, reply_id, ip=client_ip(request))
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Inbox settings


class InboxSettingsIn(Schema):
    business_hours: dict[str, Any] | None = Field(
        None, description='{"0": [["09:00", "17:00"]], …} by weekday, Monday 0 … Sunday 6; a missing day is closed.'
    )
    timezone: str | None = Field(None, description="IANA zone of the business hours; empty: the workspace's.")
    brand_name: str | None = None
    guidelines: str | None = None
    escalation_owner: int | None = Field(None, description="A member's user id; send null to turn escalation off.")
    escalate_negative: bool | None = None
    crisis_keywords: list[Any] | None = None


class InboxSettingsOut(Schema):
    business_hours: dict[str, Any]
    timezone: str
    brand_name: str
    guidelines: str
    escalation_owner: int | None
    escalation_owner_email: str | None
    escalate_negative: bool
    crisis_keywords: list[str]
    updated_at: datetime | None = Field(description="null: never saved, these are the defaults.")


def settings_out(row: InboxSettings) -> dict[str, Any]:
    return {
        "business_hours": row.business_hours,
        "timezone": row.timezone,
        "brand_name": row.brand_name,
        "guidelines": row.guidelines,
        "escalation_owner": row.escalation_owner_id,
        "escalation_owner_email": row.escalation_owner.email if row.escalation_owner else None,
        "escalate_negative": row.escalate_negative,
        "crisis_keywords": list(row.crisis_keywords or []),
        "updated_at": row.updated_at if row.pk else None,
    }


@router.get(f"{BASE}/settings", response={200: InboxSettingsOut, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def inbox_settings_get(request: HttpRequest, ws: str) -> dict[str, Any]:
    """The inbox settings, or the defaults when none are saved."""
    workspace = access_of(request).workspace_membership.workspace
    return settings_out(settings_service.inbox_settings_for(workspace))


@router.patch(
    f"{BASE}/settings",
    response={200: InboxSettingsOut, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def inbox_settings_update(request: HttpRequest, ws: str, payload: InboxSettingsIn) -> dict[str, Any]:
    """Change the inbox settings; fields left out keep their value. A wrong field is a 400 whose
    ``fields`` name it (``business_hours.2.0``, ``escalation_owner``, ``crisis_keywords``…)."""
    membership = access_of(request).workspace_membership
    data = payload.dict(exclude_unset=True)
    settings_service.inbox_settings_save(membership, data, ip=client_ip(request))
    return settings_out(settings_service.inbox_settings_for(membership.workspace))


# ---------------------------------------------------------------------------------------------
# Teams


class TeamIn(Schema):
    name: str
    members: list[int] = Field(default_factory=list, description="User ids of members of the workspace.")


class TeamPatch(Schema):
    name: str | None = None
    members: list[int] | None = None


class TeamOut(Schema):
    id: int
    name: str
    members: list[int]
    member_emails: list[str]


def team_out(team: Team) -> dict[str, Any]:
    members = sorted(team.members.all(), key=lambda u: u.pk)
    return {
        "id": team.pk,
        "name": team.name,
        "members": [u.pk for u in members],
        "member_emails": [u.email for u in members],
    }


@router.get(f"{BASE}/teams", response={200: list[TeamOut], **ERRORS}, auth=access(Perm.INBOX_VIEW))
def teams_list(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    workspace = access_of(request).workspace_membership.workspace
    return [team_out(t) for t in settings_service.teams_for(workspace)]


@router.post(f"{BASE}/teams", response={201: TeamOut, **ERRORS}, auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN))
def teams_create(request: HttpRequest, ws: str, payload: TeamIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    return Status(201, team_out(settings_service.team_save(membership, payload.dict(), ip=client_ip(request))))


@router.patch(
    f"{BASE}/teams/{{team_id}}",
    response={200: TeamOut, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def teams_update(request: HttpRequest, ws: str, team_id: int, payload: TeamPatch) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return team_out(settings_service.team_save(membership, _patch(payload), team_id=team_id, ip=client_ip(request)))


@router.delete(
    f"{BASE}/teams/{{team_id}}",
    response={204: None, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def teams_delete(request: HttpRequest, ws: str, team_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    settings_service.team_delete(membership, team_id, ip=client_ip(request))
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Response report


class ReportParams(Schema):
    start: date | None = Field(None, description="First day (ISO date), in the workspace's zone; default 29 days ago.")
    end: date | None = Field(None, description="Last day, included; default today.")
    group_by: str = Field("total", description="total, channel, agent, day, week or month.")
    business_hours: bool = Field(False, description="Count response times in business hours only.")


class ReportRowOut(Schema):
    group_by: str
    key: str
    label: str
    business_hours: bool
    received: int
    answered: int
    response_rate: float | None
    conversations: int
    first_responses: int
    first_response_time: float | None = Field(description="Seconds.")
    average_response_time: float | None = Field(description="Seconds.")
    median_response_time: float | None = Field(description="Seconds.")


class ReportOut(Schema):
    start: date
    end: date
    timezone: str
    group_by: str
    business_hours: bool
    rows: list[ReportRowOut]


@router.get(f"{BASE}/report", response={200: ReportOut, **ERRORS}, auth=access(Perm.INBOX_VIEW))
def inbox_report(request: HttpRequest, ws: str, params: Query[ReportParams]) -> dict[str, Any]:
    """The response report (see docs/metrics.md) for messages written from ``start`` to ``end``
    (whole days in the workspace's time zone), grouped by ``group_by``."""
    workspace = access_of(request).workspace_membership.workspace
    zone_name = workspace_zone(workspace)
    zone = ZoneInfo(zone_name)
    today = timezone.now().astimezone(zone).date()
    end = params.end or today
    start = params.start or end - timedelta(days=REPORT_DEFAULT_DAYS - 1)
    if params.group_by not in GROUPS:
        raise DomainError(
            _("Unknown grouping %(group)s: use one of %(choices)s.")
            % {"group": params.group_by, "choices": ", ".join(GROUPS)},
            fields={"group_by": "invalid"},
        )
    if end < start:
        raise DomainError(_("The period must end after it starts."), fields={"end": "before_start"})
    if (end - start).days > REPORT_MAX_DAYS:
        raise DomainError(_("Choose at most %(n)s days.") % {"n": REPORT_MAX_DAYS}, fields={"start": "too_early"})
    rows = response_report(
        workspace,
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
        group_by=params.group_by,
        business_hours=params.business_hours,
    )
    return {
        "start": start,
        "end": end,
        "timezone": zone_name,
        "group_by": params.group_by,
        "business_hours": params.business_hours,
        "rows": [dataclasses.asdict(row) for row in rows],
    }
