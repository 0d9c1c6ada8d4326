"""The approval pages: the review page with its panel, the actions it posts, the settings page,
the overview with active links, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from tests.web.helpers import nav_links, sign_in

from sokhan.approvals.models import ApprovalLink, Mode, Review, ReviewStatus, Workflow
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.notifications.models import Notification
from sokhan.publishing import services
from sokhan.publishing.models import Post, PostTarget

from .conftest import member, set_mode

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    sign_in(client, user.email)
    return client


def test_review_page_walks_a_post_through_review(
    owner_client: Client, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.CONTRIBUTOR)
    post = make_post(author, text="پست تازه")
    page_url = f"/w/acme/posts/{post.pk}/review/"
    writer = signed_in(author)
    html = writer.get(page_url).content.decode()
    assert "پست تازه" in html and "Not submitted for review" in html and "Submit for review" in html
    writer.post(f"{page_url}submit/")
    assert PostTarget.objects.get(post=post).state == "in_review"
    html = writer.get(page_url).content.decode()
    assert "waiting for approval" in html and f'action="{page_url}approve/"' not in html  # not an approver

    html = owner_client.get(page_url).content.decode()
    assert f'action="{page_url}approve/"' in html and "Request changes" in html
    assert "Create a sign-off link for a client" in html
    response = owner_client.post(f"{page_url}links/", {"next": page_url}, follow=True)
    link = re.search(r'<code id="approval-link-\d+" dir="ltr">([^<]+)</code>', response.content.decode())
    assert link and "/approve/" in link.group(1)
    assert "Active sign-off links" in response.content.decode()
    assert link.group(1) not in owner_client.get(page_url).content.decode()  # shown once

    rejected = owner_client.post(f"{page_url}reject/", {"reason": ""}, follow=True)
    assert "Give a reason" in rejected.content.decode()
    owner_client.post(f"{page_url}approve/")
    assert PostTarget.objects.get(post=post).state == "approved"
    html = owner_client.get(page_url).content.decode()
    assert "Approved by" in html and "Owner" in html
    assert Review.objects.get(post=post).status == ReviewStatus.APPROVED


def test_request_changes_and_comments_from_the_page(
    owner_client: Client, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.EDITOR)
    author.full_name = "Sara Ahmadi"
    author.save()
    post = make_post(author)
    services.post_submit(actor=member(author, workspace), post_id=post.pk)
    page_url = f"/w/acme/posts/{post.pk}/review/"
    owner_client.post(f"{page_url}request-changes/", {"comment": ""})
    assert PostTarget.objects.get(post=post).state == "in_review"  # a comment is required
    owner_client.post(f"{page_url}request-changes/", {"comment": "Add the price"})
    assert PostTarget.objects.get(post=post).state == "draft"
    owner_client.post(f"{page_url}comments/", {"body": "@Sara Ahmadi see above"})
    mention = Notification.objects.get(user=author, kind="comment.mention")
    assert mention.url == f"{page_url}#comment-{post.review_comments.last().pk}"  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="post.comment", data__mentions=[author.email]).exists()
    html = owner_client.get(page_url).content.decode()
    assert "Add the price" in html and "@Sara Ahmadi see above" in html and "Changes requested" in html


def test_viewer_may_comment_but_not_decide(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user)
    services.post_submit(actor=owner_m, post_id=post.pk)
    viewer = signed_in(make_member(Role.VIEWER))
    page_url = f"/w/acme/posts/{post.pk}/review/"
    html = viewer.get(page_url).content.decode()
    assert "Request changes" not in html and "Add a comment" in html
    assert viewer.post(f"{page_url}approve/").status_code == 403
    assert viewer.post(f"{page_url}request-changes/", {"comment": "x"}).status_code == 403
    assert viewer.post(f"{page_url}reject/", {"reason": "x"}).status_code == 403
    assert viewer.post(f"{page_url}links/").status_code == 302  # refused by the service, with a message
    assert not ApprovalLink.objects.exists()
    assert viewer.post(f"{page_url}comments/", {"body": "Nice"}).status_code == 302
    assert PostTarget.objects.get(post=post).state == "in_review"
    assert viewer.get(f"/w/acme/posts/{post.pk + 100}/review/").status_code == 404


def test_settings_page(owner_client: Client, workspace: Workspace, make_member: Any) -> None:
    approver = make_member(Role.APPROVER)
    editor = make_member(Role.EDITOR)
    page = owner_client.get("/w/acme/approvals/settings/")
    assert page.status_code == 200 and "Ordered stages" in page.content.decode()
    bad = owner_client.post("/w/acme/approvals/settings/", {"mode": "stages", "link_days": "7", "stage_count": "1"})
    assert bad.status_code == 400 and "Add at least one stage" in bad.content.decode()
    response = owner_client.post(
        "/w/acme/approvals/settings/",
        {
            "mode": "stages",
            "link_days": "5",
            "stage_count": "3",
            "stage-0-name": "Client",
            "stage-0-order": "2",
            "stage-0-approvers": [str(approver.pk)],
            "stage-1-name": "Team lead",
            "stage-1-order": "1",
            "stage-1-min_role": "manager",
            "stage-2-name": "",
        },
    )
    assert response.status_code == 302
    workflow = Workflow.objects.get(workspace=workspace)
    assert workflow.mode == "stages" and workflow.link_days == 5
    assert [(s.name, s.min_role) for s in workflow.stages.all()] == [("Team lead", "manager"), ("Client", "")]
    assert list(workflow.stages.get(name="Client").approvers.all()) == [approver]
    assert AuditEvent.objects.filter(action="approval.settings").count() == 1
    html = owner_client.get("/w/acme/approvals/settings/").content.decode()
    assert 'value="Team lead"' in html and 'value="Client"' in html
    assert signed_in(editor).get("/w/acme/approvals/settings/").status_code == 403


def test_overview_lists_waiting_posts_and_links(
    owner_client: Client, owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    from sokhan.approvals.services import link_create

    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user, title="Nowruz sale")
    services.post_submit(actor=owner_m, post_id=post.pk)
    link, _raw = link_create(actor=owner_m, post_id=post.pk)
    page = owner_client.get("/w/acme/approvals/")
    html = page.content.decode()
    assert "Nowruz sale" in html and "your turn" in html and f"/approvals/links/{link.pk}/revoke/" in html
    assert "/w/acme/approvals/" in nav_links(html)
    owner_client.post(f"/w/acme/approvals/links/{link.pk}/revoke/")
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert f"/approvals/links/{link.pk}/revoke/" not in owner_client.get("/w/acme/approvals/").content.decode()
    contributor = signed_in(make_member(Role.CONTRIBUTOR))
    assert contributor.post(f"/w/acme/approvals/links/{link.pk}/revoke/").status_code == 302  # refused, message


def test_panel_tag_renders_for_another_page(
    owner: User, owner_m: Membership, workspace: Workspace, make_post: Callable[..., Post]
) -> None:
    post = make_post(owner)
    request = RequestFactory().get("/w/acme/posts/1/")
    request.user = owner
    html = Template("{% load approvals %}{% approval_panel post membership %}").render(
        Context({"post": post, "membership": owner_m, "request": request, "csrf_token": "t"})
    )
    assert 'id="review"' in html and 'name="next" value="/w/acme/posts/1/"' in html
