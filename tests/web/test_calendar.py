"""The publishing calendar: month/week/list in the viewer's calendar and zone, filters, moving posts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.channels.models import Channel
from sokhan.core.calendars import from_jalali
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.calendar_feed import calendar_url
from sokhan.publishing.models import Post, PostTarget

from .helpers import nav_links, sign_in

pytestmark = pytest.mark.django_db
TEHRAN = ZoneInfo("Asia/Tehran")
NOWRUZ_1409 = from_jalali(1409, 1, 1)  # 2030-03-21, a Thursday


@pytest.fixture
def actor(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


def second_channel(workspace: Workspace) -> Channel:
    other = make_channel(workspace, "http://127.0.0.1:9", target="second")
    other.display_name, other.remote_id = "Second", "2"
    other.save()
    return other


def tehran(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN)


def plan(
    actor: Membership, channel: Channel, text: str, at: datetime | None, *, schedule: bool = True, **post: Any
) -> PostTarget:
    created = services.post_create(
        actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=text)], **post
    )
    if schedule and at is not None:
        services.post_schedule(actor=actor, post_id=created.pk, at=at)
    target = PostTarget.objects.get(post=created)
    if not schedule and at is not None:
        target.scheduled_at = at  # a planned draft: a date without being scheduled
        target.save(update_fields=["scheduled_at"])
    return target


def cell(html: str, day: date) -> str:
    """The month-grid cell (or week column slot/list section) for ``day``."""
    match = re.search(rf'data-date="{day.isoformat()}"[^>]*>(.*?)</(?:td|section)>', html, re.S)
    assert match, f"no cell for {day}"
    return match.group(1)


def persian_client(owner: User) -> Client:
    client = Client()
    sign_in(client, owner.email, language="fa")
    User.objects.filter(pk=owner.pk).update(calendar="jalali")
    return client


def test_persian_month_shows_the_post_on_its_local_jalali_day(
    owner: User, workspace: Workspace, actor: Membership, channel: Channel
) -> None:
    # 00:30 on 1 Farvardin in Tehran is still 20 March in UTC.
    target = plan(actor, channel, "جشن نوروز مبارک", tehran(NOWRUZ_1409, 0, 30))
    assert target.scheduled_at is not None and target.scheduled_at.astimezone(UTC).day == 20
    client = persian_client(owner)
    response = client.get(f"/w/acme/calendar/?date={NOWRUZ_1409.isoformat()}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "فروردین ۱۴۰۹" in html
    assert "جشن نوروز مبارک" in cell(html, NOWRUZ_1409)
    assert "۰۰:۳۰" in cell(html, NOWRUZ_1409)
    assert "جشن نوروز مبارک" not in cell(html, NOWRUZ_1409 - timedelta(days=1))
    # A real Jalali month: Saturday-first columns, 1 Farvardin (a Thursday) in the sixth column.
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html)
    assert headers[:7] == ["شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه"]
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html, re.S)
    assert first_row is not None
    dates = re.findall(r'data-date="([\d-]+)"', first_row.group(1))
    assert dates.index(NOWRUZ_1409.isoformat()) == 5
    assert 'class="calendar-day weekend"' in html  # Fridays
    assert f'href="/w/acme/posts/{target.post_id}/"' in html


def test_week_and_list_views_for_an_english_viewer(owner_client: Client, actor: Membership, channel: Channel) -> None:
    day = date(2030, 5, 15)  # a Wednesday
    plan(actor, channel, "Weekly roundup", tehran(day, 14, 5))
    html = owner_client.get(f"/w/acme/calendar/?view=week&date={day.isoformat()}").content.decode()
    assert "Weekly roundup" in html
    slot = re.search(rf'data-date="{day.isoformat()}" data-hour="14">(.*?)</td>', html, re.S)
    assert slot and "Weekly roundup" in slot.group(1) and "14:05" in slot.group(1)
    week_cols = re.findall(r'<th scope="col" class="[^"]*">(\w+)<br>', html)
    assert week_cols[0] == "Monday"  # Gregorian English viewer: ISO weeks
    listing = owner_client.get(f"/w/acme/calendar/?view=list&date={day.isoformat()}").content.decode()
    assert "Wednesday, 15 May 2030" in listing
    assert "Weekly roundup" in cell(listing, day)
    assert "May 2030" in owner_client.get(f"/w/acme/calendar/?date={day.isoformat()}").content.decode()
    for odd in ("0001-01-01", "2030-02-31", "soon", ""):
        assert owner_client.get(f"/w/acme/calendar/?view=nope&date={odd}").status_code == 200


def test_filters_by_channel_status_author_and_label(
    owner_client: Client, workspace: Workspace, actor: Membership, channel: Channel, make_member: Any
) -> None:
    other = second_channel(workspace)
    day = date(2030, 5, 15)
    plan(actor, channel, "On the first channel", tehran(day, 9), labels=["launch"])
    plan(actor, other, "On the second channel", tehran(day, 10))
    plan(actor, other, "A planned draft", tehran(day, 11), schedule=False)
    editor = make_member(Role.EDITOR, "editor@example.com")
    editor_actor = Membership.objects.select_related("workspace", "user").get(user=editor, workspace=workspace)
    plan(editor_actor, channel, "Written by the editor", tehran(day, 12))
    base = f"/w/acme/calendar/?view=list&date={day.isoformat()}"

    def shown(query: str) -> set[str]:
        html = owner_client.get(f"{base}&{query}").content.decode()
        texts = {"On the first channel", "On the second channel", "A planned draft", "Written by the editor"}
        return {text for text in texts if text in html}

    assert shown("") == {"On the first channel", "On the second channel", "A planned draft", "Written by the editor"}
    assert shown(f"channel={other.pk}") == {"On the second channel", "A planned draft"}
    assert shown("status=draft") == {"A planned draft"}
    assert shown(f"author={editor.pk}") == {"Written by the editor"}
    assert shown("label=launch") == {"On the first channel"}
    # Filters stay in the navigation links, and an HTMX request gets only the swappable body.
    response = owner_client.get(f"{base}&channel={other.pk}", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    next_link = re.search(r'href="([^"]+)"[^>]*rel="next"', body)
    assert next_link and f"channel={other.pk}" in next_link.group(1) and "view=list" in next_link.group(1)


def test_feed_address_and_nav_entry(owner_client: Client, workspace: Workspace, make_member: Any) -> None:
    html = owner_client.get("/w/acme/calendar/").content.decode()
    assert calendar_url(workspace) in html
    assert 'data-copy="#calendar-feed-url"' in html
    assert "/w/acme/calendar/" in nav_links(owner_client.get("/w/acme/").content.decode())
    make_member(Role.VIEWER, "viewer@example.com")
    viewer = Client()
    sign_in(viewer, "viewer@example.com")
    page = viewer.get("/w/acme/calendar/")
    assert page.status_code == 200 and calendar_url(workspace) in page.content.decode()
    analyst_email = "analyst@example.com"
    make_member(Role.ANALYST, analyst_email)
    analyst = Client()
    sign_in(analyst, analyst_email)
    assert analyst.get("/w/acme/calendar/").status_code == 403


def test_move_keeps_the_wall_clock_time_and_is_audited(
    owner_client: Client, actor: Membership, channel: Channel
) -> None:
    day = date(2030, 5, 15)
    target = plan(actor, channel, "Move me", tehran(day, 9, 45))
    next_url = f"/w/acme/calendar/?date={day.isoformat()}"
    response = owner_client.post(
        "/w/acme/calendar/move/", {"target": target.pk, "date": "2030-05-18", "next": next_url}
    )
    assert response.status_code == 302 and response["Location"] == next_url
    target.refresh_from_db()
    assert target.state == S.SCHEDULED
    assert target.scheduled_at == tehran(date(2030, 5, 18), 9, 45)
    assert target.state_due_at == target.scheduled_at
    event = AuditEvent.objects.get(action="post.reschedule")
    assert event.target == f"post:{target.post_id}"
    assert event.data["post_target"] == target.pk
    assert event.data["from"] == "2030-05-15T06:15:00+00:00" and event.data["to"] == "2030-05-18T06:15:00+00:00"
    page = owner_client.get(next_url).content.decode()
    assert "Move me" in cell(page, date(2030, 5, 18)) and "Move me" not in cell(page, day)
    assert "Moved to" in page  # the success message


def test_move_from_week_view_sets_the_hour_and_htmx_gets_the_new_grid(
    owner_client: Client, actor: Membership, channel: Channel
) -> None:
    day = date(2030, 5, 15)
    target = plan(actor, channel, "Hourly", tehran(day, 9, 45))
    response = owner_client.post(
        "/w/acme/calendar/move/",
        {"target": target.pk, "date": "2030-05-16", "hour": "17", "next": f"/w/acme/calendar/?view=week&date={day}"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    slot = re.search(r'data-date="2030-05-16" data-hour="17">(.*?)</td>', html, re.S)
    assert slot and "Hourly" in slot.group(1)
    target.refresh_from_db()
    assert target.scheduled_at == tehran(date(2030, 5, 16), 17, 45)
    # Refusals come back in the swapped body too (HTMX does not swap error answers).
    past = owner_client.post(
        "/w/acme/calendar/move/",
        {"target": target.pk, "date": "2020-01-01", "next": "/w/acme/calendar/?view=week&date=2030-05-15"},
        headers={"HX-Request": "true"},
    )
    assert past.status_code == 200 and 'role="alert"' in past.content.decode()
    assert "already passed" in past.content.decode()


def test_move_form_reads_a_jalali_date_with_persian_digits(owner: User, actor: Membership, channel: Channel) -> None:
    target = plan(actor, channel, "یک پست", tehran(NOWRUZ_1409, 9))
    client = persian_client(owner)
    response = client.post("/w/acme/calendar/move/", {"target": target.pk, "date": "۱۴۰۹/۰۱/۰۵", "time": "۱۰:۱۵"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.scheduled_at == tehran(NOWRUZ_1409 + timedelta(days=4), 10, 15)


def test_moving_a_draft_schedules_it_through_the_services(
    owner_client: Client, actor: Membership, channel: Channel
) -> None:
    target = plan(actor, channel, "Planned draft", tehran(date(2030, 5, 15), 8), schedule=False)
    assert target.state == S.DRAFT
    response = owner_client.post("/w/acme/calendar/move/", {"target": target.pk, "date": "2030-05-20"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.state == S.SCHEDULED and target.scheduled_at == tehran(date(2030, 5, 20), 8)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"post.schedule", "post.reschedule"} <= actions


def test_move_refuses_the_past_published_posts_and_in_review(
    owner_client: Client, actor: Membership, channel: Channel
) -> None:
    target = plan(actor, channel, "Not into the past", tehran(date(2030, 5, 15), 9))
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = owner_client.post("/w/acme/calendar/move/", {"target": target.pk, "date": yesterday})
    assert response.status_code == 400
    assert "already passed" in response.content.decode()
    target.refresh_from_db()
    assert target.scheduled_at == tehran(date(2030, 5, 15), 9)
    assert not AuditEvent.objects.filter(action="post.reschedule").exists()

    published = plan(actor, channel, "Already out", tehran(date(2030, 5, 15), 10))
    published.enter_state(S.PUBLISHED, active=False)
    published.published_at = published.scheduled_at
    published.save()
    response = owner_client.post("/w/acme/calendar/move/", {"target": published.pk, "date": "2030-05-20"})
    assert response.status_code == 409 and "already published" in response.content.decode()
    page = owner_client.get("/w/acme/calendar/?date=2030-05-15").content.decode()
    item = re.search(rf'<article[^>]*id="item-{published.pk}"[^>]*>', page)
    assert item and "draggable" not in item.group(0)

    waiting = plan(actor, channel, "Waiting", tehran(date(2030, 5, 15), 11), schedule=False)
    services.post_submit(actor=actor, post_id=waiting.post_id)
    response = owner_client.post("/w/acme/calendar/move/", {"target": waiting.pk, "date": "2030-05-20"})
    assert response.status_code == 409 and "waiting for review" in response.content.decode()

    bad = owner_client.post("/w/acme/calendar/move/", {"target": target.pk, "date": "2030/13/40"})
    assert bad.status_code == 400

    # A target the worker holds right now (leased) is not moved under it.
    PostTarget.objects.filter(pk=target.pk).update(state_locked_until=timezone.now() + timedelta(minutes=1))
    leased = owner_client.post("/w/acme/calendar/move/", {"target": target.pk, "date": "2030-05-20"})
    assert leased.status_code == 409 and "being published right now" in leased.content.decode()
    target.refresh_from_db()
    assert target.scheduled_at == tehran(date(2030, 5, 15), 9)


def test_move_is_scoped_and_needs_the_publish_permission(
    owner_client: Client, actor: Membership, channel: Channel, make_member: Any
) -> None:
    other_owner = User.objects.create_user("other@example.com", "correct horse battery staple")
    other_ws = workspace_create(owner=other_owner, name="Other", slug="other")
    other_actor = Membership.objects.select_related("workspace", "user").get(user=other_owner, workspace=other_ws)
    foreign = plan(other_actor, make_channel(other_ws, "http://127.0.0.1:9"), "Theirs", tehran(date(2030, 5, 15), 9))
    response = owner_client.post("/w/acme/calendar/move/", {"target": foreign.pk, "date": "2030-05-20"})
    assert response.status_code == 404
    assert owner_client.post("/w/other/calendar/move/", {"target": foreign.pk, "date": "2030-05-20"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.scheduled_at == tehran(date(2030, 5, 15), 9)

    mine = plan(actor, channel, "Mine", tehran(date(2030, 5, 15), 9))
    make_member(Role.VIEWER, "viewer@example.com")
    viewer = Client()
    sign_in(viewer, "viewer@example.com")
    assert viewer.post("/w/acme/calendar/move/", {"target": mine.pk, "date": "2030-05-20"}).status_code == 403
    page = viewer.get("/w/acme/calendar/?date=2030-05-15").content.decode()
    assert "Mine" in page and 'draggable="true"' not in page and "move-form" not in page
    mine.refresh_from_db()
    assert mine.scheduled_at == tehran(date(2030, 5, 15), 9)
    assert Post.objects.filter(workspace=actor.workspace).count() == 1


def test_with_an_approval_workflow_only_approved_posts_move_onto_the_schedule(
    owner_client: Client, actor: Membership, channel: Channel
) -> None:
    from sokhan.approvals.services import workflow_update

    scheduled = plan(actor, channel, "Signed off earlier", tehran(date(2030, 5, 15), 9))
    draft = plan(actor, channel, "Not signed off", tehran(date(2030, 5, 15), 10), schedule=False)
    workflow_update(actor=actor, mode="single")
    refused = owner_client.post("/w/acme/calendar/move/", {"target": draft.pk, "date": "2030-05-20"})
    assert refused.status_code == 409 and "requires approval before scheduling" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.state == S.DRAFT and draft.scheduled_at == tehran(date(2030, 5, 15), 10)
    # An already scheduled post keeps its approval and just gets the new day.
    moved = owner_client.post("/w/acme/calendar/move/", {"target": scheduled.pk, "date": "2030-05-20"})
    assert moved.status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.state == S.SCHEDULED and scheduled.scheduled_at == tehran(date(2030, 5, 20), 9)
