"""Credential health: refresh (never losing the refresh token), needs-reconnect transitions with
alerts, preflight before scheduled posts, expiry warnings, and the periodic tasks on the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from tests.channels.fakenet import FakeNetwork, OAuthNet

from sokhan.channels.calls import call, channel_refresh, merge_refreshed
from sokhan.channels.health import channel_preflight, warn_if_expiring
from sokhan.channels.models import Channel, ChannelStatus, OAuthApp
from sokhan.channels.services import _save_connected
from sokhan.channels.tasks import check_all_channels, refresh_due_channels
from sokhan.core.models import AuditEvent, Membership, Workspace
from sokhan.core.permissions import Role
from sokhan.networks.errors import AuthExpired
from sokhan.networks.types import Account, Credentials
from sokhan.runtime.worker import Worker


@pytest.fixture
def oauth_channel(net: FakeNetwork, workspace: Workspace, owner_membership: Membership) -> Channel:
    """A channel connected by OAuth whose token expires in 5 minutes."""
    OAuthApp.objects.create(workspace=workspace, network="fake_oauth", base_url=net.url, client_id="cid")
    account, token = net.add_account("@brand", "Brand")
    net.refresh_tokens["ref-original"] = account.id
    credentials = Credentials(
        access_token=token, refresh_token="ref-original", expires_at=timezone.now() + timedelta(minutes=5)
    )
    profile = OAuthNet(Account(base_url=net.url), credentials).verify()
    return _save_connected(
        workspace=workspace,
        user=owner_membership.user,
        cls=OAuthNet,
        account=Account(base_url=net.url),
        credentials=credentials,
        profile=profile,
        reconnect=None,
        ip=None,
    ).channel


def test_merge_never_replaces_a_refresh_token_with_an_empty_one() -> None:
    old = Credentials(access_token="a1", refresh_token="r1", scopes=("read",), data={"page": "1"})
    merged = merge_refreshed(old, Credentials(access_token="a2", refresh_token=""))
    assert (merged.access_token, merged.refresh_token, merged.scopes, merged.data) == (
        "a2",
        "r1",
        ("read",),
        {"page": "1"},
    )
    assert merge_refreshed(old, Credentials(access_token="a3", refresh_token="r2")).refresh_token == "r2"


def test_refresh_keeps_the_refresh_token_when_the_network_sends_none(net: FakeNetwork, oauth_channel: Channel) -> None:
    before = oauth_channel.credentials
    assert channel_refresh(oauth_channel)
    oauth_channel.refresh_from_db()
    after = oauth_channel.credentials
    assert after.access_token != before.access_token
    assert after.refresh_token == "ref-original"  # the network sent none: the old one stays
    assert oauth_channel.credentials_expires_at > timezone.now() + timedelta(minutes=30)
    # And the kept refresh token still works.
    assert channel_refresh(oauth_channel, force=True)


def test_a_rotated_refresh_token_replaces_the_old_one(net: FakeNetwork, oauth_channel: Channel) -> None:
    net.rotate_refresh = True
    assert channel_refresh(oauth_channel)
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials.refresh_token.startswith("ref-")
    assert oauth_channel.credentials.refresh_token != "ref-original"


def test_refused_refresh_needs_reconnect_with_audit_and_email(
    net: FakeNetwork, oauth_channel: Channel, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_member(Role.MANAGER, "manager@example.com")
    make_member(Role.EDITOR, "editor@example.com")
    net.refresh_tokens.clear()  # the network revoked the grant
    with django_capture_on_commit_callbacks(execute=True):
        assert not channel_refresh(oauth_channel)
    oauth_channel.refresh_from_db()
    assert oauth_channel.status == ChannelStatus.NEEDS_RECONNECT
    assert AuditEvent.objects.filter(action="channel.refresh_failed").count() == 1
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["manager@example.com", "owner@example.com"]  # not the editor
    assert "Brand" in mail.outbox[0].subject


def test_refused_token_moves_channel_to_needs_reconnect_once(
    owner_client: Client,
    workspace: Workspace,
    net: FakeNetwork,
    channel: Channel,
    django_capture_on_commit_callbacks: Any,
) -> None:
    net.tokens.clear()  # the person revoked Sokhan's access at the network
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with pytest.raises(AuthExpired):
                call(channel, "verify")
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT and channel.last_check_ok is False
    assert AuditEvent.objects.filter(action="channel.needs_reconnect").count() == 1
    assert len(mail.outbox) == 1
    # The banner shows on the channel pages before anything else fails.
    page = owner_client.get(f"/w/{workspace.slug}/channels/").content.decode()
    assert "Channels need attention" in page and "Reconnect it before its next post." in page
    assert "Needs reconnecting" in page


def test_check_now_explains_a_refused_token(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, channel: Channel
) -> None:
    net.tokens.clear()
    response = owner_client.post(f"/w/{workspace.slug}/channels/{channel.pk}/check/", follow=True)
    page = response.content.decode()
    assert "The network refused the token or password" in page
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


def test_auth_expired_is_fixed_by_a_refresh_when_possible(net: FakeNetwork, oauth_channel: Channel) -> None:
    net.tokens.pop(oauth_channel.credentials.access_token)  # the access token died early
    profile = call(oauth_channel, "verify")
    assert profile.handle == "@brand"
    oauth_channel.refresh_from_db()
    assert oauth_channel.status == ChannelStatus.ACTIVE
    assert net.count("POST", "/oauth/token") == 1


def test_preflight(net: FakeNetwork, oauth_channel: Channel, channel: Channel) -> None:
    now = timezone.now()
    # A fresh successful check: no network call.
    calls = len(net.requests)
    result = channel_preflight(channel, at=now + timedelta(minutes=30), now=now)
    assert result.ok and not result.checked and len(net.requests) == calls
    # Stale: verified with the network.
    Channel.objects.filter(pk=channel.pk).update(last_check_at=now - timedelta(hours=2))
    channel.refresh_from_db()
    assert channel_preflight(channel, at=now + timedelta(minutes=30), now=now).checked
    # Expiring before the post: refreshed first.
    result = channel_preflight(oauth_channel, at=now + timedelta(minutes=30), now=now)
    assert result.ok
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials_expires_at > now + timedelta(minutes=30)
    # A post after the renewed access ends, with no way to renew past it in time: not ok.
    net.refresh_tokens.clear()
    result = channel_preflight(oauth_channel, at=now + timedelta(days=2), now=now)
    assert not result.ok
    # Refused credentials: not ok, and not worth retrying.
    net.tokens.clear()
    Channel.objects.filter(pk=channel.pk).update(last_check_at=now - timedelta(hours=2))
    channel.refresh_from_db()
    result = channel_preflight(channel, at=now + timedelta(minutes=30), now=now)
    assert not result.ok and not result.retryable and result.status == ChannelStatus.NEEDS_RECONNECT
    # A paused channel is not usable.
    Channel.objects.filter(pk=oauth_channel.pk).update(status=ChannelStatus.PAUSED)
    oauth_channel.refresh_from_db()
    assert channel_preflight(oauth_channel, at=now, now=now).ok is False


def test_network_down_is_retryable(net: FakeNetwork, channel: Channel) -> None:
    net.status_override = 503
    Channel.objects.filter(pk=channel.pk).update(last_check_at=timezone.now() - timedelta(hours=2))
    channel.refresh_from_db()
    result = channel_preflight(channel, at=timezone.now())
    assert not result.ok and result.retryable
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and "503" in channel.last_error


def test_expiring_credentials_without_refresh_warn_once(
    owner_client: Client, workspace: Workspace, channel: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    soon = timezone.now() + timedelta(days=2)
    creds = channel.credentials
    channel.credentials = Credentials(access_token=creds.access_token, expires_at=soon)
    channel.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert warn_if_expiring(channel)
        assert not warn_if_expiring(channel)
    assert len(mail.outbox) == 1
    assert "باید به‌زودی دوباره وصل شود" in mail.outbox[0].subject  # in the workspace's language (Persian)
    assert AuditEvent.objects.filter(action="channel.expiring").count() == 1
    page = owner_client.get(f"/w/{workspace.slug}/channels/").content.decode()
    assert "cannot be renewed automatically" in page


def test_periodic_tasks_run_on_the_worker(net: FakeNetwork, oauth_channel: Channel, channel: Channel) -> None:
    old_token = oauth_channel.credentials.access_token
    refresh_due_channels.enqueue()
    check_all_channels.enqueue()
    Worker(worker_id="test").run_once()
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials.access_token != old_token
    assert oauth_channel.credentials.refresh_token == "ref-original"
    # The revoked channel is found by the hourly check.
    net.tokens.pop(channel.credentials.access_token)
    Channel.objects.filter(pk=channel.pk).update(last_check_at=timezone.now() - timedelta(hours=2))
    check_all_channels.enqueue()
    Worker(worker_id="test").run_once()
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
