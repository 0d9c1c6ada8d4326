"""The analytics pages: render in English and Persian (Jalali labels, Persian digits), CSV
exports, goals through the form, permissions and scoping."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from tests.analytics.helpers import mastodon_channel
from tests.analytics.pagedata import daily, post
from tests.conftest import PASSWORD

from sokhan.analytics import besttime
from sokhan.analytics.models import Goal
from sokhan.analytics.rollups import workspace_zone
from sokhan.channels.models import Channel
from sokhan.core.calendars import month_name, to_jalali
from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.django_db
BASE = "/w/acme/analytics/"


@pytest.fixture
def data(workspace: Workspace) -> tuple[Channel, PostTarget]:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9", display_name="Acme Mastodon")
    today = timezone.now().astimezone(workspace_zone(workspace)).date()
    daily(channel, today - timedelta(days=3), 1200)
    daily(channel, today - timedelta(days=1), 1234)  # two days ago is a gap
    target = post(channel, timezone.now() - timedelta(days=2), text="#قهوه تازه", likes=12, impressions=300)
    return channel, target


def client_for(user: User, language: str = "en") -> Client:
    user.language = language
    user.calendar = "jalali" if language == "fa" else "gregorian"
    user.save()
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_overview_in_english(owner: User, data: tuple[Channel, PostTarget]) -> None:
    response = client_for(owner).get(BASE)
    assert response.status_code == 200
    html = response.content.decode()
    for section in ("comparison", "followers-chart", "top-posts", "best-time", "goals"):
        assert f'id="{section}' in html
    assert "1,234" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert 'id="best-time-thin"' in html  # one post: too little data, no heatmap
    # The gap is null in the chart's data, not 0.
    payload = re.search(r'<script id="followers-chart-data" type="application/json">(.*?)</script>', html)
    assert payload is not None and "null" in payload.group(1)


def test_overview_in_persian(owner: User, workspace: Workspace, data: tuple[Channel, PostTarget]) -> None:
    html = client_for(owner, "fa").get(BASE).content.decode()
    assert 'dir="rtl"' in html
    assert "۱٬۲۳۴" in html
    today = timezone.now().astimezone(workspace_zone(workspace)).date()
    jalali = to_jalali(today - timedelta(days=1))
    label = f"{jalali.day} {month_name(jalali.month, calendar='jalali', language='fa')}"
    payload = re.search(r'<script id="followers-chart-data" type="application/json">(.*?)</script>', html)
    assert payload is not None
    labels = json.loads(payload.group(1))["labels"]
    assert labels[-2] == label.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))  # Jalali, Persian digits


def test_channel_post_content_and_hashtag_pages(owner: User, data: tuple[Channel, PostTarget]) -> None:
    channel, target = data
    client = client_for(owner, "fa")
    for url in (
        f"{BASE}channels/{channel.pk}/",
        f"{BASE}posts/{target.pk}/",
        f"{BASE}content/",
        f"{BASE}hashtags/?days=7",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "data-chart=" in response.content.decode()
    assert "#قهوه" in client.get(f"{BASE}hashtags/").content.decode()


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("?export=channels", "channel,followers,growth,growth_rate"),
        ("?export=comparison", "metric,current,previous,change,change_percent"),
        ("?export=top", "target_id,channel,published_at,kind,engagements"),
        ("?export=besttime", "weekday,hour,posts,engagement_rate"),
        ("?export=goals", "metric,channel,target,deadline,current,projected,state"),
        ("content/?export=groups", "group,posts,engagements"),
        ("hashtags/?export=groups", "group,posts,engagements"),
    ],
)
def test_csv_exports(owner: User, data: tuple[Channel, PostTarget], url: str, header: str) -> None:
    response = client_for(owner, "fa").get(BASE + url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith(header)
    assert not re.search("[۰-۹]", text)  # numbers stay ASCII in CSV


def test_channel_series_csv_keeps_gaps_empty(owner: User, data: tuple[Channel, PostTarget]) -> None:
    channel, _ = data
    text = client_for(owner).get(f"{BASE}channels/{channel.pk}/?days=7&export=series").content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "day,followers,following,posts,reach,impressions,views"
    assert len(lines) == 8
    assert lines[-2].split(",")[1] == "1234"
    assert lines[-3].split(",")[1] == ""  # a gap, not 0


def test_goal_create_edit_delete_with_a_jalali_deadline(owner: User, workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    client = client_for(owner, "fa")
    assert client.get(f"{BASE}goals/new/").status_code == 200
    year = to_jalali(timezone.now().date()).year + 1
    deadline = f"{year}/01/15".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    form = {"metric": "follower_growth", "channel": str(channel.pk), "target": "20", "deadline": deadline}
    response = client.post(f"{BASE}goals/new/", form)
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert (goal.channel_id, goal.target, goal.created_by_id) == (channel.pk, 20.0, owner.pk)
    j = to_jalali(goal.deadline)
    assert (j.year, j.month, j.day) == (year, 1, 15)
    assert "at_risk" in client.get(BASE).content.decode() or "no_data" in client.get(BASE).content.decode()
    edit = client.get(f"{BASE}goals/{goal.pk}/").content.decode()
    assert f"{year}/01/15" in edit  # the viewer's calendar
    client.post(f"{BASE}goals/{goal.pk}/", {**form, "target": "25"})
    goal.refresh_from_db()
    assert goal.target == 25.0
    assert client.post(f"{BASE}goals/{goal.pk}/delete/").status_code == 302
    assert not Goal.objects.exists()


def test_goal_form_refuses_another_workspace_channel(owner: User, workspace: Workspace) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    foreign = mastodon_channel(other, "http://127.0.0.1:9")
    form = {"metric": "followers", "channel": str(foreign.pk), "target": "20", "deadline": "2099-01-01"}
    response = client_for(owner).post(f"{BASE}goals/new/", form)
    assert response.status_code == 200
    assert not Goal.objects.exists()


def test_permissions(make_member, owner: User, data: tuple[Channel, PostTarget]) -> None:  # type: ignore[no-untyped-def]
    viewer = Client()
    viewer.force_login(make_member(Role.VIEWER))
    assert viewer.get(BASE).status_code == 403
    assert viewer.get(f"{BASE}?export=top").status_code == 403
    analyst = Client()
    analyst.force_login(make_member(Role.ANALYST))
    assert analyst.get(BASE).status_code == 200
    assert analyst.get(f"{BASE}goals/new/").status_code == 403
    stranger = User.objects.create_user("stranger@example.com", PASSWORD)
    outsider = Client()
    outsider.force_login(stranger)
    assert outsider.get(BASE).status_code == 404


def test_other_workspace_objects_are_404(owner: User, data: tuple[Channel, PostTarget]) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    foreign = mastodon_channel(other, "http://127.0.0.1:9")
    foreign_post = post(foreign, timezone.now() - timedelta(days=1), likes=1)
    goal = Goal.objects.create(
        workspace=other, metric="followers", target=1, start=timezone.now().date(), deadline=timezone.now().date()
    )
    client = client_for(owner)
    assert client.get(f"{BASE}channels/{foreign.pk}/").status_code == 404
    assert client.get(f"{BASE}posts/{foreign_post.pk}/").status_code == 404
    assert client.get(f"{BASE}goals/{goal.pk}/").status_code == 404
    assert client.post(f"{BASE}goals/{goal.pk}/delete/").status_code == 404


def test_empty_workspace_overview(owner: User, workspace: Workspace) -> None:
    html = client_for(owner, "fa").get(BASE).content.decode()
    assert 'id="best-time-thin"' in html
    assert "followers-chart" not in html


def test_best_time_heatmap_with_enough_posts(owner: User, workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    zone = workspace_zone(workspace)
    now = timezone.now().astimezone(zone).replace(hour=9, minute=30)
    for n in range(besttime.MIN_POSTS):
        post(channel, now - timedelta(days=7 * (n % 4) + 7), likes=5, impressions=100)
    html = client_for(owner).get(BASE).content.decode()
    assert 'class="heatmap"' in html
    assert 'id="best-slots"' in html
    assert "09:00" in html
    # Saturday first for the Persian/Jalali workspace.
    heatmap = html[html.index('class="heatmap"') :]
    days = re.findall(r'<tr><th scope="row">(\w+)</th>', heatmap)
    assert days == ["Saturday", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def test_post_page_shows_snapshots_by_step(owner: User, data: tuple[Channel, PostTarget]) -> None:
    _, target = data
    client = client_for(owner)
    html = client.get(f"{BASE}posts/{target.pk}/").content.decode()
    assert "24 hours" in html and "No snapshot" in html
    assert "4.00" in html  # 12 engagements / 300 impressions
    lines = client.get(f"{BASE}posts/{target.pk}/?export=steps").content.decode("utf-8-sig").splitlines()
    assert lines[0] == "step,likes,comments,shares,saves,clicks,views,reach,impressions"
    assert lines[3] == "24h,12,,,,,,,300"
    assert lines[1] == "1h,,,,,,,,"  # a gap


def test_queue_page_suggests_best_times(owner: User, workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    client = client_for(owner)
    queue = f"/w/acme/queue/?channel={channel.pk}"
    assert 'id="queue-suggested"' not in client.get(queue).content.decode()  # too little data
    zone = workspace_zone(workspace)
    now = timezone.now().astimezone(zone).replace(hour=9, minute=30)
    for n in range(besttime.MIN_POSTS):
        post(channel, now - timedelta(days=7 * (n % 4) + 7), likes=5, impressions=100)
    html = client.get(queue).content.decode()
    assert 'id="queue-suggested"' in html
    assert 'name="time" value="09:00"' in html
    weekday = (now - timedelta(days=7)).weekday()
    response = client.post(
        "/w/acme/queue/", {"channel": channel.pk, "action": "add", "weekday": weekday, "time": "09:00"}
    )
    assert response.status_code == 302
    assert 'id="queue-suggested"' not in client.get(queue).content.decode()  # the slot is in the list now
