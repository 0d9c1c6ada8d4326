"""The workspace audit log: filtered, paginated JSON and a CSV export with the same filters."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from sokhan.api.auth import access, access_of
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.errors import DomainError
from sokhan.core.models import AuditEvent, Workspace
from sokhan.core.permissions import Perm

router = Router(tags=["audit"])

CSV_COLUMNS = ("created_at", "actor", "action", "target", "data", "ip")


class AuditOut(Schema):
    id: int
    created_at: datetime
    actor: str
    action: str
    target: str
    data: dict[str, Any]
    ip: str | None

    @staticmethod
    def resolve_actor(obj: AuditEvent) -> str:
        return obj.actor_label


class AuditPage(PageMeta):
    results: list[AuditOut]


class AuditFilter(Schema):
    action: str | None = Field(None, max_length=64, description="Exact action, or a prefix like 'member'.")
    actor: str | None = Field(None, max_length=254, description="The actor's email.")
    since: datetime | None = Field(None, description="From this moment (inclusive). ISO 8601.")
    until: datetime | None = Field(None, description="Before this moment (exclusive). ISO 8601.")


class AuditListFilter(AuditFilter, PageParams):
    pass


def _aware(value: datetime, workspace: Workspace) -> datetime:
    # A bare date-time means the workspace's wall clock, the way its members read the log.
    if timezone.is_naive(value):
        return value.replace(tzinfo=ZoneInfo(workspace.timezone))
    return value


def audit_events(workspace: Workspace, filters: AuditFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(workspace=workspace)
    if filters.action:
        events = events.filter(Q(action=filters.action) | Q(action__startswith=filters.action.rstrip(".") + "."))
    if filters.actor:
        events = events.filter(actor_label__iexact=filters.actor.strip())
    since = _aware(filters.since, workspace) if filters.since else None
    until = _aware(filters.until, workspace) if filters.until else None
    if since and until and since >= until:
        raise DomainError(_("'since' must be before 'until'."), fields={"since": "after_until"})
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-id")


@router.get(
    "/workspaces/{ws}/audit",
    response={200: AuditPage, **ERRORS},
    auth=access(Perm.AUDIT_VIEW),
)
def audit_list(request: HttpRequest, ws: str, filters: Query[AuditListFilter]) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return paginate(request, audit_events(workspace, filters), filters)


def _cell(value: str) -> str:
    # Spreadsheets run cells starting with these as formulas; a leading quote keeps them text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)  # BOM: Excel then reads Persian text as UTF-8
    for event in events.iterator(chunk_size=500):
        yield writer.writerow(
            [
                event.created_at.astimezone(ZoneInfo("UTC")).isoformat(),
                _cell(event.actor_label),
                _cell(event.action),
                _cell(event.target),
                _cell(json.dumps(event.data, ensure_ascii=False, sort_keys=True)) if event.data else "",
                event.ip or "",
            ]
        )


@router.get(
    "/workspaces/{ws}/audit/export",
    response={200: None, **ERRORS},
    auth=access(Perm.AUDIT_VIEW),
    summary="Audit log as CSV",
)
def audit_export(request: HttpRequest, ws: str, filters: Query[AuditFilter]) -> StreamingHttpResponse:
    workspace = access_of(request).workspace_membership.workspace
    events = audit_events(workspace, filters)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{workspace.slug}-{stamp}.csv"'
    return response
