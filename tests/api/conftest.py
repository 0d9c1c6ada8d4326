"""API test helpers: a client that speaks JSON, and tokens for members."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import token_create


class ApiClient:
    """``Client`` with the API prefix, JSON bodies and an optional bearer token."""

    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.token = token

    def request(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        headers: dict[str, str] = dict(extra.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs: dict[str, Any] = {"headers": headers, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return self.client.generic(method, f"/api/v1{path}", **kwargs)

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.client.get(
            f"/api/v1{path}",
            params or {},
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
            **extra,
        )

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.request("POST", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.request("PATCH", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.request("DELETE", path, **extra)


def make_token(user: User, workspace: Workspace, scopes: list[str], **kwargs: Any) -> str:
    membership = Membership.objects.select_related("workspace", "user").get(user=user, workspace=workspace)
    _token, raw = token_create(actor=membership, name=f"{user.email} {','.join(scopes)}", scopes=scopes, **kwargs)
    return raw


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error format: status, ``{"error": {"code", "message", "fields"}}``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Rate-limit counters live in the cache and token ids repeat across rolled-back tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner_api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["admin"]))
