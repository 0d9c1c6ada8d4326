"""Connecting with typed credentials, in the UI and through the API."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from tests.api.conftest import ApiClient, make_token
from tests.channels.fakenet import FakeNetwork
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel, ChannelStatus, ProfileSnapshot
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role


def test_connect_page_lists_networks_with_capabilities(owner_client: Client, workspace: Workspace) -> None:
    page = owner_client.get(f"/w/{workspace.slug}/channels/connect/").content.decode()
    assert "Fake Token Network" in page
    assert "Access token" in page  # the auth kind label
    assert "Edit profile" in page  # a capability label
    nav = owner_client.get(f"/w/{workspace.slug}/").content.decode()
    assert f"/w/{workspace.slug}/channels/" in nav


def test_connect_with_a_token_shows_who_it_connected_as(
    owner_client: Client, workspace: Workspace, net: FakeNetwork
) -> None:
    _account, token = net.add_account("@acme", "Acme Coffee", bio="Fresh coffee", followers=1234)
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/connect/fake_token/",
        {"mode": "token", "token-base_url": net.url, "token-access_token": token, "token-chat_id": "-1001"},
        follow=True,
    )
    page = response.content.decode()
    assert "Connected as Acme Coffee (@acme)." in page
    assert "Fresh coffee" in page  # the profile, on the channel page
    channel = Channel.objects.get(workspace=workspace)
    assert channel.status == ChannelStatus.ACTIVE
    assert channel.credentials.access_token == token
    assert channel.options == {"chat_id": "-1001"}  # a plain field the Account does not name
    assert channel.remote_id and channel.handle == "@acme"
    assert ProfileSnapshot.objects.get(channel=channel).followers == 1234
    assert AuditEvent.objects.filter(workspace=workspace, action="channel.connect").count() == 1
    # The token is stored encrypted, never as plain text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_json FROM channels_channel WHERE id = %s", [channel.pk])
        stored = cursor.fetchone()[0]
    assert token not in stored and stored.startswith("enc:v1:")


def test_a_refused_token_is_explained_and_nothing_is_saved(
    owner_client: Client, workspace: Workspace, net: FakeNetwork
) -> None:
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/connect/fake_token/",
        {"mode": "token", "token-base_url": net.url, "token-access_token": "wrong"},
    )
    assert response.status_code == 400
    assert "The network refused the token or password" in response.content.decode()
    assert not Channel.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="channel.").exists()


def test_missing_and_bad_fields_are_named(owner_client: Client, workspace: Workspace) -> None:
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/connect/fake_token/",
        {"mode": "token", "token-base_url": "not a url", "token-access_token": "x"},
    )
    assert response.status_code == 400
    assert "Enter a full address such as https://example.social" in response.content.decode()


def test_connecting_the_same_account_again_is_a_reconnect(
    owner_client: Client, workspace: Workspace, net: FakeNetwork
) -> None:
    account, token = net.add_account("@acme", "Acme")
    url = f"/w/{workspace.slug}/channels/connect/fake_token/"
    owner_client.post(url, {"mode": "token", "token-base_url": net.url, "token-access_token": token})
    second = "tok-second"
    net.tokens[second] = account.id
    response = owner_client.post(
        url, {"mode": "token", "token-base_url": net.url, "token-access_token": second}, follow=True
    )
    assert "Reconnected as Acme (@acme)." in response.content.decode()
    channel = Channel.objects.get(workspace=workspace)
    assert channel.credentials.access_token == second
    assert AuditEvent.objects.filter(action="channel.reconnect").count() == 1


def test_reconnect_refuses_a_different_account(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, channel: Channel
) -> None:
    _other, other_token = net.add_account("@other", "Other")
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/{channel.pk}/reconnect/",
        {"mode": "token", "token-access_token": other_token},
    )
    assert response.status_code == 400
    assert "not to this channel" in response.content.decode()
    channel.refresh_from_db()
    assert channel.handle == "@acme"


def test_roles_without_channel_management_cannot_connect(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    client = Client()
    sign_in(client, editor.email)
    assert client.get(f"/w/{workspace.slug}/channels/").status_code == 200
    assert client.get(f"/w/{workspace.slug}/channels/connect/").status_code == 403
    assert client.post(f"/w/{workspace.slug}/channels/connect/fake_token/", {"mode": "token"}).status_code == 403


def test_api_connect_list_get_and_disconnect(owner: User, workspace: Workspace, net: FakeNetwork) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    _account, token = net.add_account("@api", "API Account")
    response = api.post(
        f"/workspaces/{workspace.slug}/channels",
        {"network": "fake_token", "values": {"base_url": net.url, "access_token": token}},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["profile"]["display_name"] == "API Account"
    channel_id = body["channel"]["id"]
    assert token not in json.dumps(body)
    listed = api.get(f"/workspaces/{workspace.slug}/channels").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "active"
    assert token not in json.dumps(listed)
    assert api.get(f"/workspaces/{workspace.slug}/channels/{channel_id}").json()["handle"] == "@api"
    refused = api.post(
        f"/workspaces/{workspace.slug}/channels",
        {"network": "fake_token", "values": {"base_url": net.url, "access_token": "nope"}},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "token_refused"
    assert refused.json()["error"]["fields"] == {"access_token": "refused by the network"}
    assert api.delete(f"/workspaces/{workspace.slug}/channels/{channel_id}").status_code == 204
    channel = Channel.objects.get(pk=channel_id)
    assert channel.status == ChannelStatus.DISCONNECTED and channel.credentials.access_token == ""
    assert AuditEvent.objects.filter(action="channel.disconnect").count() == 1


def test_api_lists_networks_and_their_fields(owner: User, workspace: Workspace) -> None:
    api = ApiClient(make_token(owner, workspace, ["read"]))
    networks = {n["key"]: n for n in api.get(f"/workspaces/{workspace.slug}/networks").json()}
    fake = networks["fake_token"]
    assert fake["auth"] == "access_token"
    assert [f["name"] for f in fake["credential_fields"]] == ["base_url", "access_token", "chat_id"]
    assert networks["fake_oauth"]["pkce"] is True


@pytest.mark.parametrize("scopes", [["read"]])
def test_api_connect_needs_write_scope(owner: User, workspace: Workspace, scopes: list[str]) -> None:
    api = ApiClient(make_token(owner, workspace, scopes))
    response = api.post(f"/workspaces/{workspace.slug}/channels", {"network": "fake_token", "values": {}})
    assert response.status_code == 403
