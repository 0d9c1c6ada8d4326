"""Who may call the API: tokens bound to one user and one workspace, or the browser session."""

from __future__ import annotations

from datetime import timedelta

from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.test import Client
from django.utils import timezone
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.conftest import PASSWORD

from sokhan.core.models import PersonalAccessToken, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create


def test_no_credentials_is_401(workspace: Workspace) -> None:
    response = ApiClient().get("/workspaces/acme")
    error = assert_error(response, 401, "not_authenticated")
    assert "Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(workspace: Workspace) -> None:
    assert_error(ApiClient("skn_not-a-real-token").get("/me"), 401, "invalid_token")
    assert_error(ApiClient("nonsense").get("/me"), 401, "invalid_token")


def test_non_bearer_scheme_is_401_even_with_a_session(owner: User, workspace: Workspace) -> None:
    client = Client()
    client.force_login(owner)
    api = ApiClient(client=client)
    assert api.get("/me").status_code == 200
    response = api.client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_error(response, 401, "invalid_token")


def test_revoked_and_expired_tokens_are_401(owner: User, workspace: Workspace) -> None:
    raw = make_token(owner, workspace, ["read"])
    api = ApiClient(raw)
    assert api.get("/me").status_code == 200
    PersonalAccessToken.objects.filter(user=owner).update(revoked_at=timezone.now())
    assert_error(api.get("/me"), 401, "invalid_token")

    expiring = make_token(owner, workspace, ["read"], expires_in_days=1)
    PersonalAccessToken.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(ApiClient(expiring).get("/workspaces/acme"), 401, "invalid_token")


def test_token_of_removed_member_stops_working(owner: User, workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    raw = make_token(editor, workspace, ["read"])
    assert ApiClient(raw).get("/workspaces/acme").status_code == 200
    member_id = workspace.memberships.get(user=editor).pk
    assert (
        ApiClient(make_token(owner, workspace, ["admin"])).delete(f"/workspaces/acme/members/{member_id}").status_code
        == 204
    )
    assert_error(ApiClient(raw).get("/workspaces/acme"), 401, "invalid_token")


def test_token_is_bound_to_its_workspace(owner: User, workspace: Workspace) -> None:
    """The owner of both workspaces still gets 404 on the other one with this token."""
    other = workspace_create(owner=owner, name="Other", slug="other")
    api = ApiClient(make_token(owner, workspace, ["admin"]))
    assert api.get("/workspaces/acme").json()["slug"] == "acme"
    assert_error(api.get("/workspaces/other"), 404, "not_found")
    assert_error(api.get("/workspaces/other/members"), 404, "not_found")
    assert_error(api.patch("/workspaces/other", {"name": "Hijacked"}), 404, "not_found")
    other.refresh_from_db()
    assert other.name == "Other"
    # ... and lists only its own workspace.
    assert [w["slug"] for w in api.get("/workspaces").json()["results"]] == ["acme"]


def test_me_reports_the_token(owner: User, workspace: Workspace) -> None:
    body = ApiClient(make_token(owner, workspace, ["read", "write"])).get("/me").json()
    assert body["email"] == "owner@example.com"
    assert body["auth"] == "token"
    assert body["token"]["workspace"] == "acme"
    assert body["token"]["scopes"] == ["read", "write"]


def test_session_reads_and_lists_all_own_workspaces(owner: User, workspace: Workspace) -> None:
    workspace_create(owner=owner, name="Beta", slug="beta")
    client = Client()
    client.force_login(owner)
    api = ApiClient(client=client)
    assert api.get("/me").json()["auth"] == "session"
    body = api.get("/workspaces").json()
    assert body["count"] == 2
    assert [w["slug"] for w in body["results"]] == ["acme", "beta"]
    assert {w["role"] for w in body["results"]} == {"owner"}


def _csrf_client(user: User) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=user.email, password=PASSWORD)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return client, _mask_cipher_secret(secret)


def test_session_writes_need_csrf(owner: User, workspace: Workspace) -> None:
    client, csrf = _csrf_client(owner)
    api = ApiClient(client=client)
    assert api.get("/workspaces/acme").status_code == 200  # safe methods need no token
    assert_error(api.patch("/workspaces/acme", {"name": "No CSRF"}), 403, "csrf_failed")
    workspace.refresh_from_db()
    assert workspace.name == "Acme Coffee"
    response = api.patch("/workspaces/acme", {"name": "With CSRF"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "With CSRF"


def test_token_requests_need_no_csrf(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["admin"]), client=Client(enforce_csrf_checks=True))
    assert api.patch("/workspaces/acme", {"name": "Via token"}).status_code == 200


def test_create_workspace_by_session_only(owner: User, workspace: Workspace) -> None:
    assert_error(ApiClient(make_token(owner, workspace, ["admin"])).post("/workspaces", {"name": "X"}), 401)
    client = Client()
    client.force_login(owner)
    response = ApiClient(client=client).post("/workspaces", {"name": "Nan-e Barbari", "calendar": "gregorian"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "nan-e-barbari"
    assert body["role"] == "owner"
    assert body["calendar"] == "gregorian"
    conflict = ApiClient(client=client).post("/workspaces", {"name": "Again", "slug": "acme"})
    assert assert_error(conflict, 409, "conflict")["fields"] == {"slug": "taken"}
