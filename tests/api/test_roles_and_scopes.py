"""Token scopes and the role matrix, both enforced on every route."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from tests.api.conftest import ApiClient, assert_error, make_token

from sokhan.core.models import AuditEvent, Invitation, Membership, PersonalAccessToken, User, Workspace
from sokhan.core.permissions import MATRIX, Perm, Role


def _session(user: User) -> ApiClient:
    client = Client()
    client.force_login(user)
    return ApiClient(client=client)


def test_read_token_cannot_change_anything(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["read"]))
    assert api.get("/workspaces/acme/members").status_code == 200
    error = assert_error(api.patch("/workspaces/acme", {"name": "Nope"}), 403, "insufficient_scope")
    assert "admin" in error["message"]
    assert_error(api.post("/workspaces/acme/invitations", {"email": "a@b.c", "role": "viewer"}), 403)
    workspace.refresh_from_db()
    assert workspace.name == "Acme Coffee"
    assert not Invitation.objects.exists()


def test_write_token_cannot_manage_settings_or_members(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    assert_error(api.patch("/workspaces/acme", {"name": "Nope"}), 403, "insufficient_scope")
    assert_error(api.post("/workspaces/acme/tokens", {"name": "t", "scopes": ["read"]}), 403, "insufficient_scope")


def test_owner_admin_token_changes_settings_and_it_is_audited(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["admin"]))
    response = api.patch(
        "/workspaces/acme",
        {"name": "Acme Tea", "timezone": "Europe/Berlin", "calendar": "gregorian", "language": "en"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Acme Tea"
    workspace.refresh_from_db()
    assert (workspace.name, workspace.timezone, workspace.calendar, workspace.language) == (
        "Acme Tea",
        "Europe/Berlin",
        "gregorian",
        "en",
    )
    event = AuditEvent.objects.get(workspace=workspace, action="workspace.settings")
    assert event.data["name"] == ["Acme Coffee", "Acme Tea"]
    assert event.actor == owner
    assert event.ip == "127.0.0.1"


def test_bad_settings_name_the_field(owner_api: ApiClient) -> None:
    error = assert_error(owner_api.patch("/workspaces/acme", {"timezone": "Mars/Olympus"}), 400)
    assert error["fields"] == {"timezone": "unknown"}
    error = assert_error(owner_api.patch("/workspaces/acme", {"calendar": "mayan"}), 422, "validation_failed")
    assert "calendar" in error["fields"]
    error = assert_error(owner_api.patch("/workspaces/acme", {"name": None}), 400)
    assert error["fields"] == {"name": "required"}


def test_editor_admin_token_still_cannot_manage(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    viewer = make_member(Role.VIEWER)
    api = ApiClient(make_token(editor, workspace, ["admin"]))
    assert api.get("/workspaces/acme").status_code == 200
    assert_error(api.patch("/workspaces/acme", {"name": "Nope"}), 403, "forbidden")
    assert_error(api.get("/workspaces/acme/members"), 403, "forbidden")
    viewer_id = Membership.objects.get(user=viewer).pk
    assert_error(api.patch(f"/workspaces/acme/members/{viewer_id}", {"role": "admin"}), 403, "forbidden")
    assert_error(api.delete(f"/workspaces/acme/members/{viewer_id}"), 403, "forbidden")
    assert_error(api.post("/workspaces/acme/invitations", {"email": "x@y.z", "role": "viewer"}), 403)
    assert_error(api.get("/workspaces/acme/audit"), 403, "forbidden")
    assert Membership.objects.get(user=viewer).role == Role.VIEWER


def test_viewer_cannot_write_and_cannot_use_tokens(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    viewer = make_member(Role.VIEWER)
    api = _session(viewer)
    assert api.get("/workspaces/acme").status_code == 200
    assert_error(api.patch("/workspaces/acme", {"name": "Nope"}), 403, "forbidden")
    assert_error(api.post("/workspaces/acme/tokens", {"name": "t", "scopes": ["read"]}), 403, "forbidden")
    # Tokens made anyway (e.g. before a demotion) do not get the viewer in.
    raw = make_token(viewer, workspace, ["read"])
    error = assert_error(ApiClient(raw).get("/workspaces/acme"), 403, "forbidden")
    assert "token" in error["message"]


@pytest.mark.parametrize("role", list(Role))
def test_permissions_endpoint_mirrors_the_matrix(workspace: Workspace, make_member, role: Role) -> None:  # type: ignore[no-untyped-def]
    user = make_member(role) if role != Role.OWNER else User.objects.get(email="owner@example.com")
    body = _session(user).get("/workspaces/acme/permissions").json()
    assert body["role"] == role.value
    assert {p for p, allowed in body["permissions"].items() if allowed} == {p.value for p in MATRIX[role]}
    assert body["token_scopes"] is None
    # and the matrix is what the API enforces: members.manage decides the settings of roles.
    status = _session(user).get("/workspaces/acme/members").status_code
    assert status == (200 if Perm.MEMBERS_VIEW in MATRIX[role] else 403)


def test_owner_manages_members(owner: User, workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    api = ApiClient(make_token(owner, workspace, ["admin"]))
    members = api.get("/workspaces/acme/members").json()
    assert members["count"] == 2
    editor_row = next(m for m in members["results"] if m["email"] == editor.email)
    response = api.patch(f"/workspaces/acme/members/{editor_row['id']}", {"role": "manager"})
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    assert Membership.objects.get(user=editor).role == Role.MANAGER
    assert AuditEvent.objects.filter(action="member.role", target=editor.email).exists()

    error = assert_error(api.patch(f"/workspaces/acme/members/{editor_row['id']}", {"role": "boss"}), 422)
    assert "role" in error["fields"]

    owner_id = Membership.objects.get(user=owner).pk
    assert_error(api.patch(f"/workspaces/acme/members/{owner_id}", {"role": "viewer"}), 409, "conflict")
    assert_error(api.delete(f"/workspaces/acme/members/{owner_id}"), 409, "conflict")

    assert api.delete(f"/workspaces/acme/members/{editor_row['id']}").status_code == 204
    assert not Membership.objects.filter(user=editor).exists()
    assert_error(api.delete(f"/workspaces/acme/members/{editor_row['id']}"), 404, "not_found")


def test_admin_cannot_promote_to_owner(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    admin = make_member(Role.ADMIN)
    editor = make_member(Role.EDITOR)
    api = ApiClient(make_token(admin, workspace, ["admin"]))
    editor_id = Membership.objects.get(user=editor).pk
    assert_error(api.patch(f"/workspaces/acme/members/{editor_id}", {"role": "owner"}), 403, "forbidden")
    assert api.patch(f"/workspaces/acme/members/{editor_id}", {"role": "analyst"}).status_code == 200


def test_invitations_create_list_revoke(
    owner_api: ApiClient,
    workspace: Workspace,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post("/workspaces/acme/invitations", {"email": "New@Example.com", "role": "editor"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["email"] == "new@example.com"
    assert created["state"] == "pending"
    assert "/invite/" in created["accept_url"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    assert created["accept_url"] in mail.outbox[0].body

    listed = owner_api.get("/workspaces/acme/invitations").json()
    assert listed["count"] == 1 and "accept_url" not in listed["results"][0]

    assert owner_api.delete(f"/workspaces/acme/invitations/{created['id']}").status_code == 204
    assert owner_api.get("/workspaces/acme/invitations", {"state": "pending"}).json()["count"] == 0
    assert owner_api.get("/workspaces/acme/invitations", {"state": "revoked"}).json()["count"] == 1
    assert_error(owner_api.post("/workspaces/acme/invitations", {"email": "owner@example.com", "role": "viewer"}), 409)
    assert_error(owner_api.delete("/workspaces/acme/invitations/999999"), 404)


def test_tokens_secret_shown_once_and_revocable(owner: User, workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    editor_api = ApiClient(make_token(editor, workspace, ["admin"]))
    response = editor_api.post("/workspaces/acme/tokens", {"name": "CI", "scopes": ["read"], "expires_in_days": 30})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["token"].startswith("skn_") and created["scopes"] == ["read"] and created["active"]
    assert ApiClient(created["token"]).get("/workspaces/acme").status_code == 200

    listing = editor_api.get("/workspaces/acme/tokens").json()
    assert all("token" not in row for row in listing["results"])
    assert {row["owner"] for row in listing["results"]} == {editor.email}  # only their own

    owner_api = ApiClient(make_token(owner, workspace, ["admin"]))
    assert owner_api.get("/workspaces/acme/tokens").json()["count"] == 3  # managers see all
    # The editor cannot revoke the owner's token; the owner can revoke the editor's.
    owner_token = PersonalAccessToken.objects.filter(user=owner).first()
    assert owner_token is not None
    assert_error(editor_api.delete(f"/workspaces/acme/tokens/{owner_token.pk}"), 404)
    assert owner_api.delete(f"/workspaces/acme/tokens/{created['id']}").status_code == 204
    assert_error(ApiClient(created["token"]).get("/workspaces/acme"), 401, "invalid_token")
    error = assert_error(editor_api.post("/workspaces/acme/tokens", {"name": "x", "scopes": ["root"]}), 422)
    assert "scopes.0" in error["fields"]
