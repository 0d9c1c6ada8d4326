"""Test posts through the API, profile history and editing, the consistency report."""

from __future__ import annotations

from typing import Any

from django.test import Client
from tests.api.conftest import ApiClient, make_token
from tests.channels.fakenet import FakeNetwork
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel, ChannelStatus, ProfileSnapshot
from sokhan.channels.profiles import snapshot_record
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.networks.types import Profile


def test_test_post_through_the_api(owner: User, workspace: Workspace, net: FakeNetwork, channel: Channel) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    url = f"/workspaces/{workspace.slug}/channels/{channel.pk}/test-post"
    response = api.post(url, {"text": "سلام از سخن", "idempotency_key": "k-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["remote_id"] == "1" and body["url"].endswith("/posts/1")
    assert net.posts[0]["text"] == "سلام از سخن" and net.posts[0]["key"] == "k-1"
    # The same idempotency key does not post twice.
    assert api.post(url, {"text": "سلام از سخن", "idempotency_key": "k-1"}).json()["remote_id"] == "1"
    assert len(net.posts) == 1
    assert AuditEvent.objects.filter(action="channel.test_post").count() == 2


def test_test_post_permissions_and_errors(
    owner: User, workspace: Workspace, net: FakeNetwork, channel: Channel, make_member: Any
) -> None:
    url = f"/workspaces/{workspace.slug}/channels/{channel.pk}/test-post"
    assert ApiClient(make_token(owner, workspace, ["read"])).post(url, {"text": "x"}).status_code == 403
    viewer = make_member(Role.VIEWER)
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert ApiClient(client=viewer_client).post(url, {"text": "x"}).status_code == 403
    editor = make_member(Role.EDITOR)
    editor_api = ApiClient(make_token(editor, workspace, ["write"]))
    assert editor_api.post(url, {"text": "from an editor"}).status_code == 201
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.PAUSED)
    paused = editor_api.post(url, {"text": "x"})
    assert paused.status_code == 409 and paused.json()["error"]["code"] == "channel_unavailable"
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.ACTIVE)
    net.status_override = 503
    down = editor_api.post(url, {"text": "x"})
    assert down.status_code == 502 and down.json()["error"]["code"] == "network_unavailable"


def test_snapshot_only_when_something_changed(channel: Channel) -> None:
    first = ProfileSnapshot.objects.get(channel=channel)
    profile = Profile(
        remote_id=channel.remote_id,
        handle="@acme",
        display_name="Acme Coffee",
        bio="Fresh coffee daily",
        url="https://acme.example",
        followers=10,
    )
    same, created = snapshot_record(channel, profile, at=first.taken_at.replace(year=first.taken_at.year + 1))
    assert not created and same.pk == first.pk and same.last_seen_at > first.taken_at
    changed = Profile(**{**profile.__dict__, "followers": 11, "raw": {}})
    _new, created = snapshot_record(channel, changed, at=same.last_seen_at)
    assert created and ProfileSnapshot.objects.filter(channel=channel).count() == 2


def test_check_now_api_and_snapshots(owner: User, workspace: Workspace, net: FakeNetwork, channel: Channel) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    net.accounts[channel.remote_id].followers = 99
    checked = api.post(f"/workspaces/{workspace.slug}/channels/{channel.pk}/check")
    assert checked.status_code == 200 and checked.json()["profile"]["followers"] == 99
    snapshots = api.get(f"/workspaces/{workspace.slug}/channels/{channel.pk}/snapshots").json()
    assert [s["followers"] for s in snapshots["results"]] == [99, 10]
    net.tokens.clear()
    refused = api.post(f"/workspaces/{workspace.slug}/channels/{channel.pk}/check")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "token_refused"
    assert api.get(f"/workspaces/{workspace.slug}/channels/{channel.pk}").json()["status"] == "needs_reconnect"


def test_profile_edit_in_the_ui(owner_client: Client, workspace: Workspace, net: FakeNetwork, channel: Channel) -> None:
    url = f"/w/{workspace.slug}/channels/{channel.pk}/profile/"
    assert 'value="Acme Coffee"' in owner_client.get(url).content.decode()
    response = owner_client.post(
        url,
        {"display_name": "Acme Coffee | قهوه", "bio": "Fresh coffee daily", "url": "https://acme.example"},
        follow=True,
    )
    assert "Profile updated on Fake Token Network." in response.content.decode()
    assert net.accounts[channel.remote_id].name == "Acme Coffee | قهوه"
    channel.refresh_from_db()
    assert channel.display_name == "Acme Coffee | قهوه"
    assert ProfileSnapshot.objects.filter(channel=channel).first().display_name == "Acme Coffee | قهوه"  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="channel.profile_update").exists()


def test_consistency_report(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, channel: Channel, make_member: Any
) -> None:
    from sokhan.channels.services import channel_connect
    from sokhan.core.models import Membership

    _other, token = net.add_account("@acme_fa", "قهوه آکمی", bio="قهوه تازه", url="https://other.example", avatar="")
    owner_membership = Membership.objects.get(workspace=workspace, role="owner")
    channel_connect(actor=owner_membership, network="fake_token", values={"base_url": net.url, "access_token": token})
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/consistency/",
        {"brand_name": "Acme", "link": "https://acme.example/", "bio_keywords": "coffee"},
        follow=True,
    )
    page = response.content.decode()
    assert "The name does not include “Acme”." in page  # the Persian-named profile
    assert "The profile does not link to https://acme.example/." in page
    assert "The bio lacks: coffee" in page
    assert "No profile picture." in page
    assert "Images here: at least 400×400 pixels." in page  # from the connector's declared limits
    api = ApiClient(make_token(User.objects.get(email="owner@example.com"), workspace, ["read"]))
    report = api.get(f"/workspaces/{workspace.slug}/channels/consistency").json()
    by_handle = {c["name"]: c for c in report["channels"]}
    assert by_handle["Acme Coffee"]["findings"][0] == {
        "check": "brand",
        "ok": True,
        "message": "The name includes the brand name.",
    }
    assert by_handle["قهوه آکمی"]["ok"] is False
    viewer = make_member(Role.VIEWER)
    client = Client()
    sign_in(client, viewer.email)
    assert client.get(f"/w/{workspace.slug}/channels/consistency/").status_code == 200
    assert client.post(f"/w/{workspace.slug}/channels/consistency/", {"brand_name": "x"}).status_code == 403


def test_health_and_detail_pages_in_persian(owner: User, workspace: Workspace, channel: Channel) -> None:
    client = Client()
    sign_in(client, owner.email, language="fa")
    page = client.get(f"/w/{workspace.slug}/channels/{channel.pk}/").content.decode()
    assert 'dir="rtl"' in page
    assert "Acme Coffee" in page


def test_channels_check_command(net: FakeNetwork, channel: Channel) -> None:
    import io

    import pytest
    from django.core.management import call_command

    out = io.StringIO()
    Channel.objects.filter(pk=channel.pk).update(last_check_at=None, last_check_ok=None)
    call_command("channels", "check", stdout=out)
    assert f"ok   acme/{channel.pk} fake_token Acme Coffee: active" in out.getvalue()
    net.tokens.clear()
    Channel.objects.filter(pk=channel.pk).update(last_check_at=None)
    with pytest.raises(SystemExit):
        call_command("channels", "check", stdout=io.StringIO(), stderr=io.StringIO())
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


def test_another_workspace_cannot_reach_a_channel(channel: Channel, workspace: Workspace) -> None:
    from sokhan.core.models import Membership
    from sokhan.core.services import token_create, workspace_create

    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    _token, raw = token_create(actor=Membership.objects.get(user=stranger, workspace=other), name="t", scopes=["admin"])
    api = ApiClient(raw)
    assert api.get(f"/workspaces/{workspace.slug}/channels/{channel.pk}").status_code == 404
    assert api.get(f"/workspaces/{other.slug}/channels/{channel.pk}").status_code == 404
    assert api.post(f"/workspaces/{other.slug}/channels/{channel.pk}/test-post", {"text": "x"}).status_code == 404
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/w/{other.slug}/channels/{channel.pk}/").status_code == 404


def test_ui_test_post_pause_and_resume(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, channel: Channel
) -> None:
    base = f"/w/{workspace.slug}/channels/{channel.pk}"
    page = owner_client.post(f"{base}/test-post/", {"text": "Hello from the UI"}, follow=True).content.decode()
    assert "Posted. Remote id: 1" in page and net.posts[0]["text"] == "Hello from the UI"
    page = owner_client.post(f"{base}/status/", {"status": "paused"}, follow=True).content.decode()
    assert "Channel paused" in page and "Send a test post" not in page
    assert AuditEvent.objects.filter(action="channel.pause").exists()
    page = owner_client.post(f"{base}/status/", {"status": "active"}, follow=True).content.decode()
    assert "Channel resumed." in page
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
