"""One error format for every failure, and list pagination."""

from __future__ import annotations

import pytest
from django.db.models.query import QuerySet
from tests.api.conftest import ApiClient, assert_error

from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role


def test_validation_error_names_the_fields(owner_api: ApiClient) -> None:
    error = assert_error(
        owner_api.post("/workspaces/acme/invitations", {"email": "x@example.com"}), 422, "validation_failed"
    )
    assert set(error["fields"]) == {"role"}
    assert "role" in error["message"]
    error = assert_error(owner_api.patch("/workspaces/acme/members/abc", {"role": "viewer"}), 422)
    assert set(error["fields"]) == {"member_id"}


def test_malformed_json_is_a_clear_error(owner_api: ApiClient) -> None:
    response = owner_api.client.patch(
        "/api/v1/workspaces/acme",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner_api.token}"},
    )
    assert "JSON" in assert_error(response, 400, "invalid_body")["message"]


def test_unknown_workspace_and_unknown_path_are_json_404(owner_api: ApiClient) -> None:
    assert_error(owner_api.get("/workspaces/nowhere"), 404, "not_found")
    assert_error(owner_api.get("/no/such/endpoint"), 404, "not_found")
    assert_error(owner_api.get("/"), 404, "not_found")


def test_wrong_method_is_json_405(owner_api: ApiClient) -> None:
    response = owner_api.request("PUT", "/workspaces/acme")
    assert_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


def test_unexpected_failure_is_json_500_without_internals(
    owner_api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Simulate the database failing mid-request (Django's QuerySet, not our code).
    def broken(self: QuerySet[object]) -> int:
        raise RuntimeError("connection to server lost: secret-internal-detail")

    monkeypatch.setattr(QuerySet, "count", broken)
    response = owner_api.get("/workspaces/acme/members")
    error = assert_error(response, 500, "server_error")
    assert "secret-internal-detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "secret-internal-detail" in caplog.text  # but the operator's log has it
    assert error["fields"] == {}


@pytest.fixture
def crowd(workspace: Workspace, make_member) -> list[User]:  # type: ignore[no-untyped-def]
    return [make_member(Role.VIEWER, email=f"viewer{i}@example.com") for i in range(6)]


def test_pagination_count_next_previous(owner_api: ApiClient, crowd: list[User]) -> None:
    first = owner_api.get("/workspaces/acme/members", {"limit": 3}).json()
    assert first["count"] == 7
    assert len(first["results"]) == 3
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/workspaces/acme/members?")
    second = owner_api.client.get(first["next"], headers={"Authorization": f"Bearer {owner_api.token}"}).json()
    third = owner_api.client.get(second["next"], headers={"Authorization": f"Bearer {owner_api.token}"}).json()
    assert len(second["results"]) == 3 and len(third["results"]) == 1
    assert third["next"] is None and third["previous"] is not None
    emails = [m["email"] for page in (first, second, third) for m in page["results"]]
    assert len(set(emails)) == 7  # no row twice, none skipped
    assert emails[0] == "owner@example.com"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_page_params_are_named(owner_api: ApiClient, params: dict[str, object], field: str) -> None:
    error = assert_error(owner_api.get("/workspaces/acme/members", params), 422, "validation_failed")
    assert set(error["fields"]) == {field}


def test_offset_past_the_end_is_an_empty_page(owner_api: ApiClient) -> None:
    body = owner_api.get("/workspaces/acme/members", {"offset": 50}).json()
    assert body["count"] == 1 and body["results"] == [] and body["next"] is None
