"""The audit log over the API: filters, pagination and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from tests.api.conftest import ApiClient, assert_error

from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import audit_record


@pytest.fixture
def history(owner: User, workspace: Workspace, make_member) -> User:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR)
    AuditEvent.objects.filter(workspace=workspace).delete()
    rows = [
        (
            datetime(2025, 3, 20, 10, 0, tzinfo=UTC),
            owner,
            "member.invite",
            "ali@example.com",
            {"role": "editor"},
        ),
        (
            datetime(2025, 3, 21, 10, 0, tzinfo=UTC),
            owner,
            "member.role",
            editor.email,
            {"from": "a", "to": "b"},
        ),
        (datetime(2025, 3, 22, 10, 0, tzinfo=UTC), editor, "token.create", "CI", {"scopes": ["read"]}),
        (
            datetime(2025, 3, 23, 10, 0, tzinfo=UTC),
            owner,
            "workspace.settings",
            "",
            {"name": ["سخن", "=cmd"]},
        ),
    ]
    for when, actor, action, target, data in rows:
        event = audit_record(workspace=workspace, actor=actor, action=action, target=target, data=data, ip="10.0.0.1")
        AuditEvent.objects.filter(pk=event.pk).update(created_at=when)
    return editor


def test_list_newest_first_with_filters(owner_api: ApiClient, history: User) -> None:
    body = owner_api.get("/workspaces/acme/audit").json()
    actions = [e["action"] for e in body["results"]]
    assert actions == ["workspace.settings", "token.create", "member.role", "member.invite"]
    assert body["results"][0]["actor"] == "owner@example.com"
    assert body["results"][0]["data"] == {"name": ["سخن", "=cmd"]}
    assert owner_api.get("/workspaces/acme/audit", {"action": "member"}).json()["count"] == 2
    assert owner_api.get("/workspaces/acme/audit", {"action": "member.role"}).json()["count"] == 1
    assert owner_api.get("/workspaces/acme/audit", {"action": "mem"}).json()["count"] == 0
    by_editor = owner_api.get("/workspaces/acme/audit", {"actor": history.email.upper()}).json()
    assert [e["action"] for e in by_editor["results"]] == ["token.create"]
    window = owner_api.get(
        "/workspaces/acme/audit", {"since": "2025-03-21T00:00:00Z", "until": "2025-03-23T00:00:00Z"}
    ).json()
    assert [e["action"] for e in window["results"]] == ["token.create", "member.role"]
    paged = owner_api.get("/workspaces/acme/audit", {"limit": 2, "action": "member"}).json()
    assert paged["count"] == 2 and paged["next"] is None


def test_naive_dates_mean_the_workspace_clock(owner_api: ApiClient, history: User) -> None:
    # Asia/Tehran is UTC+03:30: 13:30 local is 10:00 UTC, the moment of the member.role event.
    body = owner_api.get(
        "/workspaces/acme/audit", {"since": "2025-03-21T13:30:00", "until": "2025-03-21T13:31:00"}
    ).json()
    assert [e["action"] for e in body["results"]] == ["member.role"]


def test_bad_filters(owner_api: ApiClient, history: User) -> None:
    error = assert_error(owner_api.get("/workspaces/acme/audit", {"since": "yesterday"}), 422)
    assert set(error["fields"]) == {"since"}
    error = assert_error(owner_api.get("/workspaces/acme/audit", {"since": "2025-03-23", "until": "2025-03-21"}), 400)
    assert set(error["fields"]) == {"since"}


def test_csv_export(owner_api: ApiClient, history: User) -> None:
    response = owner_api.get("/workspaces/acme/audit/export", {"until": "2025-03-24T00:00:00Z"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-acme-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["created_at", "actor", "action", "target", "data", "ip"]
    assert [r[2] for r in rows[1:]] == ["workspace.settings", "token.create", "member.role", "member.invite"]
    settings_row = rows[1]
    assert settings_row[0] == "2025-03-23T10:00:00+00:00"
    assert settings_row[1] == "owner@example.com"
    assert settings_row[4] == '{"name": ["سخن", "=cmd"]}'  # Persian kept readable
    assert settings_row[5] == "10.0.0.1"
    assert rows[2][1] == history.email


def test_csv_cells_cannot_become_formulas(owner: User, workspace: Workspace, owner_api: ApiClient) -> None:
    audit_record(workspace=workspace, actor=owner, action="member.invite", target='=HYPERLINK("http://x")')
    text = b"".join(owner_api.get("/workspaces/acme/audit/export", {"action": "member"}).streaming_content)
    rows = list(csv.reader(io.StringIO(text.decode().lstrip("\ufeff"))))
    assert rows[1][3] == '\'=HYPERLINK("http://x")'


def test_audit_needs_the_permission(workspace: Workspace, make_member) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    analyst = make_member(Role.ANALYST)
    client = Client()
    client.force_login(analyst)
    assert_error(ApiClient(client=client).get("/workspaces/acme/audit/export"), 403, "forbidden")
