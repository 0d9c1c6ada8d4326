"""The workspace audit log: filter, page through, export as CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from sokhan.core.models import AuditEvent, Membership
from sokhan.core.permissions import Perm
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.activity import action_label, details_lines, details_text
from sokhan.web.forms import AuditFilterForm
from sokhan.web.views.common import is_htmx

PAGE_SIZE = 50
CSV_HEADER = ["time_utc", "time_local", "actor", "action", "target", "details", "ip"]


def _filtered(membership: Membership, form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(workspace=membership.workspace).select_related("actor")
    if not form.is_valid():
        return events
    data = form.cleaned_data
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("actor"):
        events = events.filter(actor_label=data["actor"])
    tz = timezone.get_current_timezone()  # the viewer's: days start at their midnight
    if data.get("since"):
        events = events.filter(created_at__gte=dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz))
    if data.get("until"):
        end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        events = events.filter(created_at__lt=end)
    return events


@workspace_page(Perm.AUDIT_VIEW)
def audit_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = AuditFilterForm(
        request.GET or None, workspace=membership.workspace, calendar=getattr(request, "sokhan_calendar", "")
    )
    page = Paginator(_filtered(membership, form), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = workspace_context(
        membership,
        "audit",
        form=form,
        page=page,
        rows=[(event, action_label(event.action), details_lines(event)) for event in page.object_list],
        query=query.urlencode(),
    )
    template = "web/workspace/_audit_results.html" if is_htmx(request) else "web/workspace/audit.html"
    return render(request, template, context)


def _csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value: str) -> str:
        return value


@workspace_page(Perm.AUDIT_VIEW)
def audit_export(request: HttpRequest, membership: Membership) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET or None, workspace=membership.workspace)
    events = _filtered(membership, form)
    writer = csv.writer(_Echo())
    tz = timezone.get_current_timezone()

    def rows() -> Iterator[str]:
        yield "\ufeff"  # BOM: Excel then reads the file as UTF-8 and shows Persian correctly
        yield writer.writerow(CSV_HEADER)
        for event in events.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    event.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                    event.created_at.astimezone(tz).isoformat(timespec="seconds"),
                    _csv_cell(event.actor_label),
                    _csv_cell(event.action),
                    _csv_cell(event.target),
                    _csv_cell(details_text(event.data)),
                    event.ip or "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="audit-{membership.workspace.slug}-{stamp}.csv"'
    return response
