"""Recurring series: occurrences made once each at the right local time across DST, drafts when
scheduling is refused, the page with the rule in Persian."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from tests.web.helpers import sign_in

from sokhan.automation import recurring
from sokhan.automation.models import RecurringOccurrence, RecurringSeries
from sokhan.automation.tasks import materialise_recurring
from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.services import TargetInput, post_create
from sokhan.runtime.schedules import registered_schedules

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def member(workspace: Workspace, user: User) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(workspace=workspace, user=user)


@pytest.fixture
def source(workspace: Workspace, owner: User, mastodon: Channel) -> Post:
    return post_create(
        actor=member(workspace, owner),
        targets=[
            TargetInput(channel_id=mastodon.pk, text="نکته هفته: همیشه پشتیبان بگیرید", link="https://acme.example")
        ],
        title="Weekly tip",
        labels=["tips"],
    )


def test_weekly_series_keeps_nine_local_across_dst(workspace: Workspace, owner: User, source: Post) -> None:
    workspace.timezone = "Europe/Berlin"
    workspace.save()
    actor = member(workspace, owner)
    start = datetime(2030, 3, 16, 8, 0, tzinfo=UTC)  # Saturday before the switch (31 March 2030)
    series = recurring.series_create(
        actor=actor,
        post_id=source.pk,
        rrule="FREQ=WEEKLY;BYDAY=SA",
        start_date=date(2030, 3, 16),
        start_time=time(9, 0),
        now=start - timedelta(days=1),
    )
    made_at: list[datetime] = []
    for day in range(0, 28):
        moment = start - timedelta(days=1) + timedelta(days=day)
        recurring.materialise_series(series, now=moment)
        recurring.materialise_series(series, now=moment)  # a second run the same minute adds nothing
        series.refresh_from_db()
    made_at = list(RecurringOccurrence.objects.filter(series=series).values_list("occurrence_at", flat=True))
    local = [at.astimezone(BERLIN) for at in made_at]
    assert [at.date() for at in local] == [date(2030, 3, 16), date(2030, 3, 23), date(2030, 3, 30), date(2030, 4, 6)]
    assert {(at.hour, at.minute) for at in local} == {(9, 0)}
    assert [at.astimezone(UTC).hour for at in made_at] == [8, 8, 8, 7]  # UTC moves by an hour after the switch
    targets = PostTarget.objects.exclude(post=source).order_by("scheduled_at")
    assert targets.count() == 4 and {t.state for t in targets} == {"scheduled"}
    assert [t.scheduled_at for t in targets] == made_at
    assert {t.text for t in targets} == {"نکته هفته: همیشه پشتیبان بگیرید"}
    assert Post.objects.exclude(pk=source.pk).first().labels == ["tips"]  # type: ignore[union-attr]


def test_job_twice_makes_no_duplicates(workspace: Workspace, owner: User, source: Post) -> None:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(hours=20)).astimezone(ZoneInfo(workspace.timezone))
    recurring.series_create(
        actor=member(workspace, owner),
        post_id=source.pk,
        rrule="FREQ=DAILY",
        start_date=tomorrow.date(),
        start_time=tomorrow.time().replace(second=0, microsecond=0),
        evergreen=True,
    )
    assert materialise_recurring.call() == 1
    assert materialise_recurring.call() == 0
    assert RecurringOccurrence.objects.count() == 1
    copy = Post.objects.exclude(pk=source.pk).get()
    assert copy.labels == ["tips", "evergreen"] and copy.targets.get().state == "scheduled"
    spec = {s.name: s for s in registered_schedules()}["automation.recurring"]
    assert spec.cron == "* * * * *"


def test_contributor_series_become_drafts_with_a_reason(
    workspace: Workspace, make_member: Any, mastodon: Channel
) -> None:
    user = make_member(Role.CONTRIBUTOR)
    actor = member(workspace, user)
    post = post_create(actor=actor, targets=[TargetInput(channel_id=mastodon.pk, text="draft me")])
    soon = (datetime.now(UTC) + timedelta(hours=2)).astimezone(ZoneInfo(workspace.timezone))
    series = recurring.series_create(
        actor=actor, post_id=post.pk, rrule="FREQ=DAILY;COUNT=3", start_date=soon.date(), start_time=soon.time()
    )
    assert recurring.materialise_series(series) == 1
    occurrence = RecurringOccurrence.objects.get()
    assert not occurrence.scheduled and "Kept as a draft" in occurrence.note
    assert occurrence.post is not None and occurrence.post.targets.get().state == "draft"


def test_rules_without_future_or_invalid_are_refused(workspace: Workspace, owner: User, source: Post) -> None:
    from sokhan.core.errors import DomainError

    actor = member(workspace, owner)
    with pytest.raises(DomainError) as caught:
        recurring.series_create(
            actor=actor, post_id=source.pk, rrule="FREQ=HOURLY", start_date=date(2030, 1, 1), start_time=time(9)
        )
    assert caught.value.fields == {"rrule": "invalid"}
    with pytest.raises(DomainError):
        recurring.series_create(
            actor=actor, post_id=source.pk, rrule="FREQ=DAILY;COUNT=2", start_date=date(2020, 1, 1), start_time=time(9)
        )


def test_page_builds_rule_and_describes_it_in_persian(
    workspace: Workspace, owner: User, source: Post, mastodon: Channel
) -> None:
    client = Client()
    sign_in(client, owner.email, language=None)  # follows the workspace: Persian, Jalali calendar
    response = client.post(
        "/w/acme/recurring/",
        {
            "post": source.pk,
            "freq": "WEEKLY",
            "interval": "2",
            "weekdays": ["SA", "MO"],
            "start_date": "۱۴۰۹/۰۱/۰۱",
            "time": "09:00",
            "count": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()
    series = RecurringSeries.objects.get()
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA;COUNT=10"
    assert series.start_date == date(2030, 3, 21)
    html = client.get("/w/acme/recurring/").content.decode()
    assert "هر ۲ هفته، دوشنبه و شنبه، ساعت ۰۹:۰۰، ۱۰ بار" in html
    client.post(f"/w/acme/recurring/{series.pk}/toggle/")
    series.refresh_from_db()
    assert not series.active
    client.post(f"/w/acme/recurring/{series.pk}/delete/")
    assert not RecurringSeries.objects.exists()
    actions = set(AuditEvent.objects.filter(action__startswith="recurring.").values_list("action", flat=True))
    assert actions == {"recurring.create", "recurring.pause", "recurring.delete"}


def test_raw_rrule_field_and_bad_rule_error(owner_client: Client, source: Post) -> None:
    base = {"post": source.pk, "freq": "WEEKLY", "interval": "1", "start_date": "2030-01-01", "time": "10:30"}
    bad = owner_client.post("/w/acme/recurring/", {**base, "rrule": "FREQ=SECONDLY"})
    assert bad.status_code == 400 and "FREQ" in bad.content.decode()
    good = owner_client.post("/w/acme/recurring/", {**base, "rrule": "FREQ=MONTHLY;BYDAY=-1FR"})
    assert good.status_code == 302
    html = owner_client.get("/w/acme/recurring/").content.decode()
    assert "Every month on the last Friday at 10:30" in html
