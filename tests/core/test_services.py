"""Tenancy actions: workspaces, members, invitations, tokens, and the audit trail they leave."""

from datetime import timedelta

import pytest
from django.core import mail
from django.http import Http404
from django.utils import timezone
from tests.conftest import PASSWORD

from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Invitation, Membership, User, Workspace
from sokhan.core.permissions import Perm, Role
from sokhan.core.scoping import access_membership, access_workspace, scoped, scoped_get_or_404
from sokhan.core.services import (
    invitation_accept,
    invitation_create,
    membership_remove,
    membership_set_role,
    token_authenticate,
    token_create,
    token_revoke,
    workspace_create,
    workspace_update,
)


def actions(ws: Workspace) -> list[str]:
    return list(AuditEvent.objects.filter(workspace=ws).order_by("id").values_list("action", flat=True))


def owner_of(ws: Workspace) -> Membership:
    return Membership.objects.get(workspace=ws, role=Role.OWNER)


def test_workspace_create_makes_owner_and_audits(owner: User) -> None:
    ws = workspace_create(owner=owner, name="  Café Naderi ")
    assert ws.name == "Café Naderi"
    assert ws.slug == "cafe-naderi"
    assert Membership.objects.get(workspace=ws, user=owner).role == Role.OWNER
    assert actions(ws) == ["workspace.create"]
    second = workspace_create(owner=owner, name="Café Naderi")
    assert second.slug == "cafe-naderi-2"


def test_workspace_create_rejects_bad_input(owner: User) -> None:
    with pytest.raises(DomainError) as err:
        workspace_create(owner=owner, name="  ")
    assert err.value.fields == {"name": "required"}
    with pytest.raises(DomainError) as err:
        workspace_create(owner=owner, name="X", timezone_name="Mars/Olympus")
    assert "Mars/Olympus" in err.value.message
    workspace_create(owner=owner, name="X", slug="taken")
    with pytest.raises(Conflict):
        workspace_create(owner=owner, name="Y", slug="taken")
    with pytest.raises(DomainError):
        workspace_create(owner=owner, name="Y", slug="Not A Slug")


def test_settings_update_is_audited_with_diff(workspace: Workspace, owner: User) -> None:
    workspace_update(workspace=workspace, actor=owner, timezone="Europe/Berlin", language="en")
    event = AuditEvent.objects.filter(workspace=workspace, action="workspace.settings").get()
    assert event.data == {"timezone": ["Asia/Tehran", "Europe/Berlin"], "language": ["fa", "en"]}
    with pytest.raises(DomainError):
        workspace_update(workspace=workspace, actor=owner, calendar="lunar")
    with pytest.raises(DomainError):
        workspace_update(workspace=workspace, actor=owner, slug="hijack")


def test_invitation_round_trip(workspace: Workspace, owner: User, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = invitation_create(actor=owner_of(workspace), email="Sara@Example.com", role="editor")
    assert invitation.email == "sara@example.com"
    assert len(mail.outbox) == 1 and raw in mail.outbox[0].body
    # Written in the workspace's language (Persian), with the role's label, not its code.
    assert "ویراستار" in mail.outbox[0].body and "editor" not in mail.outbox[0].body
    sara = User.objects.create_user("sara@example.com", PASSWORD)
    membership = invitation_accept(raw=raw, user=sara)
    assert membership.role == Role.EDITOR
    assert actions(workspace)[-2:] == ["member.invite", "member.join"]
    with pytest.raises(NotFound):  # single use
        invitation_accept(raw=raw, user=sara)


def test_invitation_expires_and_is_bound_to_its_email(workspace: Workspace, owner: User) -> None:
    invitation, raw = invitation_create(actor=owner_of(workspace), email="a@example.com", role="viewer", send=False)
    mallory = User.objects.create_user("mallory@example.com", PASSWORD)
    with pytest.raises(NotAllowed):
        invitation_accept(raw=raw, user=mallory)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    a = User.objects.create_user("a@example.com", PASSWORD)
    with pytest.raises(NotFound):
        invitation_accept(raw=raw, user=a)


def test_editor_cannot_invite_and_admin_cannot_grant_owner(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    admin = make_member(Role.ADMIN)
    with pytest.raises(NotAllowed):
        invitation_create(actor=Membership.objects.get(user=editor), email="x@example.com", role="viewer")
    with pytest.raises(NotAllowed):
        invitation_create(actor=Membership.objects.get(user=admin), email="x@example.com", role="owner")


def test_last_owner_is_kept(workspace: Workspace, owner: User, make_member) -> None:  # type: ignore[no-untyped-def]
    actor = owner_of(workspace)
    with pytest.raises(Conflict):
        membership_set_role(actor=actor, member_id=actor.id, role="admin")
    with pytest.raises(Conflict):
        membership_remove(actor=actor, member_id=actor.id)
    second = make_member(Role.ADMIN, "second@example.com")
    m2 = Membership.objects.get(user=second)
    with pytest.raises(NotAllowed):  # an admin cannot demote an owner
        membership_set_role(actor=m2, member_id=actor.id, role="viewer")
    membership_set_role(actor=actor, member_id=m2.id, role="owner")
    membership_set_role(actor=actor, member_id=actor.id, role="editor")
    assert Membership.objects.get(pk=actor.pk).role == "editor"
    assert "member.role" in actions(workspace)


def test_removing_a_member_revokes_their_tokens(workspace: Workspace, owner: User, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    membership = Membership.objects.get(user=editor)
    _, raw = token_create(actor=membership, name="ci", scopes=["read"])
    assert token_authenticate(raw) is not None
    membership_remove(actor=owner_of(workspace), member_id=membership.id)
    assert token_authenticate(raw) is None


def test_tokens_are_hashed_scoped_and_revocable(workspace: Workspace, owner: User) -> None:
    actor = owner_of(workspace)
    token, raw = token_create(actor=actor, name="reports", scopes=["read", "read"], expires_in_days=30)
    assert token.scopes == ["read"]
    assert raw not in str(list(type(token).objects.values()))
    assert token_authenticate(raw) == token
    assert token_authenticate(raw + "x") is None
    assert token_authenticate("not-a-token") is None
    with pytest.raises(DomainError):
        token_create(actor=actor, name="bad", scopes=["root"])
    with pytest.raises(DomainError):
        token_create(actor=actor, name="", scopes=["read"])
    token_revoke(actor=actor, token_id=token.id)
    assert token_authenticate(raw) is None


def test_scoping_helpers_hide_other_workspaces(workspace: Workspace, owner: User) -> None:
    stranger = User.objects.create_user("stranger@example.com", PASSWORD)
    other = workspace_create(owner=stranger, name="Other")
    with pytest.raises(Http404):
        access_membership(stranger, workspace.slug)
    with pytest.raises(Http404):
        access_membership(owner, "no-such-workspace")
    assert access_workspace(owner, workspace.slug).role == Role.OWNER
    event = AuditEvent.objects.filter(workspace=workspace).first()
    assert event is not None
    with pytest.raises(Http404):
        scoped_get_or_404(AuditEvent, other, id=event.id)
    assert list(scoped(AuditEvent, other)) == list(AuditEvent.objects.filter(workspace=other))


def test_member_without_permission_gets_permission_error(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    viewer = make_member(Role.VIEWER)
    with pytest.raises(PermissionError):
        access_workspace(viewer, workspace.slug, Perm.MEMBERS_MANAGE)
