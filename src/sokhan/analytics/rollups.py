"""The daily account rollup (definition ``account_daily``), rewritten from the day's snapshots each
time one is taken: a handful of rows per day, so recomputing is cheap and a retried or repeated
collection can never leave a wrong total behind."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from sokhan.analytics.models import ACCOUNT_FIELDS, AccountDaily, AccountSnapshot
from sokhan.analytics.series import aggregate
from sokhan.channels.models import Channel
from sokhan.core.models import Workspace
from sokhan.metrics.definitions import ACCOUNT_DAILY


def workspace_zone(workspace: Workspace) -> ZoneInfo:
    """The zone days are cut in (the workspace's)."""
    return ZoneInfo(workspace.timezone or settings.TIME_ZONE)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day's first instant and the next day's (``[start, end)``)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def account_daily_write(channel: Channel, day: date, zone: ZoneInfo) -> AccountDaily:
    """Recompute the channel's row for the local ``day`` from that day's snapshots."""
    start, end = day_bounds(day, zone)
    rows = list(
        AccountSnapshot.objects.filter(
            workspace_id=channel.workspace_id, channel=channel, taken_at__gte=start, taken_at__lt=end
        )
        .order_by("taken_at", "pk")
        .values(*ACCOUNT_FIELDS)
    )
    values: dict[str, int | None] = {}
    missing: dict[str, int] = {}
    for field in ACCOUNT_FIELDS:
        result = aggregate((row[field] for row in rows), "last")
        values[field] = None if result.value is None else int(result.value)
        if result.missing:
            missing[field] = result.missing
    daily, _created = AccountDaily.objects.update_or_create(
        workspace_id=channel.workspace_id,
        channel=channel,
        day=day,
        defaults={
            **values,
            "samples": len(rows),
            "missing": missing,
            "definition_version": ACCOUNT_DAILY.version,
            "updated_at": timezone.now(),
        },
    )
    return daily
