"""The queue page: a channel's weekly posting times (add, remove) and its upcoming queue."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.publishing import services
from sokhan.publishing.models import PostingSlot
from sokhan.publishing.queue import next_free_slot, post_queue

from .helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


def slots(channel: Channel) -> list[tuple[int, str]]:
    return [(s.weekday, s.time.strftime("%H:%M")) for s in PostingSlot.objects.filter(channel=channel)]


def test_add_and_remove_posting_times(owner_client: Client, channel: Channel) -> None:
    url = "/w/acme/queue/"
    response = owner_client.post(url, {"channel": channel.pk, "action": "add", "weekday": "0", "time": "09:30"})
    assert response.status_code == 302 and response["Location"] == f"{url}?channel={channel.pk}"
    owner_client.post(url, {"channel": channel.pk, "action": "add", "weekday": "5", "time": "18:00"})
    assert slots(channel) == [(0, "09:30"), (5, "18:00")]
    page = owner_client.get(response["Location"]).content.decode()
    assert "Added Saturday 18:00." in page
    assert '<time datetime="09:30">09:30</time>' in page
    audit = AuditEvent.objects.filter(action="channel.slots").order_by("-pk").first()
    assert audit is not None and audit.data["slots"] == ["0 09:30", "5 18:00"]

    removed = owner_client.post(url, {"channel": channel.pk, "action": "remove", "weekday": "0", "time": "09:30"})
    assert removed.status_code == 302
    assert slots(channel) == [(5, "18:00")]


def test_bad_and_duplicate_times_are_refused(owner_client: Client, channel: Channel) -> None:
    url = "/w/acme/queue/"
    owner_client.post(url, {"channel": channel.pk, "action": "add", "weekday": "2", "time": "10:00"})
    bad = owner_client.post(url, {"channel": channel.pk, "action": "add", "weekday": "2", "time": "25:00"})
    assert bad.status_code == 400 and "Time is HH:MM" in bad.content.decode()
    twice = owner_client.post(url, {"channel": channel.pk, "action": "add", "weekday": "2", "time": "10:00"})
    assert twice.status_code == 400 and "already in the list" in twice.content.decode()
    assert slots(channel) == [(2, "10:00")]


def test_persian_grid_starts_on_saturday_and_accepts_persian_digits(
    owner: User, workspace: Workspace, channel: Channel
) -> None:
    client = Client()
    sign_in(client, owner.email, language="fa")
    response = client.post(
        "/w/acme/queue/",
        {"channel": channel.pk, "action": "add", "weekday": "4", "time": "۰۸:۱۵"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the HTMX fragment
    assert slots(channel) == [(4, "08:15")]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html)
    assert headers[:7] == ["شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه"]
    assert "۰۸:۱۵" in html


def test_upcoming_queue_shows_queued_posts_and_the_next_free_time(
    owner_client: Client, owner: User, workspace: Workspace, channel: Channel
) -> None:
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    for weekday in range(7):
        PostingSlot.objects.create(workspace=workspace, channel=channel, weekday=weekday, time=time(10, 0))
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="In the queue")])
    post_queue(actor=actor, post_id=post.pk)
    html = owner_client.get(f"/w/acme/queue/?channel={channel.pk}").content.decode()
    rows = re.findall(r"<tr>\s*<td class=\"nowrap\">(.*?)</tr>", html, re.S)
    assert len(rows) == 14
    assert "In the queue" in rows[0] and "Scheduled" in rows[0]
    assert all("Free" in row for row in rows[1:])
    expected = next_free_slot(channel, after=timezone.now(), tz=workspace.timezone)
    assert f'Next free posting time: <time datetime="{expected.isoformat()}"' in html
    assert f'href="/w/acme/posts/{post.pk}/"' in html


def test_viewers_read_but_cannot_edit_and_channels_are_scoped(
    owner_client: Client, channel: Channel, make_member: Any
) -> None:
    PostingSlot.objects.create(workspace=channel.workspace, channel=channel, weekday=1, time=time(12, 0))
    make_member(Role.VIEWER, "viewer@example.com")
    viewer = Client()
    sign_in(viewer, "viewer@example.com")
    page = viewer.get("/w/acme/queue/")
    assert '<time datetime="12:00">12:00</time>' in page.content.decode()
    assert page.status_code == 200 and 'value="add"' not in page.content.decode()
    assert 'value="remove"' not in page.content.decode()
    forbidden = viewer.post("/w/acme/queue/", {"channel": channel.pk, "action": "add", "weekday": "1", "time": "09:00"})
    assert forbidden.status_code == 403
    assert slots(channel) == [(1, "12:00")]

    other_owner = User.objects.create_user("other@example.com", "correct horse battery staple")
    other_ws = workspace_create(owner=other_owner, name="Other", slug="other")
    foreign = make_channel(other_ws, "http://127.0.0.1:9")
    assert owner_client.get(f"/w/acme/queue/?channel={foreign.pk}").status_code == 404
    response = owner_client.post(
        "/w/acme/queue/", {"channel": foreign.pk, "action": "add", "weekday": "1", "time": "09:00"}
    )
    assert response.status_code == 404 and slots(foreign) == []
