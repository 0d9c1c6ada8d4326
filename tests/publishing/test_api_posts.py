"""Posts over the API: create with variants, errors per target, review, schedule, list filters,
get, resolve, pause/resume, permissions and other workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.publishing.test_dispatcher_sink import make_channel
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["write"]))


def session(user: User) -> ApiClient:
    client = Client()
    sign_in(client, user.email)
    return ApiClient(client=client)


def create(api: ApiClient, channel: Channel, text: str = "سلام") -> dict[str, Any]:
    response = api.post(
        "/workspaces/acme/posts",
        {"title": "T", "labels": ["news"], "targets": [{"channel_id": channel.pk, "text": text}]},
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_schedule_get_and_list(api: ApiClient, channel: Channel) -> None:
    post = create(api, channel)
    assert post["status"] == "draft" and post["labels"] == ["news"]
    (target,) = post["targets"]
    assert target["state"] == "draft" and target["network"] == "mastodon" and target["remote_url"] == ""
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    response = api.post(f"/workspaces/acme/posts/{post['id']}/schedule", {"at": at.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["targets"][0]["state"] == "scheduled"
    got = api.get(f"/workspaces/acme/posts/{post['id']}").json()
    assert got["status"] == "scheduled" and got["targets"][0]["scheduled_at"].startswith(at.date().isoformat())
    create(api, channel, "دومی")
    assert api.get("/workspaces/acme/posts").json()["count"] == 2
    assert api.get("/workspaces/acme/posts", {"status": "scheduled"}).json()["count"] == 1
    assert api.get("/workspaces/acme/posts", {"channel_id": channel.pk}).json()["count"] == 2
    since = (at - timedelta(hours=1)).isoformat()
    until = (at + timedelta(hours=1)).isoformat()
    assert api.get("/workspaces/acme/posts", {"since": since, "until": until}).json()["count"] == 1
    response = api.post(f"/workspaces/acme/posts/{post['id']}/unschedule", {})
    assert response.json()["targets"][0]["state"] == "draft"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"post.create", "post.schedule", "post.unschedule"} <= actions


def test_invalid_variant_answers_per_target_errors(api: ApiClient, channel: Channel) -> None:
    response = api.post("/workspaces/acme/posts", {"targets": [{"channel_id": channel.pk, "text": "x" * 600}]})
    error = assert_error(response, 400, "invalid_post")
    assert "600 of 500" in error["fields"]["targets.0"]


def test_update_submit_approve(owner: User, workspace: Workspace, channel: Channel, make_member) -> None:  # type: ignore[no-untyped-def]
    contributor = make_member(Role.CONTRIBUTOR)
    capi = session(contributor)
    post = create(capi, channel)
    response = capi.patch(
        f"/workspaces/acme/posts/{post['id']}", {"targets": [{"channel_id": channel.pk, "text": "نو"}]}
    )
    assert response.status_code == 200 and response.json()["targets"][0]["text"] == "نو"
    assert capi.post(f"/workspaces/acme/posts/{post['id']}/submit", {}).json()["status"] == "in_review"
    assert_error(capi.post(f"/workspaces/acme/posts/{post['id']}/approve", {}), 403)
    assert_error(capi.post(f"/workspaces/acme/posts/{post['id']}/schedule", {}), 403)
    oapi = ApiClient(make_token(owner, workspace, ["write"]))
    assert oapi.post(f"/workspaces/acme/posts/{post['id']}/approve", {}).json()["status"] == "approved"


def test_resolve_outcome_unknown(api: ApiClient, channel: Channel) -> None:
    post = create(api, channel)
    target = PostTarget.objects.get(post_id=post["id"])
    assert_error(api.post(f"/workspaces/acme/post-targets/{target.pk}/resolve", {"outcome": "published"}), 409)
    target.enter_state("outcome_unknown", active=False)
    target.save()
    response = api.post(
        f"/workspaces/acme/post-targets/{target.pk}/resolve",
        {"outcome": "published", "url": "https://mastodon.example/@a/1"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "resolved" and body["remote_url"] == "https://mastodon.example/@a/1"
    assert AuditEvent.objects.filter(action="post.resolve").exists()


def test_pause_and_resume(api: ApiClient, owner: User, workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/workspaces/acme/posts/publishing").json()["paused"] is False
    body = api.post("/workspaces/acme/posts/publishing/pause", {"reason": "news"}).json()
    assert body["paused"] is True and body["paused_by"] == owner.email and body["reason"] == "news"
    viewer = make_member(Role.VIEWER)
    assert_error(session(viewer).post("/workspaces/acme/posts/publishing/resume", {}), 403)
    assert api.post("/workspaces/acme/posts/publishing/resume", {}).json()["paused"] is False
    assert AuditEvent.objects.filter(action__in=["publishing.pause", "publishing.resume"]).count() == 2


def test_other_workspace_is_404(api: ApiClient, channel: Channel) -> None:
    post = create(api, channel)
    target = PostTarget.objects.get(post_id=post["id"])
    stranger = User.objects.create_user("s@example.com", "pw-long-enough-123")
    workspace_create(owner=stranger, name="Other", slug="other")
    other = ApiClient(make_token(stranger, Workspace.objects.get(slug="other"), ["write"]))
    assert_error(other.get(f"/workspaces/acme/posts/{post['id']}"), 404)
    assert_error(other.get(f"/workspaces/other/posts/{post['id']}"), 404)
    assert_error(other.post(f"/workspaces/other/post-targets/{target.pk}/resolve", {"outcome": "failed"}), 404)
    assert_error(other.post("/workspaces/other/posts", {"targets": [{"channel_id": channel.pk, "text": "x"}]}), 400)
