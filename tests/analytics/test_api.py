"""The analytics API: series with gaps, post metrics per target, scoping and permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from tests.analytics.helpers import mastodon_channel, published
from tests.api.conftest import ApiClient, assert_error, make_token

from sokhan.analytics.models import AccountSnapshot, ChannelCollection, PostCollection, PostSnapshot
from sokhan.analytics.rollups import account_daily_write
from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")
BASE = "/workspaces/acme/analytics"


def local(day: int, hour: int) -> datetime:
    return datetime(2025, 11, day, hour, 0, tzinfo=TEHRAN)


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return mastodon_channel(workspace, "http://127.0.0.1:9")


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["read"]))


def snap(channel: Channel, at: datetime, **values: int | None) -> None:
    AccountSnapshot.objects.create(workspace_id=channel.workspace_id, channel=channel, taken_at=at, **values)
    account_daily_write(channel, at.astimezone(TEHRAN).date(), TEHRAN)


def session_api(user: User) -> ApiClient:
    client = Client()
    client.force_login(user)
    return ApiClient(client=client)


def test_daily_series_has_a_point_per_day_and_gaps_as_nulls(api: ApiClient, channel: Channel) -> None:
    snap(channel, local(10, 0), followers=1000, following=10)
    snap(channel, local(10, 18), followers=1010)  # the day's last value wins
    # 11 November: no snapshot at all (the worker was down).
    snap(channel, local(12, 6), followers=None, reach=50)  # the network left followers out
    snap(channel, local(13, 12), followers=1100)
    snap(channel, local(14, 0), followers=1161)
    response = api.get(f"{BASE}/channels/{channel.pk}/account", {"start": "2025-11-10", "end": "2025-11-14"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["timezone"], body["interval"]) == ("Asia/Tehran", "day")
    assert body["rollup"] == {"name": "account_daily", "version": 1}
    assert [p["followers"] for p in body["points"]] == [1010, None, None, 1100, 1161]
    assert [p["reach"] for p in body["points"]] == [None, None, 50, None, None]
    assert body["points"][0]["following"] == 10
    assert body["points"][1]["at"].startswith("2025-11-11T00:00:00+03:30")
    assert body["missing"]["followers"] == 2 and body["missing"]["views"] == 5
    # From the first known count (1 010 on the 10th) to the last (1 161 on the 14th).
    assert body["follower_growth"] == {"value": 151.0, "name": "follower_growth", "version": 1, "reason": None}
    assert body["follower_growth_rate"]["value"] == pytest.approx(151 / 1010 * 100)


def test_growth_needs_two_known_counts(api: ApiClient, channel: Channel) -> None:
    snap(channel, local(10, 0), followers=1000)
    body = api.get(f"{BASE}/channels/{channel.pk}/account", {"start": "2025-11-10", "end": "2025-11-12"}).json()
    assert body["follower_growth"]["value"] is None and body["follower_growth"]["reason"] == "missing"


def test_snapshot_series_follows_the_grid(api: ApiClient, channel: Channel) -> None:
    snap(channel, local(13, 0) + timedelta(minutes=4), followers=1090)
    snap(channel, local(13, 12) + timedelta(minutes=2), followers=1100)
    params = {"start": "2025-11-13", "end": "2025-11-13", "interval": "snapshot"}
    body = api.get(f"{BASE}/channels/{channel.pk}/account", params).json()
    assert [p["at"][11:16] for p in body["points"]] == ["00:00", "06:00", "12:00", "18:00"]
    assert [p["followers"] for p in body["points"]] == [1090, None, 1100, None]
    assert body["rollup"] is None and body["missing"]["followers"] == 2


def test_series_input_errors_name_the_field(api: ApiClient, channel: Channel) -> None:
    path = f"{BASE}/channels/{channel.pk}/account"
    assert assert_error(api.get(path, {"interval": "week"}), 400)["fields"] == {"interval": "invalid"}
    assert_error(api.get(path, {"start": "2025-11-10", "end": "2025-11-01"}), 400)
    assert assert_error(api.get(path, {"start": "2024-01-01", "end": "2025-11-01"}), 400)["fields"] == {
        "start": "too_early"
    }
    assert_error(api.get(path, {"start": "2025-01-01", "end": "2025-11-01", "interval": "snapshot"}), 400)
    assert api.get(path).status_code == 200  # default: the last 30 days


def test_post_metrics_latest_history_and_rates(api: ApiClient, channel: Channel) -> None:
    at = datetime(2025, 11, 15, 10, 0, tzinfo=UTC)
    target = published(channel, "110001", at)
    snap(channel, at - timedelta(hours=2), followers=2000)
    snap(channel, at + timedelta(days=1, minutes=1), followers=2500)  # after the 24h snapshot: not used
    values = {"likes": 30, "comments": 10, "shares": 5, "saves": 5, "clicks": None, "impressions": 2000}
    for step, taken, likes in ((0, at + timedelta(hours=1), 10), (2, at + timedelta(hours=24), 30)):
        PostSnapshot.objects.create(
            workspace_id=channel.workspace_id,
            channel=channel,
            target=target,
            step=step,
            taken_at=taken,
            **{**values, "likes": likes},
        )
    PostCollection.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        target=target,
        published_at=at,
        step=3,
        due_at=at + timedelta(days=3),
    )
    body = api.get(f"{BASE}/targets/{target.pk}").json()
    assert (body["target_id"], body["post_id"], body["channel"]["network"]) == (target.pk, target.post_id, "mastodon")
    assert [h["step"] for h in body["history"]] == ["1h", "6h", "24h", "3d", "7d", "30d"]
    assert [h["snapshot"]["likes"] if h["snapshot"] else None for h in body["history"]] == [
        10,
        None,
        30,
        None,
        None,
        None,
    ]
    assert body["history"][1]["due_at"].startswith("2025-11-15T16:00:00")
    latest = body["latest"]
    assert (latest["likes"], latest["clicks"], latest["reach"]) == (30, None, None)
    rates = body["rates"]
    assert rates["engagements"]["value"] == 50
    assert rates["engagement_rate_impressions"]["value"] == pytest.approx(2.5)  # 50 ÷ 2 000 × 100
    assert rates["engagement_rate_reach"] == {
        "value": None,
        "name": "engagement_rate_reach",
        "version": 1,
        "reason": "missing",
    }
    assert rates["engagement_rate_followers"]["value"] == pytest.approx(2.5)  # 50 ÷ 2 000 followers
    assert rates["amplification_rate"]["value"] == pytest.approx(0.25)  # 5 ÷ 2 000 × 100
    assert body["breakdown"]["likes"]["value"] == pytest.approx(60.0)
    assert body["breakdown"]["clicks"]["reason"] == "missing"
    assert body["collection"] == {"next_step": "3d", "next_due_at": "2025-11-18T10:00:00Z", "last_error": ""}


def test_a_target_with_nothing_collected(api: ApiClient, channel: Channel) -> None:
    target = published(channel, "110009", datetime(2025, 11, 15, 10, 0, tzinfo=UTC))
    body = api.get(f"{BASE}/targets/{target.pk}").json()
    assert body["latest"] is None and body["rates"] == {} and body["collection"] is None
    assert all(h["snapshot"] is None for h in body["history"])


def test_collection_status_per_channel(api: ApiClient, channel: Channel, workspace: Workspace) -> None:
    telegram = mastodon_channel(workspace, "http://127.0.0.1:9", network="telegram", remote_id="t", target="@acme")
    now = datetime.now(UTC)
    ChannelCollection.objects.create(
        workspace=workspace,
        channel=channel,
        last_error="HTTP 503",
        last_error_at=now,
        failures=2,
        hold_until=now + timedelta(minutes=10),
    )
    body = {row["channel"]["id"]: row for row in api.get(f"{BASE}/channels").json()}
    assert set(body) == {channel.pk, telegram.pk}
    assert (body[channel.pk]["account_metrics"], body[channel.pk]["post_metrics"]) == (True, True)
    assert body[channel.pk]["last_error"] == "HTTP 503" and body[channel.pk]["waiting_until"] is not None
    assert (body[telegram.pk]["account_metrics"], body[telegram.pk]["post_metrics"]) == (True, False)
    assert body[telegram.pk]["account_due_at"] is None and body[telegram.pk]["last_error"] == ""


def test_scoping_and_permissions(owner: User, workspace: Workspace, channel: Channel, make_member: Any) -> None:
    target = published(channel, "110001", datetime(2025, 11, 15, 10, 0, tzinfo=UTC))
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = mastodon_channel(other, "http://127.0.0.1:9")
    their_target = published(theirs, "110001", datetime(2025, 11, 15, 10, 0, tzinfo=UTC))
    api = ApiClient(make_token(owner, workspace, ["read"]))
    # Another workspace's channel or target through this workspace's address: not found.
    assert_error(api.get(f"{BASE}/channels/{theirs.pk}/account"), 404)
    assert_error(api.get(f"{BASE}/targets/{their_target.pk}"), 404)
    # This workspace's through the other's address, with a token bound here: not found either.
    assert_error(api.get(f"/workspaces/other/analytics/targets/{target.pk}"), 404)

    analyst = session_api(make_member(Role.ANALYST))
    assert analyst.get(f"{BASE}/targets/{target.pk}").status_code == 200
    assert analyst.get(f"{BASE}/channels/{channel.pk}/account").status_code == 200
    viewer = session_api(make_member(Role.VIEWER))  # reads content, not analytics
    assert_error(viewer.get(f"{BASE}/targets/{target.pk}"), 403, "forbidden")
    assert_error(viewer.get(f"{BASE}/channels"), 403, "forbidden")
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    assert_error(session_api(stranger).get(f"{BASE}/channels"), 404)


def test_routes_are_in_the_openapi_document() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/workspaces/{ws}/analytics/channels",
        "/api/v1/workspaces/{ws}/analytics/channels/{channel_id}/account",
        "/api/v1/workspaces/{ws}/analytics/targets/{target_id}",
    ):
        assert set(paths[path]) == {"get"}
        assert paths[path]["get"]["tags"] == ["analytics"]
