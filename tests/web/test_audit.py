"""The audit log page: filters, pagination, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from django.test import Client

from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.services import audit_record
from sokhan.web.views.audit import PAGE_SIZE


def _event(workspace: Workspace, actor: User | None, action: str, when: datetime, **kw: object) -> AuditEvent:
    event = audit_record(workspace=workspace, actor=actor, action=action, **kw)  # type: ignore[arg-type]
    AuditEvent.objects.filter(pk=event.pk).update(created_at=when)
    return event


def test_filters_by_action_actor_and_jalali_date(owner_client: Client, owner: User, workspace: Workspace) -> None:
    other = User.objects.create_user("ali@example.com", "x" * 12)
    _event(workspace, owner, "post.publish", datetime(2025, 3, 19, 12, tzinfo=UTC), target="last day of 1403")
    _event(workspace, other, "post.publish", datetime(2025, 3, 21, 12, tzinfo=UTC), target="nowruz 1404")
    _event(workspace, owner, "channel.connect", datetime(2025, 3, 21, 13, tzinfo=UTC), target="telegram")
    url = f"/w/{workspace.slug}/audit/"

    by_action = owner_client.get(url, {"action": "post.publish"}).content.decode()
    assert "nowruz 1404" in by_action and "last day of 1403" in by_action and "telegram" not in by_action

    by_actor = owner_client.get(url, {"actor": "ali@example.com"}).content.decode()
    assert "nowruz 1404" in by_actor and "last day of 1403" not in by_actor

    # 1404/01/01 (Nowruz) is 2025-03-21; Persian digits are accepted.
    nowruz = owner_client.get(url, {"since": "۱۴۰۴/۰۱/۰۱", "until": "1404-01-01"}).content.decode()
    assert "nowruz 1404" in nowruz and "telegram" in nowruz and "last day of 1403" not in nowruz
    same = owner_client.get(url, {"since": "2025-03-21", "until": "2025-03-21"}).content.decode()
    assert "nowruz 1404" in same and "last day of 1403" not in same

    bad = owner_client.get(url, {"since": "1404/13/01"}).content.decode()
    assert "out of range" in bad


def test_htmx_filter_returns_only_the_results(owner_client: Client, workspace: Workspace) -> None:
    response = owner_client.get(f"/w/{workspace.slug}/audit/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<table" in html and "<html" not in html


def test_pagination(owner_client: Client, owner: User, workspace: Workspace) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(PAGE_SIZE + 5):
        _event(workspace, owner, "test.event", start + timedelta(minutes=i), target=f"event-{i:03d}")
    url = f"/w/{workspace.slug}/audit/"
    first = owner_client.get(url, {"action": "test.event"}).content.decode()
    assert f"event-{PAGE_SIZE + 4:03d}" in first and "event-000" not in first  # newest first
    assert "page=2" in first and "action=test.event" in first
    second = owner_client.get(url, {"action": "test.event", "page": "2"}).content.decode()
    assert "event-000" in second and f"event-{PAGE_SIZE + 4:03d}" not in second


def test_csv_export_is_utf8_with_bom_and_safe(owner_client: Client, owner: User, workspace: Workspace) -> None:
    _event(
        workspace,
        owner,
        "workspace.settings",
        datetime(2025, 3, 21, 8, 30, tzinfo=UTC),
        target='=HYPERLINK("http://evil")',
        data={"name": ["قهوه", "قهوهٔ آکمه"]},
        ip="10.9.8.7",
    )
    response = owner_client.get(f"/w/{workspace.slug}/audit/export.csv", {"action": "workspace.settings"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="audit-{workspace.slug}-' in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["time_utc", "time_local", "actor", "action", "target", "details", "ip"]
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == "2025-03-21T08:30:00+00:00"
    assert row[1] == "2025-03-21T12:00:00+03:30"  # the viewer's (workspace's) Tehran time
    assert row[2:5] == ["owner@example.com", "workspace.settings", '\'=HYPERLINK("http://evil")']
    assert "قهوهٔ آکمه" in row[5]
    assert row[6] == "10.9.8.7"
