"""Per-token fixed-window rate limiting."""

from __future__ import annotations

from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from tests.api.conftest import ApiClient, assert_error, make_token

from sokhan.core.models import User, Workspace


def test_limit_headers_then_429(owner: User, workspace: Workspace, settings: SettingsWrapper) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    api = ApiClient(make_token(owner, workspace, ["read"]))
    remaining = []
    for _ in range(3):
        response = api.get("/workspaces/acme")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        remaining.append(response["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]

    blocked = api.get("/workspaces/acme")
    assert_error(blocked, 429, "rate_limited")
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked["X-RateLimit-Remaining"] == "0"
    # Errors count too: a client hammering 404s is limited the same way.
    assert_error(api.get("/workspaces/elsewhere"), 429, "rate_limited")

    # The bucket is per token: another token of the same user is unaffected.
    other = ApiClient(make_token(owner, workspace, ["read"]))
    assert other.get("/workspaces/acme").status_code == 200


def test_session_is_limited_per_user(owner: User, workspace: Workspace, settings: SettingsWrapper) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    client = Client()
    client.force_login(owner)
    api = ApiClient(client=client)
    assert api.get("/me").status_code == 200
    assert_error(api.get("/me"), 429, "rate_limited")


def test_zero_disables_limiting(owner_api: ApiClient, settings: SettingsWrapper) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    for _ in range(5):
        response = owner_api.get("/me")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response
