"""Analytics over the API: each channel's collection status, an account series with gaps, and one
published target's metrics. Every route needs ``analytics.view``; ids are looked up inside the
workspace of the URL, so another workspace's channel or target is a 404. See docs/analytics.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from sokhan.analytics.models import ACCOUNT_FIELDS, ChannelCollection, PostCollection
from sokhan.analytics.queries import INTERVALS, account_series, post_metrics
from sokhan.analytics.rollups import workspace_zone
from sokhan.analytics.schedule import DONE, STEP_LABELS
from sokhan.api.auth import access, access_of
from sokhan.api.schemas import ERRORS
from sokhan.channels.calls import connector_class
from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.core.permissions import Perm
from sokhan.core.scoping import scoped, scoped_get_or_404
from sokhan.metrics.formulas import Value
from sokhan.networks.types import Capability
from sokhan.publishing.models import PostTarget

router = Router(tags=["analytics"])

BASE = "/workspaces/{ws}/analytics"
DEFAULT_DAYS = 30
MAX_DAYS = {"day": 366, "snapshot": 92}


class MetricValue(Schema):
    value: float | None
    name: str = Field(description="The metric definition (`sokhan metrics list`).")
    version: int
    reason: str | None = Field(description="Why there is no value: `missing` or `zero_denominator`.")


def value_out(value: Value) -> dict[str, Any]:
    return {"value": value.value, "name": value.name, "version": value.version, "reason": value.reason}


class ChannelRef(Schema):
    id: int
    network: str
    name: str


def channel_ref(channel: Channel) -> dict[str, Any]:
    return {"id": channel.pk, "network": channel.network, "name": channel.display_name}


# ---------------------------------------------------------------------------------------------
# Collection status


class CollectionOut(Schema):
    channel: ChannelRef
    account_metrics: bool = Field(description="The network gives account metrics.")
    post_metrics: bool = Field(description="The network gives post metrics.")
    account_due_at: datetime | None
    last_ok_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    waiting_until: datetime | None = Field(description="No collection before this (a rate limit or a backoff).")
    posts_due: int = Field(description="Published posts with a snapshot due now.")


@router.get(f"{BASE}/channels", response={200: list[CollectionOut], **ERRORS}, auth=access(Perm.ANALYTICS_VIEW))
def analytics_channels(request: HttpRequest, ws: str) -> list[dict[str, Any]]:
    """Every channel of the workspace with what its network gives and how collection is going."""
    workspace = access_of(request).workspace_membership.workspace
    now = timezone.now()
    states = {row.channel_id: row for row in scoped(ChannelCollection, workspace)}
    due = dict(
        scoped(PostCollection, workspace)
        .filter(due_at__lte=now)
        .values("channel_id")
        .annotate(n=Count("pk"))
        .values_list("channel_id", "n")
    )
    out = []
    for channel in scoped(Channel, workspace).order_by("network", "display_name", "pk"):
        try:
            cls = connector_class(channel.network)
        except DomainError:
            continue
        state = states.get(channel.pk)
        hold = state.hold_until if state and state.hold_until and state.hold_until > now else None
        out.append(
            {
                "channel": channel_ref(channel),
                "account_metrics": cls.has(Capability.ACCOUNT_METRICS),
                "post_metrics": cls.has(Capability.POST_METRICS),
                "account_due_at": state.account_due_at if state else None,
                "last_ok_at": state.last_ok_at if state else None,
                "last_error": state.last_error if state else "",
                "last_error_at": state.last_error_at if state else None,
                "waiting_until": hold if state and state.failures else None,
                "posts_due": due.get(channel.pk, 0),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Account series


class SeriesParams(Schema):
    start: date | None = Field(None, description="First day (ISO date), in the workspace's zone; default 29 days ago.")
    end: date | None = Field(None, description="Last day, included; default today.")
    interval: str = Field(
        "day", description="`day`: the daily rollup, one point per day; `snapshot`: one point per snapshot slot."
    )


class AccountPoint(Schema):
    at: datetime = Field(description="The bucket's start: local midnight, or the snapshot slot.")
    followers: int | None
    following: int | None
    posts: int | None
    reach: int | None
    impressions: int | None
    views: int | None


class RollupRef(Schema):
    name: str
    version: int


class AccountSeriesOut(Schema):
    channel: ChannelRef
    start: date
    end: date
    timezone: str
    interval: str
    rollup: RollupRef | None = Field(description="The definition the daily values were rolled up with.")
    points: list[AccountPoint] = Field(description="Every bucket of the period; null where nothing was measured.")
    missing: dict[str, int] = Field(description="Per field, the buckets without a value.")
    follower_growth: MetricValue
    follower_growth_rate: MetricValue


@router.get(
    f"{BASE}/channels/{{channel_id}}/account",
    response={200: AccountSeriesOut, **ERRORS},
    auth=access(Perm.ANALYTICS_VIEW),
)
def analytics_account(request: HttpRequest, ws: str, channel_id: int, params: Query[SeriesParams]) -> dict[str, Any]:
    """The channel's account numbers over a period, one point per bucket, with gaps as nulls."""
    workspace = access_of(request).workspace_membership.workspace
    channel = scoped_get_or_404(Channel, workspace, pk=channel_id)
    if params.interval not in INTERVALS:
        raise DomainError(
            _("Unknown interval %(interval)s: use one of %(choices)s.")
            % {"interval": params.interval, "choices": ", ".join(INTERVALS)},
            fields={"interval": "invalid"},
        )
    today = timezone.now().astimezone(workspace_zone(workspace)).date()
    end = params.end or today
    start = params.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise DomainError(_("The period must end after it starts."), fields={"end": "before_start"})
    limit = MAX_DAYS[params.interval]
    if (end - start).days >= limit:
        raise DomainError(_("Choose at most %(n)s days.") % {"n": limit}, fields={"start": "too_early"})
    series = account_series(workspace, channel, start, end, "day" if params.interval == "day" else "snapshot")
    return {
        "channel": channel_ref(channel),
        "start": start,
        "end": end,
        "timezone": series.timezone,
        "interval": series.interval,
        "rollup": {"name": series.definition[0], "version": series.definition[1]} if series.definition else None,
        "points": [{"at": p.at, **{name: p.values[name] for name in ACCOUNT_FIELDS}} for p in series.points],
        "missing": series.missing,
        "follower_growth": value_out(series.growth),
        "follower_growth_rate": value_out(series.growth_rate),
    }


# ---------------------------------------------------------------------------------------------
# Post metrics


class PostValues(Schema):
    taken_at: datetime
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    clicks: int | None
    views: int | None
    reach: int | None
    impressions: int | None


class StepOut(Schema):
    step: str = Field(description="Time after publishing: 1h, 6h, 24h, 3d, 7d, 30d.")
    due_at: datetime | None
    snapshot: PostValues | None = Field(description="Null: no snapshot for this step (a gap, or not due yet).")


class CollectionStatus(Schema):
    next_step: str | None = Field(description="The next step to collect; null when collection is over.")
    next_due_at: datetime | None
    last_error: str


class PostMetricsOut(Schema):
    target_id: int
    post_id: int
    channel: ChannelRef
    published_at: datetime | None
    remote_url: str
    latest: PostValues | None
    history: list[StepOut]
    rates: dict[str, MetricValue] = Field(description="From the latest snapshot; followers as of that snapshot.")
    breakdown: dict[str, MetricValue] = Field(description="Each part's share of the latest engagements (percent).")
    collection: CollectionStatus | None = Field(description="Null: the target is not (or not yet) collected.")


@router.get(
    f"{BASE}/targets/{{target_id}}",
    response={200: PostMetricsOut, **ERRORS},
    auth=access(Perm.ANALYTICS_VIEW),
)
def analytics_target(request: HttpRequest, ws: str, target_id: int) -> dict[str, Any]:
    """A published post's metrics on one channel: the latest snapshot and one entry per step."""
    workspace = access_of(request).workspace_membership.workspace
    target = scoped_get_or_404(PostTarget, workspace, pk=target_id)
    view = post_metrics(workspace, target)
    collection = scoped(PostCollection, workspace).filter(target=target).first()
    return {
        "target_id": target.pk,
        "post_id": target.post_id,
        "channel": channel_ref(target.channel),
        "published_at": target.published_at,
        "remote_url": target.remote_url,
        "latest": view.latest,
        "history": [{"step": s.label, "due_at": s.due_at, "snapshot": s.snapshot} for s in view.steps],
        "rates": {name: value_out(v) for name, v in view.rates.items()},
        "breakdown": {name: value_out(v) for name, v in view.breakdown.items()},
        "collection": None
        if collection is None
        else {
            "next_step": STEP_LABELS[collection.step] if collection.step < DONE else None,
            "next_due_at": collection.due_at,
            "last_error": collection.last_error,
        },
    }
