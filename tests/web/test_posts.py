"""The post list (filters, scheduled time in the viewer's calendar, the pause switch) and the post
page (per-channel state and results, resolving an unknown outcome, review and schedule buttons,
history), with permissions, other workspaces and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from tests.web.helpers import nav_links, sign_in
from tests.web.test_composer import make_channel

from sokhan.channels.models import Channel
from sokhan.core.calendars import format_datetime, to_jalali
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget, PublishingControl

pytestmark = pytest.mark.django_db
TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def x(workspace: Workspace) -> Channel:
    return make_channel(workspace, "x", "Acme on X", "acme_x")


@pytest.fixture
def mastodon(workspace: Workspace) -> Channel:
    return make_channel(workspace, "mastodon", "Acme Toots", "acme", remote_id="2")


@pytest.fixture
def actor(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.get(user=owner, workspace=workspace)


def create(actor: Membership, channels: list[Channel], text: str, **extra: Any) -> Post:
    targets = [services.TargetInput(channel_id=c.pk, text=text) for c in channels]
    return services.post_create(actor=actor, targets=targets, **extra)


def set_state(post: Post, channel: Channel, state: str, **values: Any) -> PostTarget:
    target = PostTarget.objects.get(post=post, channel=channel)
    target.enter_state(state, active=False)
    for key, value in values.items():
        setattr(target, key, value)
    target.save()
    return target


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>.*?</tr>", body, re.S)


def test_posts_is_in_the_navigation(owner_client: Client) -> None:
    assert "/w/acme/posts/" in nav_links(owner_client.get("/w/acme/").content.decode())


def test_list_shows_each_channels_state_and_the_time_in_the_viewers_calendar(
    owner_client: Client, owner: User, actor: Membership, x: Channel, mastodon: Channel
) -> None:
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    post = create(actor, [x, mastodon], "خبر تازه برای همه", labels=["news"])
    at = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    services.post_schedule(actor=actor, post_id=post.pk, at=at, channel_ids=[x.pk])
    create(actor, [mastodon], "متن دوم", title="Internal title only")
    html = owner_client.get("/w/acme/posts/").content.decode()
    assert 'href="/w/acme/posts/new/"' in html
    first, second = rows(html)
    assert "Internal title only" in first
    assert "خبر تازه برای همه" in second
    assert 'class="state state-scheduled">Scheduled<' in second and 'class="state state-draft">Draft<' in second
    # The viewer reads English with the Jalali calendar, in the workspace's Tehran time.
    expected = format_datetime(at, calendar="jalali", language="en", tz="Asia/Tehran")
    assert expected in second


def test_list_filters(
    owner_client: Client, actor: Membership, workspace: Workspace, make_member: Any, x: Channel, mastodon: Channel
) -> None:
    scheduled = create(actor, [x], "زمان‌دار", labels=["خبر"])
    services.post_schedule(actor=actor, post_id=scheduled.pk, at=timezone.now() + timedelta(days=1))
    create(actor, [mastodon], "ماستودون", labels=["News"])
    editor = make_member(Role.EDITOR)
    create(Membership.objects.get(user=editor), [mastodon], "از ویراستار")

    def shown(**query: Any) -> set[str]:
        html = owner_client.get("/w/acme/posts/", query).content.decode()
        return {t for t in ("زمان‌دار", "ماستودون", "از ویراستار") if any(t in r for r in rows(html))}

    assert shown() == {"زمان‌دار", "ماستودون", "از ویراستار"}
    assert shown(status="scheduled") == {"زمان‌دار"}
    assert shown(channel=mastodon.pk) == {"ماستودون", "از ویراستار"}
    assert shown(label="news") == {"ماستودون"}
    assert shown(label="خبر") == {"زمان‌دار"}
    assert shown(author=editor.pk) == {"از ویراستار"}
    assert shown(status="draft", channel=mastodon.pk, author=editor.pk) == {"از ویراستار"}


def test_post_page_shows_results_in_plain_words(
    owner_client: Client, actor: Membership, x: Channel, mastodon: Channel
) -> None:
    post = create(actor, [x, mastodon], "نتیجه")
    set_state(post, x, S.PUBLISHED, remote_url="https://x.com/acme_x/status/1", published_at=timezone.now())
    set_state(post, mastodon, S.FAILED, error_code="needs_reconnect", last_error="401 Unauthorized")
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert 'href="https://x.com/acme_x/status/1"' in html and "View on the network" in html
    assert "reconnect the channel, then try again" in html and "401 Unauthorized" in html
    assert "Check and resolve" not in html
    assert "created the post" in html  # the history


def test_resolve_an_unknown_outcome(owner_client: Client, actor: Membership, x: Channel, mastodon: Channel) -> None:
    post = create(actor, [x, mastodon], "معلوم نیست")
    on_x = set_state(post, x, S.OUTCOME_UNKNOWN, error_code="interrupted")
    on_mastodon = set_state(post, mastodon, S.OUTCOME_UNKNOWN, error_code="interrupted")
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert html.count("Check and resolve") == 2 and "It was not posted; try again now" in html
    url = f"/w/acme/posts/targets/{on_x.pk}/resolve/"
    response = owner_client.post(url, {f"t{on_x.pk}-outcome": "published", f"t{on_x.pk}-url": "https://x.com/a/1"})
    assert response.status_code == 302 and response["Location"] == f"/w/acme/posts/{post.pk}/"
    on_x.refresh_from_db()
    assert (on_x.state, on_x.remote_url) == (S.RESOLVED, "https://x.com/a/1")
    url = f"/w/acme/posts/targets/{on_mastodon.pk}/resolve/"
    owner_client.post(url, {f"t{on_mastodon.pk}-outcome": "retry"})
    on_mastodon.refresh_from_db()
    assert on_mastodon.state == S.SCHEDULED
    # A choice is required.
    third = create(actor, [x], "سوم")
    target = set_state(third, x, S.OUTCOME_UNKNOWN)
    response = owner_client.post(f"/w/acme/posts/targets/{target.pk}/resolve/", {})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert "resolved an unknown outcome" in html


def test_review_and_schedule_buttons(
    owner_client: Client, actor: Membership, workspace: Workspace, make_member: Any, x: Channel
) -> None:
    post = create(actor, [x], "بازبینی")
    do, review = f"/w/acme/posts/{post.pk}/do/", f"/w/acme/posts/{post.pk}/review"
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert f'action="{review}/submit/"' in html  # review actions come from the review panel only
    assert 'value="submit"' not in html and 'value="approve"' not in html
    assert owner_client.post(f"{review}/submit/").status_code == 302
    assert PostTarget.objects.get().state == S.IN_REVIEW
    owner_client.post(f"{review}/reject/", {"reason": "لحن"})
    assert PostTarget.objects.get().state == S.DRAFT
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert "sent it back to draft" in html and "لحن" in html
    owner_client.post(f"{review}/submit/")
    owner_client.post(f"{review}/approve/")
    assert PostTarget.objects.get().state == S.APPROVED
    owner_client.post(do, {"action": "publish"})
    assert PostTarget.objects.get().state == S.SCHEDULED
    html = owner_client.get(f"/w/acme/posts/{post.pk}/").content.decode()
    assert 'value="unschedule"' in html and "/edit/" not in html
    response = owner_client.post(do, {"action": "unschedule"}, follow=True)
    assert PostTarget.objects.get().state == S.DRAFT and "Taken off the schedule." in response.content.decode()
    # A refused move is explained, not a crash; unknown actions are not actions.
    response = owner_client.post(do, {"action": "unschedule"}, follow=True)
    assert "No channel of this post is in a state that allows this." in response.content.decode()
    assert owner_client.post(do, {"action": "approve"}).status_code == 404
    approver = Client()
    sign_in(approver, make_member(Role.APPROVER).email)
    assert approver.post(do, {"action": "publish"}).status_code == 403
    assert PostTarget.objects.get().state == S.DRAFT


def test_schedule_from_the_post_page_in_the_viewers_calendar(
    owner_client: Client, owner: User, actor: Membership, x: Channel
) -> None:
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    post = create(actor, [x], "بعدا")
    response = owner_client.post(
        f"/w/acme/posts/{post.pk}/do/", {"action": "schedule", "schedule_date": "1300/01/01", "schedule_time": "9:00"}
    )
    assert response.status_code == 400 and "That time has passed" in response.content.decode()
    day = (timezone.now() + timedelta(days=10)).astimezone(TEHRAN).date()
    j = to_jalali(day)
    response = owner_client.post(
        f"/w/acme/posts/{post.pk}/do/",
        {"action": "schedule", "schedule_date": f"{j.year}/{j.month}/{j.day}", "schedule_time": "18:45"},
    )
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.state == S.SCHEDULED and target.scheduled_at is not None
    local = target.scheduled_at.astimezone(TEHRAN)
    assert (local.date(), local.hour, local.minute) == (day, 18, 45)


def test_pause_and_resume_publishing(owner_client: Client, workspace: Workspace, make_member: Any) -> None:
    html = owner_client.get("/w/acme/posts/").content.decode()
    assert "Pause all publishing" in html and "Publishing is paused" not in html
    response = owner_client.post("/w/acme/posts/publishing/pause/", {"reason": "بحران"})
    assert response.status_code == 302
    control = PublishingControl.objects.get(workspace=workspace)
    assert control.paused and control.reason == "بحران"
    html = owner_client.get("/w/acme/posts/").content.decode()
    assert "Publishing is paused in this workspace." in html and "بحران" in html and "Resume publishing" in html
    assert "Publishing is paused in this workspace." in owner_client.get("/w/acme/posts/new/").content.decode()
    viewer = Client()
    sign_in(viewer, make_member(Role.VIEWER).email)
    viewer_html = viewer.get("/w/acme/posts/").content.decode()
    assert "Publishing is paused in this workspace." in viewer_html and "Resume publishing" not in viewer_html
    assert viewer.post("/w/acme/posts/publishing/resume/").status_code == 403
    owner_client.post("/w/acme/posts/publishing/resume/")
    assert not PublishingControl.objects.get(workspace=workspace).paused


def test_csrf_is_required(owner: User, workspace: Workspace) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/w/acme/posts/publishing/pause/", {"reason": "x"}).status_code == 403
    assert not PublishingControl.objects.filter(workspace=workspace, paused=True).exists()


def test_another_workspaces_posts_are_not_found(owner_client: Client, x: Channel) -> None:
    other_owner = User.objects.create_user("other@example.com", "correct horse battery staple")
    other = workspace_create(owner=other_owner, name="Other", slug="other")
    their_channel = make_channel(other, "x", "Theirs", remote_id="9")
    theirs = create(Membership.objects.get(user=other_owner), [their_channel], "آنها")
    target = set_state(theirs, their_channel, S.OUTCOME_UNKNOWN)
    assert owner_client.get(f"/w/acme/posts/{theirs.pk}/").status_code == 404
    assert owner_client.post(f"/w/acme/posts/{theirs.pk}/do/", {"action": "publish"}).status_code == 404
    url = f"/w/acme/posts/targets/{target.pk}/resolve/"
    assert owner_client.post(url, {f"t{target.pk}-outcome": "failed"}).status_code == 404
    assert "آنها" not in owner_client.get("/w/acme/posts/").content.decode()
    target.refresh_from_db()
    assert target.state == S.OUTCOME_UNKNOWN
    # And the other workspace's own address is not ours to use.
    assert owner_client.get("/w/other/posts/").status_code == 404


def test_who_sees_the_posts(workspace: Workspace, make_member: Any) -> None:
    analyst = Client()
    sign_in(analyst, make_member(Role.ANALYST).email)
    assert analyst.get("/w/acme/posts/").status_code == 403
    viewer = Client()
    sign_in(viewer, make_member(Role.VIEWER).email)
    html = viewer.get("/w/acme/posts/").content.decode()
    assert "New post" not in html and "Pause all publishing" not in html
