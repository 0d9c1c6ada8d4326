"""What the analytics pages show: chart payloads (labels formatted here, in the viewer's calendar
and digits), CSV responses, and the context of each page. Views stay thin."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sokhan.analytics import besttime, goals
from sokhan.analytics.dashboard import (
    PERIODS,
    Change,
    Group,
    Period,
    PostRow,
    axis_label,
    compare,
    post_rows,
    top_posts,
    totals,
)
from sokhan.analytics.models import Goal
from sokhan.analytics.queries import account_series
from sokhan.analytics.rollups import workspace_zone
from sokhan.channels.models import Channel
from sokhan.core.calendars import CalendarName, weekday_name
from sokhan.core.models import Workspace

Cell = str | int | float | None


def calendar_of(request: HttpRequest) -> CalendarName:
    return "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"


def language_of(request: HttpRequest) -> str:
    return "fa" if (translation.get_language() or "").startswith("fa") else "en"


def today(workspace: Workspace) -> date:
    return timezone.now().astimezone(workspace_zone(workspace)).date()


def period_of(request: HttpRequest, workspace: Workspace) -> Period:
    raw = request.GET.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in PERIODS else 30
    return Period.ending(today(workspace), days)


def chart(kind: str, labels: Sequence[str], datasets: Sequence[tuple[str, Sequence[float | None]]]) -> dict[str, Any]:
    """A Chart.js payload; ``None`` values stay gaps (the script never spans them)."""
    return {"type": kind, "labels": list(labels), "datasets": [{"label": n, "data": list(d)} for n, d in datasets]}


def _ascii(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> HttpResponse:
    """UTF-8 with a BOM (Excel then reads Persian right), ASCII numbers, empty cells for missing."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_ascii(v) for v in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


POST_HEADER = (
    "target_id",
    "channel",
    "published_at",
    "kind",
    "engagements",
    "impressions",
    "reach",
    "engagement_rate_impressions",
    "engagement_rate_reach",
    "engagement_rate_followers",
)


def post_cells(rows: Iterable[PostRow]) -> list[list[Cell]]:
    return [
        [
            r.target_id,
            r.channel_name,
            r.published_at.isoformat(),
            r.kind,
            r.engagements,
            r.impressions,
            r.reach,
            r.rate_impressions,
            r.rate_reach,
            r.rate_followers,
        ]
        for r in rows
    ]


GROUP_HEADER = (
    "group",
    "posts",
    "engagements",
    "engagements_per_post",
    "engagement_rate_impressions",
    "engagement_rate_followers",
)


def group_cells(groups: Iterable[Group]) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    for g in groups:
        t = g.totals
        out.append([g.label, t.posts, t.engagements, t.engagements_per_post, t.rate_impressions, t.rate_followers])
    return out


def field_labels() -> dict[str, str]:
    return {
        "likes": _("Likes"),
        "comments": _("Comments"),
        "shares": _("Shares"),
        "saves": _("Saves"),
        "clicks": _("Clicks"),
        "views": _("Views"),
        "reach": _("Reach"),
        "impressions": _("Impressions"),
    }


def step_labels() -> dict[str, str]:
    """The post snapshot steps (``schedule.STEP_LABELS``) in words."""
    return {
        "1h": _("1 hour"),
        "6h": _("6 hours"),
        "24h": _("24 hours"),
        "3d": _("3 days"),
        "7d": _("7 days"),
        "30d": _("30 days"),
    }


def kind_labels() -> dict[str, str]:
    return {
        "text": _("Text"),
        "image": _("Image"),
        "video": _("Video"),
        "link": _("Link"),
        "thread": _("Thread"),
    }


def channel_summaries(
    request: HttpRequest, workspace: Workspace, period: Period
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per channel: followers at the end, growth and growth rate; and the followers chart."""
    calendar, language = calendar_of(request), language_of(request)
    channels = list(Channel.objects.filter(workspace=workspace).order_by("display_name", "pk"))
    summaries, datasets = [], []
    labels: list[str] = []
    for channel in channels:
        series = account_series(workspace, channel, period.start, period.end, "day")
        followers = [p.values["followers"] for p in series.points]
        known = [v for v in followers if v is not None]
        summaries.append(
            {
                "channel": channel,
                "followers": known[-1] if known else None,
                "growth": series.growth.value,
                "growth_rate": series.growth_rate.value,
            }
        )
        datasets.append((channel.display_name, [None if v is None else float(v) for v in followers]))
        labels = [axis_label(p.at.date(), calendar=calendar, language=language) for p in series.points]
    return summaries, chart("line", labels, datasets)


def overview(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    period = period_of(request, workspace)
    rows = post_rows(workspace, period)
    current, previous = totals(rows), totals(post_rows(workspace, period.previous()))
    summaries, followers_chart = channel_summaries(request, workspace, period)
    best = besttime.for_workspace(workspace, period.end)
    language = language_of(request)
    return {
        "period": period,
        "periods": PERIODS,
        "summaries": summaries,
        "followers_chart": followers_chart,
        "totals": current,
        "changes": compare(current, previous),
        "comparison": comparison(compare(current, previous)),
        "top": top_posts(rows),
        "best": best,
        "best_rows": heat_rows(best, language),
        "best_slots": [(weekday_name(c.weekday, language=language), c) for c in best.best(3)],
        "min_posts": besttime.MIN_POSTS,
        "lookback": besttime.LOOKBACK_DAYS,
        "min_per_slot": besttime.MIN_PER_SLOT,
        "goals": goal_statuses(workspace),
        "kinds": kind_labels(),
    }


def heat_rows(best: besttime.BestTime, language: str) -> list[tuple[str, list[tuple[besttime.Cell, int]]]]:
    """The heatmap's rows in week order; each cell with its shade (0–100, of the best rate)."""
    top = max((c.rate for c in best.cells.values() if c.rate is not None), default=0.0)
    return [
        (weekday_name(d, language=language), [(c, round((c.rate or 0) / top * 100) if top else 0) for c in best.row(d)])
        for d in best.weekdays
    ]


def comparison(changes: dict[str, Change]) -> list[tuple[str, int, Change]]:
    """The comparison table's rows: label, decimals (counts 0, rates 2) and the change."""
    labels = change_labels()
    return [
        (labels[key], 2 if key.startswith("rate") or key.endswith("per_post") else 0, c) for key, c in changes.items()
    ]


def change_labels() -> dict[str, str]:
    return {
        "posts": _("Posts"),
        "engagements": _("Engagements"),
        "impressions": _("Impressions"),
        "reach": _("Reach"),
        "rate_impressions": _("Engagement rate by impressions (%)"),
        "rate_reach": _("Engagement rate by reach (%)"),
        "rate_followers": _("Engagement rate by followers (%)"),
        "engagements_per_post": _("Engagements per post"),
    }


def goal_statuses(workspace: Workspace) -> list[goals.GoalStatus]:
    day = today(workspace)
    found = Goal.objects.filter(workspace=workspace).select_related("channel", "workspace")
    return [goals.status(goal, day) for goal in found]
