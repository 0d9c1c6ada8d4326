"""The private iCalendar feed: read back by a real calendar parser, token-protected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from icalendar import Calendar
from tests.api.conftest import ApiClient, make_token
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.calendar_feed import calendar_token, calendar_url
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.django_db

LONG = "سلام دنیا، این یک پست بلند است; با ویرگول, و بک‌اسلش \\ " * 6


def _local_path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[1]


def named_channel(workspace: Workspace, name: str) -> Any:
    channel = make_channel(workspace, "http://127.0.0.1:9", target=name)
    channel.display_name = name
    channel.save()
    return channel


@pytest.fixture
def targets(owner: User, workspace: Workspace) -> tuple[PostTarget, PostTarget]:
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    channel = named_channel(workspace, "کانال ماستودون")
    other = named_channel(workspace, "Second")
    at = datetime(2030, 3, 1, 8, 30, tzinfo=UTC)
    first = services.post_create(
        actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="خبر تازه\n" + LONG)]
    )
    services.post_schedule(actor=actor, post_id=first.pk, at=at)
    second = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=other.pk, text="Done")])
    services.post_create(actor=actor, targets=[services.TargetInput(channel_id=other.pk, text="draft only")])
    published = PostTarget.objects.get(post=second)
    published.enter_state(S.PUBLISHED, active=False)
    published.scheduled_at = at - timedelta(days=1)
    published.published_at = at - timedelta(days=1)
    published.remote_url = "https://social.example/@a/1"
    published.save()
    return PostTarget.objects.get(post=first), published


def test_feed_is_read_back_with_persian_text_intact(
    targets: tuple[PostTarget, PostTarget], workspace: Workspace
) -> None:
    scheduled, published = targets
    response = Client().get(_local_path(calendar_url(workspace)))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "lines are folded at 75 octets"
    cal = Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{scheduled.idempotency_key}@sokhan", f"{published.idempotency_key}@sokhan"}
    one = events[f"{scheduled.idempotency_key}@sokhan"]
    assert str(one["SUMMARY"]) == "کانال ماستودون: خبر تازه"
    assert str(one["DESCRIPTION"]) == "خبر تازه\n" + LONG
    assert one.decoded("DTSTART") == datetime(2030, 3, 1, 8, 30, tzinfo=UTC)
    assert str(one["STATUS"]) == "TENTATIVE" and "URL" not in one
    two = events[f"{published.idempotency_key}@sokhan"]
    assert str(two["STATUS"]) == "CONFIRMED" and str(two["URL"]) == "https://social.example/@a/1"
    assert str(two["SUMMARY"]) == "Second: Done"


def test_bad_or_foreign_token_is_404(workspace: Workspace, owner: User) -> None:
    client = Client()
    token = calendar_token(workspace)
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    assert client.get(f"/calendar/{token}x.ics").status_code == 404
    assert client.get(f"/calendar/{workspace.pk}.ics").status_code == 404
    # A feed-channel token (another salt) is no calendar token.
    from django.core import signing

    assert (
        client.get(f"/calendar/{signing.Signer(salt='sokhan.publishing.feed').sign(str(workspace.pk))}.ics").status_code
        == 404
    )


def test_api_shows_the_address_to_members_only(owner: User, workspace: Workspace, settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    api = ApiClient(make_token(owner, workspace, ["read"]))
    response = api.get("/workspaces/acme/calendar-feed")
    assert response.status_code == 200, response.content
    assert response.json() == {"url": calendar_url(workspace)}
    stranger = User.objects.create_user("b@example.com", "correct horse battery staple")
    workspace_create(owner=stranger, name="Beta", slug="beta")
    assert (
        ApiClient(make_token(stranger, Workspace.objects.get(slug="beta"), ["read"]))
        .get("/workspaces/acme/calendar-feed")
        .status_code
        == 404
    )
