"""Notifications: rows and email in the recipient's language, the opt-out, the page with
mark-read, the header badge, and publishing problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import resolve
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from tests.publishing.test_dispatcher_sink import make_channel
from tests.web.helpers import sign_in

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.notifications.context import notifications as badge_context
from sokhan.notifications.models import Notification
from sokhan.notifications.services import notify, notify_publish_problem, set_email_enabled
from sokhan.publishing import services
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_notify_writes_rows_and_emails_in_each_language(
    workspace: Workspace, owner: User, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    english = make_member(Role.EDITOR, "en@example.com")
    english.language = "en"
    english.save()
    persian = make_member(Role.EDITOR, "fa@example.com")  # no own language: the workspace's (Persian)
    outsider = User.objects.create_user("out@example.com", "correct horse battery staple")
    seen: dict[str, str] = {}

    def title() -> str:
        seen[get_language()] = "x"
        return _("Approved")

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(
            [english, persian, persian, outsider, owner],
            workspace=workspace,
            kind="test.kind",
            title=title,
            body="متن",
            url="/w/acme/",
            exclude=[owner],
        )
    assert {r.user for r in rows} == {english, persian}  # once each; not outsiders nor the actor
    assert set(seen) == {"en", "fa"}
    assert sorted(m.to[0] for m in mail.outbox) == ["en@example.com", "fa@example.com"]
    message = next(m for m in mail.outbox if m.to == ["en@example.com"])
    assert message.subject == "[Acme Coffee] Approved" and "متن" in message.body and "/w/acme/" in message.body


def test_email_opt_out_keeps_the_in_app_row(
    workspace: Workspace, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = make_member(Role.EDITOR)
    set_email_enabled(user, False)
    with django_capture_on_commit_callbacks(execute=True):
        notify([user], workspace=workspace, kind="k", title="T")
    assert mail.outbox == [] and Notification.objects.filter(user=user).count() == 1


def test_page_mark_read_and_mark_all(workspace: Workspace, owner: User, make_member: Any) -> None:
    other = make_member(Role.EDITOR)
    notify([owner], workspace=workspace, kind="k", title="First", url="/w/acme/approvals/", email=False)
    notify([owner], workspace=workspace, kind="k", title="Second", email=False)
    notify([other], workspace=workspace, kind="k", title="Not yours", email=False)
    client = Client()
    sign_in(client, owner.email)
    page = client.get("/w/acme/notifications/")
    html = page.content.decode()
    assert "First" in html and "Second" in html and "Not yours" not in html and "2 unread" in html
    first = Notification.objects.get(title="First")
    opened = client.post(f"/w/acme/notifications/{first.pk}/read/", {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/w/acme/approvals/"
    first.refresh_from_db()
    assert first.read_at is not None
    theirs = Notification.objects.get(title="Not yours")
    assert client.post(f"/w/acme/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/w/acme/notifications/read-all/")
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    assert Notification.objects.get(title="Not yours").read_at is None
    assert "0 unread" in client.get("/w/acme/notifications/").content.decode()
    client.post("/w/acme/notifications/email/", {})
    assert owner.notification_preference.email is False  # type: ignore[attr-defined]


def test_header_badge_counts_unread(workspace: Workspace, owner: User) -> None:
    notify([owner], workspace=workspace, kind="k", title="One", email=False)
    notify([owner], workspace=workspace, kind="k", title="Two", email=False)
    request = RequestFactory().get("/w/acme/")
    request.user = owner
    request.resolver_match = resolve("/w/acme/")
    context = badge_context(request)
    html = render_to_string("notifications/_badge.html", context)
    assert 'href="/w/acme/notifications/"' in html and ">2</span>" in html
    Notification.objects.update(read_at="2026-01-01T00:00:00Z")
    assert "</span>" not in render_to_string("notifications/_badge.html", badge_context(request))
    outside = RequestFactory().get("/account/")
    outside.user = owner
    outside.resolver_match = resolve("/account/")
    assert badge_context(outside) == {}


def test_publish_problem_tells_the_author_and_publishers(
    workspace: Workspace, owner: User, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    author = make_member(Role.CONTRIBUTOR)
    editor = make_member(Role.EDITOR)
    viewer = make_member(Role.VIEWER)
    channel = make_channel(workspace, "http://127.0.0.1:9")
    actor = Membership.objects.get(user=author, workspace=workspace)
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="x")])
    target = PostTarget.objects.select_related("post", "channel").get(post=post)
    target.enter_state("failed", active=False)
    target.last_error = "The network said no"
    target.save()
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify_publish_problem(target)
    assert {r.user for r in rows} == {author, editor, owner} and viewer not in {r.user for r in rows}
    assert all(r.kind == "publish.failed" and r.url == f"/w/acme/posts/{post.pk}/review/" for r in rows)
    assert all("The network said no" in r.body for r in rows)
    assert len(mail.outbox) == 3
    target.enter_state("outcome_unknown", active=False)
    target.save()
    assert {r.kind for r in notify_publish_problem(target)} == {"publish.unknown"}
