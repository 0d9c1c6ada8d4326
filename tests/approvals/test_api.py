"""The review over the API: state, approve, request changes, comments, sign-off links,
scheduling refused until approved, permissions and other workspaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.web.helpers import sign_in

from sokhan.approvals.models import Mode
from sokhan.approvals.services import StageInput
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.notifications.models import Notification
from sokhan.publishing.models import Post

from .conftest import set_mode, set_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["write"]))


def token_api(user: User, workspace: Workspace, scopes: list[str] | None = None) -> ApiClient:
    return ApiClient(make_token(user, workspace, scopes or ["write"]))


def session_api(user: User) -> ApiClient:
    """Approvers, contributors and viewers have no API tokens: they use their browser session."""
    client = Client()
    sign_in(client, user.email)
    return ApiClient(client=client)


def test_review_flow_over_the_api(
    api: ApiClient, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    legal = make_member(Role.APPROVER, "legal@example.com")
    set_stages(owner_m, StageInput("Legal", approver_ids=[legal.pk]), StageInput("Boss", min_role=Role.OWNER))
    post = make_post(owner_m.user)
    base = f"/workspaces/acme/posts/{post.pk}"
    state = api.get(f"{base}/review").json()
    assert state["status"] == "none" and state["mode"] == "stages" and len(state["stages"]) == 2

    schedule = api.post(f"{base}/schedule", {})
    assert_error(schedule, 409, "approval_required")
    assert api.post(f"{base}/submit", {}).json()["status"] == "in_review"
    state = api.get(f"{base}/review").json()
    assert state["status"] == "open" and state["current_stage"] == 1 and state["can_decide"] is False
    assert state["stages"][0] == {"index": 1, "name": "Legal", "state": "current", "approvers": ["legal@example.com"]}
    assert_error(api.post(f"{base}/approve", {}), 403)  # the owner is not Legal

    lapi = session_api(legal)
    assert lapi.get(f"{base}/review").json()["can_decide"] is True
    assert lapi.post(f"{base}/approve", {}).json()["status"] == "in_review"
    state = api.get(f"{base}/review").json()
    assert state["current_stage"] == 2 and state["can_decide"] is True
    assert [(d["stage"], d["kind"], d["by"]) for d in state["decisions"]] == [(1, "approve", "legal@example.com")]
    assert api.post(f"{base}/approve", {}).json()["status"] == "approved"
    assert api.get(f"{base}/review").json()["status"] == "approved"
    assert api.post(f"{base}/schedule", {}).json()["status"] == "scheduled"


def test_request_changes_and_comments_over_the_api(
    api: ApiClient, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.CONTRIBUTOR)
    post = make_post(author)
    base = f"/workspaces/acme/posts/{post.pk}"
    aapi = session_api(author)
    aapi.post(f"{base}/submit", {})
    assert_error(api.post(f"{base}/request-changes", {"comment": ""}), 400)
    body = api.post(f"{base}/request-changes", {"comment": "Shorter, please"}).json()
    assert body["status"] == "changes_requested" and body["targets"][0]["state"] == "draft"
    assert Notification.objects.filter(user=author, kind="review.changes").exists()

    response = aapi.post(f"{base}/comments", {"body": "Done — @owner@example.com please look"})
    assert response.status_code == 201, response.content
    assert response.json()["by"] == "contributor@example.com"
    assert Notification.objects.filter(user=owner_m.user, kind="comment.mention").exists()
    comments = api.get(f"{base}/comments").json()
    assert [c["body"] for c in comments] == ["Shorter, please", "Done — @owner@example.com please look"]


def test_links_over_the_api(api: ApiClient, owner_m: Membership, make_post: Callable[..., Post]) -> None:
    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user)
    base = f"/workspaces/acme/posts/{post.pk}"
    assert_error(api.post(f"{base}/approval-links", {}), 409, "not_in_review")
    api.post(f"{base}/submit", {})
    created = api.post(f"{base}/approval-links", {"days": 2})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["stage"] == 1 and "/approve/" in body["url"]
    path = body["url"].split("://", 1)[1].split("/", 1)[1]
    page = Client().get("/" + path)
    assert page.status_code == 200
    assert_error(api.post(f"{base}/approval-links", {"days": 400}), 400)


def test_permissions_and_other_workspaces(
    api: ApiClient, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user)
    base = f"/workspaces/acme/posts/{post.pk}"
    api.post(f"{base}/submit", {})
    viewer = session_api(make_member(Role.VIEWER))
    assert viewer.get(f"{base}/review").status_code == 200
    assert_error(viewer.post(f"{base}/approve", {}), 403)
    assert_error(viewer.post(f"{base}/request-changes", {"comment": "x"}), 403)
    assert_error(viewer.post(f"{base}/approval-links", {}), 403)
    assert viewer.post(f"{base}/comments", {"body": "Looks good"}).status_code == 201  # viewers may comment
    assert_error(token_api(owner_m.user, workspace, ["read"]).post(f"{base}/comments", {"body": "x"}), 403)

    stranger = User.objects.create_user("b@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Beta", slug="beta")
    bapi = ApiClient(make_token(stranger, workspace_create(owner=stranger, name="Gamma", slug="gamma"), ["write"]))
    assert_error(bapi.get(f"{base}/review"), 404)
    assert_error(bapi.post(f"/workspaces/gamma/posts/{post.pk}/approval-links", {}), 404)
    assert_error(bapi.get(f"/workspaces/gamma/posts/{post.pk}/comments"), 404)
