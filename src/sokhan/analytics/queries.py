"""Reads for the API and, later, the dashboards: an account series with gaps, and one published
target's metrics (latest and per step) with the rates computed from them. Every read takes the
workspace and filters by it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sokhan.analytics.models import ACCOUNT_FIELDS, POST_FIELDS, AccountDaily, AccountSnapshot, PostSnapshot
from sokhan.analytics.rollups import day_bounds, workspace_zone
from sokhan.analytics.schedule import STEP_LABELS, STEPS
from sokhan.analytics.series import aggregate, days, grid, grid_floor, with_gaps
from sokhan.channels.models import Channel
from sokhan.core.models import Workspace
from sokhan.metrics import formulas
from sokhan.metrics.definitions import ACCOUNT_DAILY, ENGAGEMENT_PARTS
from sokhan.publishing.models import PostTarget

Interval = Literal["day", "snapshot"]
INTERVALS: tuple[Interval, ...] = ("day", "snapshot")


@dataclass
class Point:
    at: datetime  # the bucket's start: local midnight (day) or the grid slot (snapshot)
    values: dict[str, int | None]


@dataclass
class AccountSeries:
    interval: Interval
    timezone: str
    points: list[Point]
    missing: dict[str, int]  # per field, the buckets without a value
    growth: formulas.Value
    growth_rate: formulas.Value
    definition: tuple[str, int] | None = None  # the rollup's definition (day interval)


def account_series(workspace: Workspace, channel: Channel, start: date, end: date, interval: Interval) -> AccountSeries:
    """One point per day (from the daily rollup) or per grid slot (raw snapshots) from ``start`` to
    ``end`` (local days, both included); buckets without data are there with ``None`` values."""
    zone = workspace_zone(workspace)
    keyed: dict[datetime, dict[str, int | None]] = {}
    if interval == "day":
        rows = AccountDaily.objects.filter(workspace=workspace, channel=channel, day__gte=start, day__lte=end)
        for row in rows.values("day", *ACCOUNT_FIELDS):
            keyed[day_bounds(row.pop("day"), zone)[0]] = row
        keys = [day_bounds(day, zone)[0] for day in days(start, end)]
    else:
        lo, hi = day_bounds(start, zone)[0], day_bounds(end, zone)[1]
        snapshots = AccountSnapshot.objects.filter(
            workspace=workspace, channel=channel, taken_at__gte=lo, taken_at__lt=hi
        ).order_by("taken_at", "pk")
        for row in snapshots.values("taken_at", *ACCOUNT_FIELDS):
            keyed[grid_floor(row.pop("taken_at"), zone)] = row  # the slot's last snapshot wins
        # Aware datetimes compare (and hash) by instant: UTC slots find the local keys.
        keys = [point.astimezone(zone) for point in grid(start, end, zone)]
    empty: dict[str, int | None] = dict.fromkeys(ACCOUNT_FIELDS)
    points = [Point(at, values or dict(empty)) for at, values in with_gaps(keys, keyed)]
    missing = {name: sum(1 for p in points if p.values[name] is None) for name in ACCOUNT_FIELDS}
    followers = aggregate((p.values["followers"] for p in points), "first")
    last = aggregate((p.values["followers"] for p in points), "last")
    # Growth needs two known counts: with one, start and end would be the same measurement.
    enough = followers.points >= 2
    first_value = _int(followers.value) if enough else None
    last_value = _int(last.value) if enough else None
    return AccountSeries(
        interval=interval,
        timezone=zone.key,
        points=points,
        missing=missing,
        growth=formulas.follower_growth(first_value, last_value),
        growth_rate=formulas.follower_growth_rate(first_value, last_value),
        definition=(ACCOUNT_DAILY.name, ACCOUNT_DAILY.version) if interval == "day" else None,
    )


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def followers_at(workspace: Workspace, channel_id: int, at: datetime) -> int | None:
    """The channel's follower count from its latest account snapshot with one, at or before ``at``."""
    value: int | None = (
        AccountSnapshot.objects.filter(
            workspace=workspace, channel_id=channel_id, taken_at__lte=at, followers__isnull=False
        )
        .order_by("-taken_at", "-pk")
        .values_list("followers", flat=True)
        .first()
    )
    return value


@dataclass
class StepMetrics:
    step: int
    label: str
    due_at: datetime | None  # when the step was due (None before publishing is known)
    snapshot: dict[str, Any] | None  # taken_at and the metrics; None: a gap (or not yet due)


@dataclass
class PostMetricsView:
    target: PostTarget
    steps: list[StepMetrics]
    latest: dict[str, Any] | None
    rates: dict[str, formulas.Value] = field(default_factory=dict)
    breakdown: dict[str, formulas.Value] = field(default_factory=dict)


def post_metrics(workspace: Workspace, target: PostTarget) -> PostMetricsView:
    """A target's snapshots, one per step (``None`` where a step has none), the latest one, and
    the rates of the latest snapshot (followers as of that snapshot)."""
    rows = {
        row["step"]: row
        for row in PostSnapshot.objects.filter(workspace=workspace, target=target).values(
            "step", "taken_at", *POST_FIELDS
        )
    }
    published = target.published_at
    steps = [
        StepMetrics(i, STEP_LABELS[i], published + STEPS[i] if published else None, rows.get(i))
        for i in range(len(STEPS))
    ]
    latest = max(rows.values(), key=lambda row: (row["taken_at"], row["step"])) if rows else None
    view = PostMetricsView(target=target, steps=steps, latest=latest)
    if latest is not None:
        parts = {name: latest[name] for name in ENGAGEMENT_PARTS}
        followers = followers_at(workspace, target.channel_id, latest["taken_at"])
        view.rates = {
            "engagements": formulas.engagements(parts),
            "engagement_rate_impressions": formulas.engagement_rate_impressions(parts, latest["impressions"]),
            "engagement_rate_reach": formulas.engagement_rate_reach(parts, latest["reach"]),
            "engagement_rate_followers": formulas.engagement_rate_followers(parts, followers),
            "amplification_rate": formulas.amplification_rate(latest["shares"], followers),
        }
        view.breakdown = formulas.engagement_breakdown(parts)
    return view
