"""External sign-off links: a client without an account approves or asks for changes once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.approvals.models import ApprovalLink, Comment, Decision, Mode
from sokhan.approvals.services import StageInput, link_create
from sokhan.core.errors import NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.notifications.models import Notification
from sokhan.publishing import services
from sokhan.publishing.models import Post, PostTarget

from .conftest import member, set_mode, set_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def english(workspace: Workspace) -> None:
    """The public page speaks the workspace's language; these tests read its English text."""
    workspace.language = "en"
    workspace.save(update_fields=["language"])


def token_of(url: str) -> str:
    match = re.search(r"/approve/([\w-]+)/$", url)
    assert match, url
    return match.group(1)


def submitted(owner_m: Membership, make_post: Callable[..., Post], mode: str = Mode.SINGLE) -> Post:
    if mode != Mode.STAGES:
        set_mode(owner_m, mode)
    post = make_post(owner_m.user, text="متن برای مشتری")
    services.post_submit(actor=owner_m, post_id=post.pk)
    return post


def new_link(owner_m: Membership, post: Post) -> str:
    from sokhan.approvals.services import link_url

    _link, raw = link_create(actor=owner_m, post_id=post.pk)
    return link_url(raw)


def test_client_approves_without_an_account_and_the_link_is_single_use(
    owner_m: Membership, make_post: Callable[..., Post]
) -> None:
    post = submitted(owner_m, make_post)
    path = "/approve/" + token_of(new_link(owner_m, post)) + "/"
    client = Client()  # not signed in
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "متن برای مشتری" in html and 'dir="auto"' in html and "Acme Coffee" in html
    assert '<html lang="fa" dir="rtl">' in html  # the workspace's language, for a visitor
    assert "Sink" in html  # the channel's name, and nothing else of the workspace
    response = client.post(path, {"decision": "approve", "client_name": "Mina Client"})
    assert response.status_code == 200 and "Mina Client" in response.content.decode()
    assert PostTarget.objects.get(post=post).state == "approved"
    decision = Decision.objects.get(review__post=post)
    assert decision.external_name == "Mina Client" and decision.user is None and decision.link is not None
    event = AuditEvent.objects.get(action="approval.external_approve")
    assert event.data["client_name"] == "Mina Client" and event.data["link"] == decision.link.pk
    assert AuditEvent.objects.filter(action="approval.link_create").exists()
    # Used: shows the decision, refuses another one.
    again = client.get(path)
    assert again.status_code == 410 and "Mina Client" in again.content.decode()
    assert client.post(path, {"decision": "request_changes", "client_name": "X", "comment": "no"}).status_code == 410
    assert PostTarget.objects.get(post=post).state == "approved"
    assert "review.approved" in set(Notification.objects.filter(user=owner_m.user).values_list("kind", flat=True))
    # The post's history names the client, not "the system".
    team = Client()
    team.force_login(owner_m.user)
    history = (
        team.get(f"/w/{owner_m.workspace.slug}/posts/{post.pk}/")
        .content.decode()
        .split('class="events post-history"')[1]
    )
    assert "Mina Client" in history and "system" not in history


def test_client_requests_changes_with_a_comment(
    owner_m: Membership, english: None, make_post: Callable[..., Post]
) -> None:
    post = submitted(owner_m, make_post)
    path = "/approve/" + token_of(new_link(owner_m, post)) + "/"
    client = Client()
    missing = client.post(path, {"decision": "request_changes", "client_name": "Mina"})
    assert missing.status_code == 400 and "Say what should change" in missing.content.decode()
    nameless = client.post(path, {"decision": "approve", "client_name": " "})
    assert nameless.status_code == 400 and "Enter your name" in nameless.content.decode()
    assert PostTarget.objects.get(post=post).state == "in_review"
    client.post(path, {"decision": "request_changes", "client_name": "Mina", "comment": "رنگ را عوض کنید"})
    assert PostTarget.objects.get(post=post).state == "draft"
    assert Comment.objects.get(post=post).external_name == "Mina"
    assert AuditEvent.objects.get(action="approval.external_request_changes").data["client_name"] == "Mina"


def test_expired_revoked_and_tampered_links(owner_m: Membership, english: None, make_post: Callable[..., Post]) -> None:
    post = submitted(owner_m, make_post)
    token = token_of(new_link(owner_m, post))
    client = Client()
    tampered = client.get(f"/approve/{token[:-2]}xx/")
    assert tampered.status_code == 404 and "not valid" in tampered.content.decode()
    ApprovalLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(f"/approve/{token}/")
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert client.post(f"/approve/{token}/", {"decision": "approve", "client_name": "M"}).status_code == 410
    assert PostTarget.objects.get(post=post).state == "in_review"

    other = token_of(new_link(owner_m, post))
    from sokhan.approvals.services import link_revoke

    link_revoke(actor=owner_m, link_id=ApprovalLink.objects.order_by("-pk").first().pk)  # type: ignore[union-attr]
    assert client.get(f"/approve/{other}/").status_code == 410
    assert AuditEvent.objects.filter(action="approval.link_revoke").exists()


def test_link_is_for_one_stage(
    owner_m: Membership, english: None, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    first = make_member(Role.APPROVER, "first@example.com")
    set_stages(owner_m, StageInput("Team", approver_ids=[first.pk]), StageInput("Client", min_role=Role.OWNER))
    post = submitted(owner_m, make_post, Mode.STAGES)
    stage_one = token_of(new_link(owner_m, post))
    services.post_approve(actor=member(first, workspace), post_id=post.pk)  # stage 1 done inside the team
    gone = Client().get(f"/approve/{stage_one}/")
    assert gone.status_code == 410 and "no longer waiting" in gone.content.decode()
    stage_two = token_of(new_link(owner_m, post))
    page = Client().get(f"/approve/{stage_two}/")
    assert page.status_code == 200 and "Client" in page.content.decode()
    Client().post(f"/approve/{stage_two}/", {"decision": "approve", "client_name": "Boss"})
    assert PostTarget.objects.get(post=post).state == "approved"


def test_a_link_touches_only_its_own_workspace(
    owner_m: Membership, english: None, make_post: Callable[..., Post], make_member: Any
) -> None:
    post_a = submitted(owner_m, make_post)
    b_owner = User.objects.create_user("b@example.com", "correct horse battery staple")
    b = workspace_create(owner=b_owner, name="Beta", slug="beta")
    b_m = member(b_owner, b)
    set_mode(b_m, Mode.SINGLE)
    channel_b = make_channel(b, "http://127.0.0.1:9")
    post_b = services.post_create(actor=b_m, targets=[services.TargetInput(channel_id=channel_b.pk, text="B")])
    services.post_submit(actor=b_m, post_id=post_b.pk)
    with pytest.raises(NotFound):
        link_create(actor=owner_m, post_id=post_b.pk)  # A's member, B's post
    token = token_of(new_link(owner_m, post_a))
    page = Client().get(f"/approve/{token}/")
    assert "Beta" not in page.content.decode()
    Client().post(f"/approve/{token}/", {"decision": "approve", "client_name": "Mina"})
    assert PostTarget.objects.get(post=post_a).state == "approved"
    assert PostTarget.objects.get(post=post_b).state == "in_review"


def test_only_approvers_and_publishers_create_links(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    post = submitted(owner_m, make_post)
    with pytest.raises(NotAllowed):
        link_create(actor=member(make_member(Role.CONTRIBUTOR), workspace), post_id=post.pk)
    link_create(actor=member(make_member(Role.EDITOR), workspace), post_id=post.pk)  # may publish


def test_decisions_are_csrf_protected(owner_m: Membership, make_post: Callable[..., Post]) -> None:
    post = submitted(owner_m, make_post)
    path = "/approve/" + token_of(new_link(owner_m, post)) + "/"
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, {"decision": "approve", "client_name": "M"}).status_code == 403
    page = client.get(path)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf
    ok = client.post(path, {"decision": "approve", "client_name": "M", "csrfmiddlewaretoken": csrf.group(1)})
    assert ok.status_code == 200
    assert PostTarget.objects.get(post=post).state == "approved"
