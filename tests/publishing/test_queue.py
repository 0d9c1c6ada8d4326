"""Posting schedules: next free slot across DST, taken slots skipped, the API and its scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.publishing import services
from sokhan.publishing.models import PostingSlot, PostTarget
from sokhan.publishing.queue import next_free_slot

pytestmark = pytest.mark.django_db
BERLIN = "Europe/Berlin"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    workspace.timezone = BERLIN
    workspace.save()
    return make_channel(workspace, "http://127.0.0.1:9")


@pytest.fixture
def actor(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


def slot(channel: Channel, weekday: int, at: time) -> None:
    PostingSlot.objects.create(workspace=channel.workspace, channel=channel, weekday=weekday, time=at)


def test_slot_keeps_wall_clock_across_spring_forward(channel: Channel) -> None:
    slot(channel, 0, time(9, 0))  # Mondays 09:00 Berlin
    # Sat 2030-03-30; clocks go forward on Sun 2030-03-31 (CET +1 → CEST +2).
    after = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)
    assert next_free_slot(channel, after=after, tz=BERLIN) == datetime(2030, 4, 1, 7, 0, tzinfo=UTC)
    before = datetime(2030, 3, 23, 12, 0, tzinfo=UTC)
    assert next_free_slot(channel, after=before, tz=BERLIN) == datetime(2030, 3, 25, 8, 0, tzinfo=UTC)


def test_skipped_and_repeated_wall_clock_times(channel: Channel) -> None:
    slot(channel, 6, time(2, 30))  # Sundays 02:30: skipped on 2030-03-31, twice on 2030-10-27
    spring = next_free_slot(channel, after=datetime(2030, 3, 30, 12, 0, tzinfo=UTC), tz=BERLIN)
    assert spring == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)  # 03:30 CEST: moved forward by the gap
    autumn = next_free_slot(channel, after=datetime(2030, 10, 26, 12, 0, tzinfo=UTC), tz=BERLIN)
    assert autumn == datetime(2030, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first occurrence
    assert autumn.tzinfo is UTC


def test_taken_slots_are_skipped(channel: Channel, actor: Membership) -> None:
    slot(channel, 0, time(9, 0))
    slot(channel, 0, time(17, 30))
    after = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)
    first = next_free_slot(channel, after=after, tz=BERLIN)
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="یک")])
    services.post_schedule(actor=actor, post_id=post.pk, at=first)
    assert next_free_slot(channel, after=after, tz=BERLIN) == datetime(2030, 4, 1, 15, 30, tzinfo=UTC)
    # A draft does not hold a slot; the other channel's slots are its own.
    services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="دو")])
    assert next_free_slot(channel, after=after, tz=BERLIN) == datetime(2030, 4, 1, 15, 30, tzinfo=UTC)


def test_no_slots_is_a_clear_error(channel: Channel) -> None:
    with pytest.raises(DomainError) as caught:
        next_free_slot(channel, after=datetime(2030, 1, 1, tzinfo=UTC), tz=BERLIN)
    assert caught.value.code == "no_slots"


# ------------------------------------------------------------------ API


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["write"]))


def test_put_and_get_slots(api: ApiClient, channel: Channel) -> None:
    url = f"/workspaces/acme/channels/{channel.pk}/slots"
    body = {"slots": [{"weekday": 4, "time": "18:00"}, {"weekday": 0, "time": "09:05"}]}
    response = api.request("PUT", url, body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "channel_id": channel.pk,
        "timezone": BERLIN,
        "slots": [{"weekday": 0, "time": "09:05"}, {"weekday": 4, "time": "18:00"}],
    }
    assert api.request("PUT", url, {"slots": [{"weekday": 2, "time": "07:00"}]}).status_code == 200
    assert api.get(url).json()["slots"] == [{"weekday": 2, "time": "07:00"}]


def test_slot_validation_errors(api: ApiClient, channel: Channel) -> None:
    url = f"/workspaces/acme/channels/{channel.pk}/slots"
    bad = {
        "slots": [
            {"weekday": 7, "time": "09:00"},
            {"weekday": 1, "time": "25:00"},
            {"weekday": 1, "time": "nine"},
            {"weekday": 2, "time": "10:00"},
            {"weekday": 2, "time": "10:00"},
        ]
    }
    error = assert_error(api.request("PUT", url, bad), 400, "invalid")
    assert set(error["fields"]) == {"slots.0.weekday", "slots.1.time", "slots.2.time", "slots.4"}
    assert PostingSlot.objects.count() == 0
    assert_error(api.request("PUT", url, {"slots": "x"}), 422)
    assert_error(api.request("PUT", "/workspaces/acme/channels/999999/slots", {"slots": []}), 404)


def test_put_needs_write_scope_and_edit_permission(
    owner: User, workspace: Workspace, channel: Channel, make_member: Any
) -> None:
    url = f"/workspaces/acme/channels/{channel.pk}/slots"
    body = {"slots": [{"weekday": 0, "time": "09:00"}]}
    reader = ApiClient(make_token(owner, workspace, ["read"]))
    assert reader.get(url).status_code == 200
    assert_error(reader.request("PUT", url, body), 403)
    viewer = make_member("viewer")
    assert_error(ApiClient(make_token(viewer, workspace, ["write"])).request("PUT", url, body), 403)


def test_queue_schedules_each_target_at_its_next_free_slot(
    api: ApiClient, actor: Membership, workspace: Workspace, channel: Channel
) -> None:
    other = make_channel(workspace, "http://127.0.0.1:9", target="other")
    for weekday in range(7):
        slot(channel, weekday, time(9, 0))
    targets = [{"channel_id": channel.pk, "text": "سلام"}, {"channel_id": other.pk, "text": "hi"}]
    post = api.post("/workspaces/acme/posts", {"targets": targets}).json()
    error = assert_error(api.post(f"/workspaces/acme/posts/{post['id']}/queue"), 400, "no_slots")
    assert set(error["fields"]) == {f"channel.{other.pk}"}
    assert {t.state for t in PostTarget.objects.filter(post_id=post["id"])} == {"draft"}
    slot(other, 2, time(12, 0))
    response = api.post(f"/workspaces/acme/posts/{post['id']}/queue")
    assert response.status_code == 200, response.content
    by_channel = {t["channel_id"]: t for t in response.json()["targets"]}
    assert {t["state"] for t in by_channel.values()} == {"scheduled"}
    now = datetime.now(UTC)
    first = datetime.fromisoformat(by_channel[channel.pk]["scheduled_at"])
    assert now < first and first.astimezone(ZoneInfo(BERLIN)).time() == time(9, 0)
    other_at = datetime.fromisoformat(by_channel[other.pk]["scheduled_at"]).astimezone(ZoneInfo(BERLIN))
    assert other_at.weekday() == 2 and other_at.time() == time(12, 0)
    # A second post on the same channel goes to the next slot after the first.
    second = api.post("/workspaces/acme/posts", {"targets": [{"channel_id": channel.pk, "text": "دوم"}]}).json()
    queued = api.post(f"/workspaces/acme/posts/{second['id']}/queue").json()
    assert datetime.fromisoformat(queued["targets"][0]["scheduled_at"]) > first
    assert_error(api.post(f"/workspaces/acme/posts/{second['id']}/queue"), 409)


def test_other_workspace_gets_404(api: ApiClient, channel: Channel, workspace: Workspace) -> None:
    slot(channel, 0, time(9, 0))
    post = api.post("/workspaces/acme/posts", {"targets": [{"channel_id": channel.pk, "text": "x"}]}).json()
    stranger = User.objects.create_user("b@example.com", "correct horse battery staple")
    beta = workspace_create(owner=stranger, name="Beta", slug="beta")
    b_api = ApiClient(make_token(stranger, beta, ["write"]))
    url = f"/workspaces/acme/channels/{channel.pk}/slots"
    assert_error(b_api.get(url), 404)
    assert_error(b_api.request("PUT", url, {"slots": []}), 404)
    assert_error(b_api.post(f"/workspaces/acme/posts/{post['id']}/queue"), 404)
    # Through their own workspace, A's channel and post do not exist either.
    assert_error(b_api.get(f"/workspaces/beta/channels/{channel.pk}/slots"), 404)
    assert_error(b_api.request("PUT", f"/workspaces/beta/channels/{channel.pk}/slots", {"slots": []}), 404)
    assert_error(b_api.post(f"/workspaces/beta/posts/{post['id']}/queue"), 404)
    assert PostingSlot.objects.filter(channel=channel).count() == 1
