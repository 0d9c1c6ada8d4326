"""Member management: roles, removal, invitations, leaving, and the permission checks behind them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sokhan.core.models import Invitation, Membership, User, Workspace
from sokhan.core.services import invitation_create

from .helpers import PASSWORD, sign_in


def _client(user: User) -> Client:
    client = Client()
    sign_in(client, user.email)
    return client


def test_owner_changes_a_role_with_htmx(owner_client: Client, make_member, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    viewer = make_member("viewer")
    member = Membership.objects.get(user=viewer)
    response = owner_client.post(
        f"/w/{workspace.slug}/members/{member.pk}/role/",
        {f"m{member.pk}-role": "manager"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="member-{member.pk}">')
    assert "Saved." in html
    member.refresh_from_db()
    assert member.role == "manager"
    audit = owner_client.get(f"/w/{workspace.slug}/audit/", {"action": "member.role"}).content.decode()
    assert "Changed a member&#x27;s role" in audit and "Viewer → Manager" in audit


def test_last_owner_cannot_be_demoted_or_leave(owner_client: Client, owner: User, workspace: Workspace) -> None:
    own = Membership.objects.get(user=owner)
    response = owner_client.post(f"/w/{workspace.slug}/leave/", follow=True)
    assert "A workspace keeps at least one owner." in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()


def test_admin_cannot_grant_owner_and_sees_no_owner_controls(make_member, owner: User, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    admin = make_member("admin")
    viewer = make_member("viewer")
    client = _client(admin)
    html = client.get(f"/w/{workspace.slug}/members/").content.decode()
    owner_member = Membership.objects.get(user=owner)
    viewer_member = Membership.objects.get(user=viewer)
    assert f"/members/{owner_member.pk}/role/" not in html  # no controls on the owner row
    assert f"/members/{viewer_member.pk}/role/" in html
    assert 'value="owner"' not in html  # owner is not an assignable role for an admin
    refused = client.post(
        f"/w/{workspace.slug}/members/{viewer_member.pk}/role/",
        {f"m{viewer_member.pk}-role": "owner"},
        follow=True,
    )
    assert "Choose one of the offered roles." in refused.content.decode()
    viewer_member.refresh_from_db()
    assert viewer_member.role == "viewer"


def test_manager_sees_members_but_cannot_manage(make_member, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    manager = make_member("manager")
    client = _client(manager)
    html = client.get(f"/w/{workspace.slug}/members/").content.decode()
    assert "owner@example.com" in html
    assert "Invite someone" not in html and "/role/" not in html
    assert client.post(f"/w/{workspace.slug}/members/invite/", {"email": "a@b.c", "role": "viewer"}).status_code == 403


def test_remove_member_and_revoke_invitation(
    owner_client: Client, owner: User, make_member, workspace: Workspace
) -> None:  # type: ignore[no-untyped-def]
    editor = make_member("editor")
    member = Membership.objects.get(user=editor)
    owner_client.post(f"/w/{workspace.slug}/members/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert _client(editor).get(f"/w/{workspace.slug}/").status_code == 404

    invitation, raw = invitation_create(
        actor=Membership.objects.get(user=owner), email="new@example.com", role="viewer", send=False
    )
    html = owner_client.get(f"/w/{workspace.slug}/members/").content.decode()
    assert "new@example.com" in html
    owner_client.post(f"/w/{workspace.slug}/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "new@example.com" not in owner_client.get(f"/w/{workspace.slug}/members/").content.decode()
    dead = Client().get(f"/invite/{raw}/")
    assert dead.status_code == 404
    assert "invalid, used or expired" in dead.content.decode()


def test_invalid_invite_email_shows_field_error(owner_client: Client, workspace: Workspace) -> None:
    response = owner_client.post(f"/w/{workspace.slug}/members/invite/", {"email": "not-an-email", "role": "editor"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()


def test_member_can_leave(make_member, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    viewer = make_member("viewer")
    client = _client(viewer)
    response = client.post(f"/w/{workspace.slug}/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=viewer).exists()
    assert client.get("/")["Location"] == "/workspaces/new/"


def test_existing_user_accepts_by_signing_in(owner: User, workspace: Workspace) -> None:
    existing = User.objects.create_user("sara@example.com", PASSWORD)
    _, raw = invitation_create(
        actor=Membership.objects.get(user=owner), email=existing.email, role="analyst", send=False
    )
    client = Client()
    page = client.get(f"/invite/{raw}/").content.decode()
    login_link = re.search(r'href="(/login/\?next=[^"]+)"', page)
    assert login_link
    response = client.post(login_link.group(1).replace("&amp;", "&"), {"email": existing.email, "password": PASSWORD})
    assert response["Location"] == f"/invite/{raw}/"
    accepted = client.post(f"/invite/{raw}/")
    assert accepted["Location"] == f"/w/{workspace.slug}/"
    assert Membership.objects.get(user=existing).role == "analyst"


def test_wrong_account_cannot_accept(owner: User, make_member, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    _, raw = invitation_create(
        actor=Membership.objects.get(user=owner), email="meant@example.com", role="viewer", send=False
    )
    stranger = User.objects.create_user("stranger@example.com", PASSWORD)
    client = _client(stranger)
    assert "Sign out and sign in with the invited address" in client.get(f"/invite/{raw}/").content.decode()
    client.post(f"/invite/{raw}/")
    assert not Membership.objects.filter(user=stranger).exists()


def test_home_opens_last_used_workspace(owner_client: Client, owner: User, workspace: Workspace) -> None:
    from sokhan.core.services import workspace_create

    second = workspace_create(owner=owner, name="Zebra Tea", slug="zebra")
    assert owner_client.get("/")["Location"] == "/w/acme/"  # first by name
    owner_client.get("/w/zebra/")
    assert owner_client.get("/")["Location"] == "/w/zebra/"
    html = owner_client.get("/w/zebra/").content.decode()
    assert 'href="/w/acme/"' in html and f'href="/w/{second.slug}/" aria-current="page"' in html


@pytest.mark.django_db
def test_user_without_workspace_can_create_one() -> None:
    user = User.objects.create_user("solo@example.com", PASSWORD)
    client = _client(user)
    assert client.get("/")["Location"] == "/workspaces/new/"
    assert "not a member of any workspace" in client.get("/workspaces/new/").content.decode()
    response = client.post(
        "/workspaces/new/",
        {
            "workspace_name": "Solo Studio",
            "timezone": "Europe/Berlin",
            "calendar": "gregorian",
            "language": "en",
        },
    )
    workspace = Workspace.objects.get(name="Solo Studio")
    assert response["Location"] == f"/w/{workspace.slug}/"
    assert Membership.objects.get(user=user, workspace=workspace).role == "owner"


def test_settings_save_and_are_audited(owner_client: Client, workspace: Workspace) -> None:
    url = f"/w/{workspace.slug}/settings/"
    page = owner_client.get(url).content.decode()
    assert '<option value="Asia/Tehran" selected>' in page
    response = owner_client.post(
        url,
        {"name": "Acme Roasters", "description": "Specialty coffee", "timezone": "Europe/London",
         "calendar": "gregorian", "language": "en"},
    )  # fmt: skip
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.timezone, workspace.calendar) == (
        "Acme Roasters",
        "Europe/London",
        "gregorian",
    )
    audit = owner_client.get(f"/w/{workspace.slug}/audit/", {"action": "workspace.settings"}).content.decode()
    assert "Acme Roasters" in audit
    bad = owner_client.post(url, {"name": "", "timezone": "Mars/Base", "calendar": "x", "language": "en"})
    assert bad.status_code == 400
