"""OAuth 2.0 with PKCE: start, the network's answer at the callback, single use, expiry, binding."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from tests.api.conftest import ApiClient, make_token
from tests.channels.fakenet import FakeNetwork
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel, OAuthApp, OAuthAttempt
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role


@pytest.fixture
def app(workspace: Workspace, net: FakeNetwork) -> OAuthApp:
    return OAuthApp.objects.create(
        workspace=workspace, network="fake_oauth", base_url=net.url, client_id="cid", client_secret="csecret"
    )


def _start(client: Client, workspace: Workspace, net: FakeNetwork) -> dict[str, str]:
    response = client.post(f"/w/{workspace.slug}/channels/connect/fake_oauth/", {"mode": "oauth", "base_url": net.url})
    assert response.status_code == 302, response.content.decode()[:3000]
    location = response["Location"]
    assert location.startswith(f"{net.url}/oauth/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_oauth_round_trip_with_pkce(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, app: OAuthApp
) -> None:
    account, _token = net.add_account("@brand", "Brand")
    params = _start(owner_client, workspace, net)
    assert params["client_id"] == "cid" and params["code_challenge_method"] == "S256"
    assert params["redirect_uri"].endswith("/channels/oauth/callback/")
    attempt = OAuthAttempt.objects.get(state=params["state"])
    expected = base64.urlsafe_b64encode(hashlib.sha256(attempt.code_verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["code_challenge"] == expected
    # The person allows Sokhan at the network, which sends them back with a code.
    code = net.grant_code(account.id, params["code_challenge"])
    response = owner_client.get("/channels/oauth/callback/", {"state": params["state"], "code": code}, follow=True)
    assert "Connected as Brand (@brand)." in response.content.decode()
    channel = Channel.objects.get(workspace=workspace, network="fake_oauth")
    assert channel.credentials.refresh_token.startswith("ref-")
    assert channel.credentials_expires_at is not None and channel.credentials_expires_at > timezone.now()
    assert AuditEvent.objects.filter(action="channel.connect").count() == 1
    # The same state never works twice.
    again = owner_client.get("/channels/oauth/callback/", {"state": params["state"], "code": code}, follow=True)
    assert "already used" in again.content.decode()


def test_callback_refuses_unknown_expired_and_foreign_states(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, app: OAuthApp, make_member: Any
) -> None:
    account, _token = net.add_account("@brand", "Brand")
    unknown = owner_client.get("/channels/oauth/callback/", {"state": "forged", "code": "x"})
    assert unknown.status_code == 400 and "unknown" in unknown.content.decode()

    params = _start(owner_client, workspace, net)
    OAuthAttempt.objects.filter(state=params["state"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    code = net.grant_code(account.id, params["code_challenge"])
    expired = owner_client.get("/channels/oauth/callback/", {"state": params["state"], "code": code}, follow=True)
    assert "expired" in expired.content.decode()

    params = _start(owner_client, workspace, net)
    admin = make_member(Role.ADMIN)
    other = Client()
    sign_in(other, admin.email)
    foreign = other.get("/channels/oauth/callback/", {"state": params["state"], "code": code})
    assert foreign.status_code == 400 and "started by someone else" in foreign.content.decode()
    assert not Channel.objects.exists()


def test_a_wrong_pkce_verifier_is_refused(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, app: OAuthApp
) -> None:
    account, _token = net.add_account("@brand", "Brand")
    params = _start(owner_client, workspace, net)
    code = net.grant_code(account.id, "a-different-challenge")
    response = owner_client.get("/channels/oauth/callback/", {"state": params["state"], "code": code}, follow=True)
    assert "The network refused the token" in response.content.decode()
    assert not Channel.objects.exists()


def test_a_denied_authorisation_is_reported(
    owner_client: Client, workspace: Workspace, net: FakeNetwork, app: OAuthApp
) -> None:
    params = _start(owner_client, workspace, net)
    response = owner_client.get(
        "/channels/oauth/callback/", {"state": params["state"], "error": "access_denied"}, follow=True
    )
    assert "did not grant access (access_denied)" in response.content.decode()


def test_without_an_app_the_page_says_so_and_the_api_refuses(
    owner: User, owner_client: Client, workspace: Workspace, net: FakeNetwork
) -> None:
    page = owner_client.get(f"/w/{workspace.slug}/channels/connect/fake_oauth/").content.decode()
    assert "No OAuth app is set up for this network yet." in page
    api = ApiClient(make_token(owner, workspace, ["write"]))
    response = api.post(
        f"/workspaces/{workspace.slug}/channels/oauth/start", {"network": "fake_oauth", "values": {"base_url": net.url}}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "oauth_not_configured"


def test_environment_app_and_api_start(
    owner: User, workspace: Workspace, net: FakeNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOKHAN_OAUTH_FAKE_OAUTH_CLIENT_ID", "env-client")
    monkeypatch.setenv("SOKHAN_OAUTH_FAKE_OAUTH_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SOKHAN_OAUTH_FAKE_OAUTH_BASE_URL", net.url)
    api = ApiClient(make_token(owner, workspace, ["write"]))
    response = api.post(
        f"/workspaces/{workspace.slug}/channels/oauth/start", {"network": "fake_oauth", "values": {"base_url": net.url}}
    )
    assert response.status_code == 200, response.content
    query = parse_qs(urlsplit(response.json()["authorize_url"]).query)
    assert query["client_id"] == ["env-client"]
    attempt = OAuthAttempt.objects.get(state=query["state"][0])
    assert attempt.user == owner and attempt.workspace == workspace and attempt.used_at is None


def test_oauth_apps_page_stores_the_secret_encrypted(owner_client: Client, workspace: Workspace, owner: User) -> None:
    response = owner_client.post(
        f"/w/{workspace.slug}/channels/oauth-apps/",
        {"network": "fake_oauth", "base_url": "", "client_id": "abc", "client_secret": "s3cret"},
        follow=True,
    )
    assert "OAuth app saved." in response.content.decode()
    row = OAuthApp.objects.get(workspace=workspace)
    assert row.client_secret == "s3cret"
    assert OAuthApp.objects.filter(client_secret__contains="s3cret").count() == 0  # ciphertext in the database
    # An empty secret keeps the stored one.
    owner_client.post(
        f"/w/{workspace.slug}/channels/oauth-apps/",
        {"network": "fake_oauth", "base_url": "", "client_id": "abc2", "client_secret": ""},
    )
    row.refresh_from_db()
    assert (row.client_id, row.client_secret) == ("abc2", "s3cret")
    manager = Membership.objects.create(
        workspace=workspace,
        user=User.objects.create_user("m@example.com", "correct horse battery staple"),
        role="manager",
    )
    client = Client()
    sign_in(client, manager.user.email)
    assert client.get(f"/w/{workspace.slug}/channels/oauth-apps/").status_code == 403
