"""The inbox response report: reads the inbox's ``Message`` table for one workspace and hands plain
rows to the pure functions in ``sokhan.metrics.response``; also the CSV export.

Answers come from the inbox's ``answered_at``/``answered_by``. A message whose first answer had no
person behind it (``answered_by`` empty: an automatic reply by a rule, a reply written on the
network itself, or a member removed since) is answered, for the metrics, by the first outgoing
reply after it that was not automatic — or not at all. See docs/metrics.md.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from sokhan.core.calendars import CalendarName, first_weekday, format_date, month_name, to_calendar
from sokhan.core.errors import DomainError
from sokhan.core.models import Workspace
from sokhan.core.text import to_persian_digits
from sokhan.inbox.models import Direction, InboxSettings, Message, SendState
from sokhan.metrics.business_hours import BusinessHours, default_for
from sokhan.metrics.response import GROUPS, GroupBy, GroupKey, Received, Stats, compute

TIME_METRICS = ("first_response_time", "average_response_time", "median_response_time")


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group of the report: its key ("" for the total and for answers by no known person; a
    channel or user id; a bucket's first day as ISO date) and a label to show, then the metrics."""

    group_by: str
    key: str
    label: str
    business_hours: bool
    received: int
    answered: int
    response_rate: float | None
    conversations: int
    first_responses: int
    first_response_time: float | None
    average_response_time: float | None
    median_response_time: float | None


def workspace_zone(workspace: Workspace) -> str:
    """The zone days, weeks and months are cut in."""
    return workspace.timezone or settings.TIME_ZONE


def _calendar(workspace: Workspace) -> CalendarName:
    return "jalali" if workspace.calendar == "jalali" else "gregorian"


def workspace_business_hours(workspace: Workspace) -> BusinessHours:
    """The inbox settings' hours in their zone (empty: the workspace's), or the language's default."""
    row = InboxSettings.objects.filter(workspace=workspace).values("business_hours", "timezone").first()
    zone = (row and row["timezone"]) or workspace_zone(workspace)
    if row and row["business_hours"]:
        return BusinessHours.from_json(row["business_hours"], zone)
    return default_for(workspace.language, zone)


def _person(full_name: str | None, email: str | None) -> str:
    return full_name or email or ""


def load_received(
    workspace: Workspace, start: datetime, end: datetime
) -> tuple[list[Received], dict[str, dict[Any, str]]]:
    """The received messages needing a response written in ``[start, end)``, with their answers by
    a person; and the labels of their channels and answerers. One query, and a second only when
    some first answers had no person behind them."""
    received = Message.objects.filter(
        workspace=workspace,
        direction=Direction.IN,
        needs_response=True,
        created_at__gte=start,
        created_at__lt=end,
    )
    values = list(
        received.order_by().values(
            "id",
            "conversation_id",
            "channel_id",
            "created_at",
            "answered_at",
            "answered_by_id",
            "channel__display_name",
            "answered_by__full_name",
            "answered_by__email",
        )
    )
    labels: dict[str, dict[Any, str]] = {"channel": {}, "agent": {}}
    for v in values:
        labels["channel"][v["channel_id"]] = v["channel__display_name"]
        if v["answered_by_id"] is not None:
            labels["agent"][v["answered_by_id"]] = _person(v["answered_by__full_name"], v["answered_by__email"])

    # Answered, but not by a person: find the first reply after it that a person (or the team on
    # the network) wrote. Replies before ``start`` cannot answer messages written after it.
    replies: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    if any(v["answered_at"] is not None and v["answered_by_id"] is None for v in values):
        unclaimed = received.filter(answered_at__isnull=False, answered_by__isnull=True).values("conversation_id")
        outgoing = (
            Message.objects.filter(
                workspace=workspace,
                direction=Direction.OUT,
                automatic=False,
                send_state__in=[SendState.SENT, SendState.RECEIVED],
                created_at__gte=start,
                conversation_id__in=unclaimed,
            )
            .order_by("conversation_id", "created_at", "id")
            .values("conversation_id", "created_at", "sent_by_id", "sent_by__full_name", "sent_by__email")
        )
        for reply in outgoing:
            replies[reply["conversation_id"]].append((reply["created_at"], reply["sent_by_id"]))
            if reply["sent_by_id"] is not None:
                labels["agent"][reply["sent_by_id"]] = _person(reply["sent_by__full_name"], reply["sent_by__email"])

    rows = []
    for v in values:
        answered_at, answered_by = v["answered_at"], v["answered_by_id"]
        if answered_at is not None and answered_by is None:
            answered_at = None
            thread = replies.get(v["conversation_id"], [])
            at = bisect_left(thread, v["created_at"], key=lambda reply: reply[0])
            if at < len(thread):
                answered_at, answered_by = thread[at]
        rows.append(
            Received(
                id=v["id"],
                conversation_id=v["conversation_id"],
                channel_id=v["channel_id"],
                created_at=v["created_at"],
                answered_at=answered_at,
                answered_by_id=answered_by,
            )
        )
    return rows, labels


def _bucket_label(start: date, group_by: str, *, calendar: CalendarName, language: str) -> str:
    if group_by == "month":
        year, month, _day = to_calendar(start, calendar)
        text = f"{month_name(month, calendar=calendar, language=language)} {year}"
        return to_persian_digits(text) if language.startswith("fa") else text
    return format_date(start, calendar=calendar, language=language)


def response_report(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    *,
    group_by: str = "total",
    business_hours: bool = False,
) -> list[ReportRow]:
    """The response metrics of ``workspace`` for messages written in ``[start, end)``, grouped by
    ``total``, ``channel``, ``agent`` (who answered; answered messages only), ``day``, ``week`` or
    ``month`` (in the workspace's zone, week and month as its calendar has them), with times in all
    hours or only business hours."""
    if group_by not in GROUPS:
        raise DomainError(
            _("Unknown grouping %(group)s: use one of %(choices)s.")
            % {"group": group_by, "choices": ", ".join(GROUPS)},
            fields={"group_by": "invalid"},
        )
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the report needs aware datetimes")
    if end <= start:
        raise DomainError(_("The period must end after it starts."), fields={"end": "invalid"})
    grouping: GroupBy = group_by  # narrowed by the check above
    calendar = _calendar(workspace)
    hours = workspace_business_hours(workspace) if business_hours else None
    rows, labels = load_received(workspace, start, end)
    results = compute(
        rows,
        start=start,
        end=end,
        group_by=grouping,
        hours=hours,
        zone=workspace_zone(workspace),
        week_start=_week_start(workspace),
        calendar=calendar,
    )

    def label(key: GroupKey) -> str:
        if grouping == "total":
            return _("All channels")
        if isinstance(key, date):
            return _bucket_label(key, grouping, calendar=calendar, language=workspace.language)
        if key is None:
            return _("Unknown person")
        return labels[grouping].get(key, "") or str(key)

    report = [_row(grouping, key, label(key), business_hours, result) for key, result in results]
    if grouping in ("channel", "agent"):
        report.sort(key=lambda r: (r.key == "", r.label.casefold(), r.key))
    return report


def _week_start(workspace: Workspace) -> int:
    return first_weekday(calendar=_calendar(workspace), language=workspace.language)


def _row(group_by: GroupBy, key: GroupKey, label: str, business_hours: bool, result: Stats) -> ReportRow:
    text = "" if key is None else key.isoformat() if isinstance(key, date) else str(key)
    return ReportRow(
        group_by=group_by,
        key=text,
        label=label,
        business_hours=business_hours,
        received=result.received,
        answered=result.answered,
        response_rate=result.response_rate,
        conversations=result.conversations,
        first_responses=result.first_responses,
        first_response_time=result.first_response_time,
        average_response_time=result.average_response_time,
        median_response_time=result.median_response_time,
    )


# ---------------------------------------------------------------------------------------------
# CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    """Neutralise spreadsheet formulas (channel and member names are user input)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_header(*, business_hours: bool) -> list[str]:
    """Metric columns are named after their definitions (``sokhan metrics list`` gives versions)."""
    suffix = "_business_hours" if business_hours else ""
    return [
        "group_by",
        "key",
        "label",
        "received",
        "answered",
        "response_rate",
        "conversations",
        "first_responses",
        *(name + suffix for name in TIME_METRICS),
    ]


def report_csv(rows: list[ReportRow], *, business_hours: bool | None = None) -> str:
    """The rows as CSV (UTF-8 with a BOM so Excel shows Persian correctly): rate as a ratio with
    four decimals, times in seconds with one; empty cells where there is nothing to measure."""
    variants = {row.business_hours for row in rows}
    if len(variants) > 1:
        raise ValueError("one CSV holds one variant (all hours or business hours)")
    if business_hours is None:
        business_hours = variants.pop() if variants else False
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(business_hours=business_hours))
    for row in rows:
        writer.writerow(
            [
                row.group_by,
                row.key,
                _safe(row.label),
                row.received,
                row.answered,
                _number(row.response_rate, 4),
                row.conversations,
                row.first_responses,
                _number(row.first_response_time, 1),
                _number(row.average_response_time, 1),
                _number(row.median_response_time, 1),
            ]
        )
    return out.getvalue()
