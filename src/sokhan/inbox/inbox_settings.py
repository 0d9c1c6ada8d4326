"""The inbox settings of a workspace (business hours, time zone, brand name, response guidelines,
escalation) and its teams: read with defaults, save validated and audited.

A workspace without a settings row gets the defaults of ``inbox_settings_for``: the business hours
usual for its language (``sokhan.metrics.business_hours.default_for``) in its own time zone, no
escalation owner, negative messages escalated once an owner is chosen, no crisis keywords.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.inbox.models import InboxSettings, Team
from sokhan.inbox.rules import clean_words
from sokhan.metrics.business_hours import BusinessHours, default_for

BRAND_MAX = 120
GUIDELINES_MAX = 20_000
TEAM_NAME_MAX = 100
SETTINGS_FIELDS = (
    "business_hours",
    "timezone",
    "brand_name",
    "guidelines",
    "escalation_owner",
    "escalate_negative",
    "crisis_keywords",
)


def default_business_hours(workspace: Workspace) -> BusinessHours:
    return default_for(workspace.language, workspace.timezone or django_settings.TIME_ZONE)


def inbox_settings_for(workspace: Workspace) -> InboxSettings:
    """The saved settings, or an unsaved row holding the defaults (never written by reading)."""
    row = InboxSettings.objects.filter(workspace=workspace).select_related("escalation_owner").first()
    if row is not None:
        if not row.business_hours:  # saved without hours: the defaults still apply
            row.business_hours = default_for(workspace.language, row.timezone or workspace.timezone).to_json()
        return row
    hours = default_business_hours(workspace)
    return InboxSettings(
        workspace=workspace,
        business_hours=hours.to_json(),
        timezone=hours.timezone,
        brand_name="",
        guidelines="",
        escalation_owner=None,
        escalate_negative=True,
        crisis_keywords=[],
    )


def business_hours_of(row: InboxSettings) -> BusinessHours:
    return BusinessHours.from_json(row.business_hours, row.timezone or row.workspace.timezone)


def _require(membership: Membership, what: str) -> None:
    if not role_can(membership.role, Perm.WORKSPACE_SETTINGS):
        raise NotAllowed(what)


def _snapshot(row: InboxSettings) -> dict[str, Any]:
    owner = row.escalation_owner
    return {
        "business_hours": row.business_hours,
        "timezone": row.timezone,
        "brand_name": row.brand_name,
        "guidelines": row.guidelines,
        "escalation_owner": owner.email if owner else None,
        "escalate_negative": row.escalate_negative,
        "crisis_keywords": list(row.crisis_keywords or []),
    }


def _text(data: Mapping[str, Any], name: str, maximum: int, fields: dict[str, str], current: str) -> str:
    value = data.get(name, current)
    if value is None:
        return ""
    if not isinstance(value, str):
        fields[name] = _("%(field)s must be text.") % {"field": name}
        return current
    value = value.strip()
    if len(value) > maximum:
        fields[name] = _("%(field)s is at most %(n)s characters.") % {"field": name, "n": maximum}
    return value


def _owner(workspace: Workspace, value: Any, fields: dict[str, str]) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        value = value.pk
    user_id = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        user_id = int(value.strip())
    membership = (
        Membership.objects.filter(workspace=workspace, user_id=user_id, user__is_active=True)
        .select_related("user")
        .first()
        if user_id is not None
        else None
    )
    if membership is None:
        fields["escalation_owner"] = _("The escalation owner must be a member of this workspace.")
        return None
    return membership.user


@transaction.atomic
def inbox_settings_save(membership: Membership, data: Mapping[str, Any], ip: str | None = None) -> InboxSettings:
    """Save the inbox settings; fields left out of ``data`` keep their value. ``escalation_owner``
    is a member's user id (or null), ``crisis_keywords`` a list of words or phrases, and
    ``business_hours`` ``{"0": [["09:00", "17:00"]], …}`` (Monday 0 … Sunday 6) read in
    ``timezone`` (empty: the workspace's). A ``DomainError`` names every wrong field."""
    _require(membership, _("Your role may not change the inbox settings."))
    workspace = membership.workspace
    current = inbox_settings_for(workspace)
    before = _snapshot(current) if current.pk else None
    fields: dict[str, str] = {}
    for extra in sorted(set(data) - set(SETTINGS_FIELDS)):
        fields[extra] = _("Unknown field %(field)s.") % {"field": extra}

    zone = _text(data, "timezone", 64, fields, current.timezone) or workspace.timezone or django_settings.TIME_ZONE
    hours_data = data.get("business_hours", current.business_hours)
    hours: BusinessHours | None = None
    try:
        hours = BusinessHours.from_json(hours_data, zone)
    except DomainError as error:
        fields.update(error.fields or {"business_hours": error.message})
    brand = _text(data, "brand_name", BRAND_MAX, fields, current.brand_name)
    guidelines = _text(data, "guidelines", GUIDELINES_MAX, fields, current.guidelines)
    if "escalation_owner" in data:
        owner = _owner(workspace, data["escalation_owner"], fields)
    else:  # kept as it is, unless the owner has left the workspace since
        owner = _owner(workspace, current.escalation_owner_id, {})
    negative = data.get("escalate_negative", current.escalate_negative)
    if not isinstance(negative, bool):
        fields["escalate_negative"] = _("escalate_negative must be true or false.")
    keywords = clean_words(
        data.get("crisis_keywords", current.crisis_keywords or []),
        _("Crisis keywords"),
        fields,
        "crisis_keywords",
    )
    if fields:
        raise DomainError(next(iter(fields.values())), fields=fields)
    assert hours is not None
    row = InboxSettings.objects.select_for_update().filter(workspace=workspace).first() or InboxSettings(
        workspace=workspace
    )
    row.business_hours = hours.to_json()
    row.timezone = zone
    row.brand_name = brand
    row.guidelines = guidelines
    row.escalation_owner = owner
    row.escalate_negative = bool(negative)
    row.crisis_keywords = keywords
    after = _snapshot(row)
    if before is not None and before == after:
        return row
    row.updated_at = timezone.now()
    row.save()
    changed = {k: {"from": (before or {}).get(k), "to": v} for k, v in after.items() if (before or {}).get(k) != v}
    audit_record(
        workspace=workspace,
        actor=membership.user,
        action="inbox.settings.update",
        target=f"workspace:{workspace.slug}",
        data=changed,
        ip=ip,
    )
    return row


# ---------------------------------------------------------------------------------------------
# Teams


def teams_for(workspace: Workspace) -> list[Team]:
    return list(Team.objects.filter(workspace=workspace).prefetch_related("members").order_by("name", "id"))


def team_get(workspace: Workspace, team_id: int) -> Team:
    team = Team.objects.filter(workspace=workspace, pk=team_id).first()
    if team is None:
        raise NotFound(_("Team not found."))
    return team


def _member_users(workspace: Workspace, raw: Any, fields: dict[str, str]) -> list[User]:
    if raw is None:
        return []
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        fields["members"] = _("members must be a list of member ids.")
        return []
    ids: list[int] = []
    for value in raw:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            fields["members"] = _("members must be a list of member ids.")
            return []
        ids.append(int(value))
    users = {
        m.user_id: m.user
        for m in Membership.objects.filter(workspace=workspace, user_id__in=ids).select_related("user")
    }
    strangers = [str(i) for i in ids if i not in users]
    if strangers:
        fields["members"] = _("%(ids)s is not a member of this workspace.") % {"ids": ", ".join(strangers)}
        return []
    return [users[i] for i in dict.fromkeys(ids)]


@transaction.atomic
def team_save(
    membership: Membership, data: Mapping[str, Any], team_id: int | None = None, ip: str | None = None
) -> Team:
    """Create a team (``team_id`` None) or change one: ``name`` (unique in the workspace, any
    case) and ``members`` (user ids of members). Fields left out keep their value."""
    _require(membership, _("Your role may not change the teams."))
    workspace = membership.workspace
    team = team_get(workspace, team_id) if team_id is not None else None
    fields: dict[str, str] = {}
    for extra in sorted(set(data) - {"name", "members"}):
        fields[extra] = _("Unknown field %(field)s.") % {"field": extra}
    raw_name = data.get("name", team.name if team else "")
    name = " ".join(raw_name.split()) if isinstance(raw_name, str) else ""
    if not name:
        fields["name"] = _("Give the team a name.")
    elif len(name) > TEAM_NAME_MAX:
        fields["name"] = _("A team's name is at most %(n)s characters.") % {"n": TEAM_NAME_MAX}
    elif Team.objects.filter(workspace=workspace, name__iexact=name).exclude(pk=team.pk if team else 0).exists():
        fields["name"] = _("There is already a team called %(name)s.") % {"name": name}
    current = [u.pk for u in team.members.all()] if team else []
    members = _member_users(workspace, data.get("members", current), fields)
    if fields:
        raise DomainError(next(iter(fields.values())), fields=fields)
    after: dict[str, Any] = {"name": name, "members": sorted(u.email for u in members)}
    data_out: dict[str, Any]
    if team is None:
        team = Team.objects.create(workspace=workspace, name=name)
        team.members.set(members)
        action, data_out = "inbox.team.create", after
    else:
        before: dict[str, Any] = {"name": team.name, "members": sorted(u.email for u in team.members.all())}
        if before == after:
            return team
        team.name = name
        team.save(update_fields=["name"])
        team.members.set(members)
        action, data_out = "inbox.team.update", {"from": before, "to": after}
    audit_record(
        workspace=workspace, actor=membership.user, action=action, target=f"team:{team.pk}", data=data_out, ip=ip
    )
    return team


@transaction.atomic
def team_delete(membership: Membership, team_id: int, ip: str | None = None) -> None:
    """Delete a team; its conversations keep their assignee and lose the team."""
    _require(membership, _("Your role may not change the teams."))
    team = team_get(membership.workspace, team_id)
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        action="inbox.team.delete",
        target=f"team:{team.pk}",
        data={"name": team.name, "members": sorted(u.email for u in team.members.all())},
        ip=ip,
    )
    team.delete()
