"""Actions on tenancy: workspaces, members, invitations, tokens, audit. Views stay thin and call these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import (
    AuditEvent,
    Calendar,
    Invitation,
    Language,
    Membership,
    Organization,
    PersonalAccessToken,
    User,
    Workspace,
)
from sokhan.core.permissions import ROLE_LABELS, Perm, Role, assignable_roles, role_can

INVITATION_LIFETIME = timedelta(days=7)
TOKEN_PREFIX = "skn_"  # noqa: S105 - a public marker, not a secret


# ---------------------------------------------------------------- audit


def audit_record(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    target: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=actor,
        actor_label=actor.email if actor else "system",
        action=action,
        target=target[:254],
        data=data or {},
        ip=ip,
    )


def audit_login(*, user: User, ip: str | None, action: str = "auth.login") -> None:
    """Logins belong to the user, not a workspace: record them in each workspace they can enter."""
    for membership in Membership.objects.filter(user=user).select_related("workspace"):
        audit_record(workspace=membership.workspace, actor=user, action=action, target=user.email, ip=ip)


# ---------------------------------------------------------------- workspaces


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def organization_get() -> Organization:
    org = Organization.objects.order_by("id").first()
    if org is None:
        org = Organization.objects.create(name="Sokhan")
    return org


def validate_timezone(name: str) -> str:
    if name not in available_timezones():
        raise DomainError(_("Unknown time zone: %(tz)s") % {"tz": name}, fields={"timezone": "unknown"})
    return name


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(
    *,
    owner: User,
    name: str,
    slug: str = "",
    timezone_name: str = "Asia/Tehran",
    calendar: str = Calendar.JALALI,
    language: str = Language.PERSIAN,
) -> Workspace:
    name = name.strip()
    if not name:
        raise DomainError(_("A workspace needs a name."), fields={"name": "required"})
    if slug:
        if slugify(slug) != slug:
            raise DomainError(
                _("The address may hold only lowercase letters, digits and hyphens."),
                fields={"slug": "invalid"},
            )
        if Workspace.objects.filter(slug=slug).exists():
            raise Conflict(_("The address %(slug)s is taken.") % {"slug": slug}, fields={"slug": "taken"})
    workspace = Workspace.objects.create(
        organization=organization_get(),
        name=name,
        slug=slug or _unique_slug(name),
        timezone=validate_timezone(timezone_name),
        calendar=Calendar(calendar),
        language=Language(language),
    )
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    audit_record(workspace=workspace, actor=owner, action="workspace.create", target=workspace.slug)
    return workspace


SETTINGS_FIELDS = ("name", "description", "timezone", "calendar", "language")


@transaction.atomic
def workspace_update(*, workspace: Workspace, actor: User, ip: str | None = None, **changes: Any) -> Workspace:
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError(_("Unknown settings: %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "name" in changes and not str(changes["name"]).strip():
        raise DomainError(_("A workspace needs a name."), fields={"name": "required"})
    if "timezone" in changes:
        validate_timezone(changes["timezone"])
    if "calendar" in changes and changes["calendar"] not in Calendar.values:
        raise DomainError(_("Unknown calendar."), fields={"calendar": "invalid"})
    if "language" in changes and changes["language"] not in Language.values:
        raise DomainError(_("Unknown language."), fields={"language": "invalid"})
    before = {f: getattr(workspace, f) for f in changes}
    for field, value in changes.items():
        setattr(workspace, field, value)
    workspace.save()
    diff = {f: [before[f], changes[f]] for f in changes if before[f] != changes[f]}
    if diff:
        audit_record(workspace=workspace, actor=actor, action="workspace.settings", data=diff, ip=ip)
    return workspace


# ---------------------------------------------------------------- members


def _require(membership: Membership, perm: Perm) -> None:
    if not role_can(membership.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def _check_assignable(actor: Membership, role: str) -> Role:
    try:
        wanted = Role(role)
    except ValueError:
        raise DomainError(_("Unknown role: %(r)s") % {"r": role}, fields={"role": "invalid"}) from None
    if wanted not in assignable_roles(actor.role):
        raise NotAllowed(_("Your role may not grant the role %(r)s.") % {"r": wanted.value})
    return wanted


def _owners(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


def _locked_member(actor: Membership, member_id: int) -> Membership:
    member = (
        Membership.objects.select_for_update()
        .filter(workspace=actor.workspace, id=member_id)
        .select_related("user")
        .first()
    )
    if member is None:
        raise NotFound(_("No such member."))
    return member


@transaction.atomic
def membership_set_role(*, actor: Membership, member_id: int, role: str, ip: str | None = None) -> Membership:
    _require(actor, Perm.MEMBERS_MANAGE)
    wanted = _check_assignable(actor, role)
    member = _locked_member(actor, member_id)
    if member.role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner may change an owner's role."))
    if member.role == Role.OWNER and wanted != Role.OWNER and _owners(actor.workspace) == 1:
        raise Conflict(_("A workspace keeps at least one owner."))
    old = member.role
    member.role = wanted
    member.save(update_fields=["role"])
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="member.role",
        target=member.user.email,
        data={"from": old, "to": wanted.value},
        ip=ip,
    )
    return member


@transaction.atomic
def membership_remove(*, actor: Membership, member_id: int, ip: str | None = None) -> None:
    member = _locked_member(actor, member_id)
    if member.user_id != actor.user_id:
        _require(actor, Perm.MEMBERS_MANAGE)
        if member.role == Role.OWNER and actor.role != Role.OWNER:
            raise NotAllowed(_("Only an owner may remove an owner."))
    if member.role == Role.OWNER and _owners(actor.workspace) == 1:
        raise Conflict(_("A workspace keeps at least one owner."))
    member.delete()
    PersonalAccessToken.objects.filter(workspace=actor.workspace, user=member.user).update(revoked_at=timezone.now())
    audit_record(workspace=actor.workspace, actor=actor.user, action="member.remove", target=member.user.email, ip=ip)


# ---------------------------------------------------------------- invitations


@transaction.atomic
def invitation_create(
    *, actor: Membership, email: str, role: str, ip: str | None = None, send: bool = True
) -> tuple[Invitation, str]:
    _require(actor, Perm.MEMBERS_MANAGE)
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise DomainError(_("Enter a valid email address."), fields={"email": "invalid"})
    wanted = _check_assignable(actor, role)
    if Membership.objects.filter(workspace=actor.workspace, user__email=email).exists():
        raise Conflict(_("%(e)s is already a member.") % {"e": email}, fields={"email": "member"})
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=actor.workspace,
        email=email,
        role=wanted,
        token_hash=_hash(raw),
        invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="member.invite",
        target=email,
        data={"role": wanted.value},
        ip=ip,
    )
    if send:
        workspace, inviter = actor.workspace, actor.user.display_name
        transaction.on_commit(lambda: _send_invitation(workspace, inviter, email, wanted, raw))
    return invitation, raw


def _send_invitation(workspace: Workspace, inviter: str, email: str, role: Role, raw: str) -> None:
    # The invitee has no language preference yet: write in the workspace's language.
    with translation.override(workspace.language):
        send_mail(
            subject=_("You are invited to %(ws)s on Sokhan") % {"ws": workspace.name},
            message=_("%(who)s invited you to join %(ws)s as %(role)s.\n\nAccept: %(link)s\n")
            % {
                "who": inviter,
                "ws": workspace.name,
                "role": ROLE_LABELS[role],
                "link": f"{settings.BASE_URL}/invite/{raw}/",
            },
            from_email=None,
            recipient_list=[email],
        )


def invitation_lookup(raw: str) -> Invitation:
    invitation = Invitation.objects.select_related("workspace").filter(token_hash=_hash(raw)).first()
    if invitation is None or not invitation.is_usable:
        raise NotFound(_("This invitation link is invalid, used or expired."))
    return invitation


@transaction.atomic
def invitation_accept(*, raw: str, user: User, ip: str | None = None) -> Membership:
    invitation = invitation_lookup(raw)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable:
        raise NotFound(_("This invitation link is invalid, used or expired."))
    if invitation.email != user.email.lower():
        raise NotAllowed(_("This invitation was sent to %(e)s; sign in with that address.") % {"e": invitation.email})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
    except IntegrityError:
        raise Conflict(_("You are already a member of this workspace.")) from None
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        workspace=invitation.workspace,
        actor=user,
        action="member.join",
        target=user.email,
        data={"role": invitation.role},
        ip=ip,
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation_id: int, ip: str | None = None) -> None:
    _require(actor, Perm.MEMBERS_MANAGE)
    invitation = Invitation.objects.filter(workspace=actor.workspace, id=invitation_id).first()
    if invitation is None:
        raise NotFound(_("No such invitation."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="member.invite_revoke",
        target=invitation.email,
        ip=ip,
    )


# ---------------------------------------------------------------- API tokens

TOKEN_SCOPES = {
    "read": "Read workspace data",
    "write": "Change workspace data",
    "admin": "Manage members and settings",
}


@transaction.atomic
def token_create(
    *,
    actor: Membership,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
    ip: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    _require(actor, Perm.WORKSPACE_VIEW)
    name = name.strip()
    if not name:
        raise DomainError(_("A token needs a name."), fields={"name": "required"})
    bad = [s for s in scopes if s not in TOKEN_SCOPES]
    if bad or not scopes:
        raise DomainError(
            _("Scopes must be among: %(s)s") % {"s": ", ".join(TOKEN_SCOPES)}, fields={"scopes": "invalid"}
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise DomainError(_("Expiry must be between 1 and 3650 days."), fields={"expires_in_days": "range"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken.objects.create(
        workspace=actor.workspace,
        user=actor.user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=_hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="token.create",
        target=name,
        data={"scopes": token.scopes},
        ip=ip,
    )
    return token, raw


def token_authenticate(raw: str) -> PersonalAccessToken | None:
    found = token_access(raw)
    return found[0] if found else None


def token_access(raw: str) -> tuple[PersonalAccessToken, Membership] | None:
    """The active token and its holder's membership of the token's workspace, or None. Two queries:
    every API call by token runs this first."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = PersonalAccessToken.objects.select_related("workspace", "user").filter(token_hash=_hash(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    membership = Membership.objects.filter(workspace_id=token.workspace_id, user_id=token.user_id).first()
    if membership is None:
        return None
    # The same rows the token query loaded: no second join for what the caller reads next.
    membership.workspace = token.workspace
    membership.user = token.user
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, membership


@transaction.atomic
def token_revoke(*, actor: Membership, token_id: int, ip: str | None = None) -> None:
    qs = PersonalAccessToken.objects.filter(workspace=actor.workspace, id=token_id)
    if not role_can(actor.role, Perm.MEMBERS_MANAGE):
        qs = qs.filter(user=actor.user)
    token = qs.first()
    if token is None:
        raise NotFound(_("No such token."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(workspace=actor.workspace, actor=actor.user, action="token.revoke", target=token.name, ip=ip)
