"""Collecting snapshots from the networks, one channel at a time, through ``channels.calls`` (rate
limits, credentials, health).

``plan(now)`` (the periodic tick) enrols newly published targets and new channels, and returns the
channels with something due, holding each so the next tick does not queue it twice.
``collect_channel(channel)`` (one job per channel) takes the account snapshot if due and the due
post snapshots in batches (``post_metrics`` takes many ids per call).

Crash safety: the rows a run works on are locked (``FOR UPDATE``; ``SKIP LOCKED`` for posts, so a
second run for the channel takes other rows or none), and each batch's snapshots commit together
with its schedule rows moving on. A run that dies stores nothing and the rows stay due; a step that
is collected twice anyway keeps one snapshot (unique per target and step).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from sokhan.analytics.models import (
    ACCOUNT_FIELDS,
    POST_FIELDS,
    AccountSnapshot,
    ChannelCollection,
    PostCollection,
    PostSnapshot,
)
from sokhan.analytics.rollups import account_daily_write, workspace_zone
from sokhan.analytics.schedule import STEPS, advance, next_account_due, step_due, step_for_age
from sokhan.channels.calls import call, connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError
from sokhan.networks import registry
from sokhan.networks.base import Connector
from sokhan.networks.errors import AuthExpired, ConnectorError, RateLimited, Rejected
from sokhan.networks.types import AccountMetrics, Capability, PostMetrics
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget

logger = logging.getLogger("sokhan.analytics")

HOLD = timedelta(minutes=30)  # a queued job's claim on its channel; expires if the job dies
ENROL_WINDOW = STEPS[-1]  # targets published longer ago than the last step are not enrolled
BATCH = 200  # due post rows one run takes for a channel (the rest wait for the next tick)
CHUNK = 50  # remote ids per post_metrics call
BACKOFF = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
NOT_RETURNED = "The network did not return this post (deleted, or not visible to this account)."


@dataclass
class CollectResult:
    account: bool = False  # an account snapshot was stored
    posts: int = 0  # post snapshots taken (a step already stored keeps its first snapshot)
    gaps: int = 0  # due steps closed without a snapshot (the post was refused or not returned)
    error: str = ""
    skipped: bool = False


# ---------------------------------------------------------------------------------------------
# Planning (the tick)


def _connector(network: str) -> type[Connector] | None:
    try:
        return connector_class(network)
    except DomainError:
        return None


def enrol_published(now: datetime) -> int:
    """A collection row for every recently published target that has none, due at once if a step
    has already passed (a target published before enrolment, or while the worker was down)."""
    # Only networks that give post metrics: the Bot API networks' posts are never enrolled (nor read).
    networks = [cls.key for cls in registry.all_connectors() if cls.has(Capability.POST_METRICS)]
    targets = (
        PostTarget.objects.filter(
            state__in=[S.PUBLISHED, S.RESOLVED],
            published_at__gte=now - ENROL_WINDOW,
            channel__network__in=networks,
            analytics_collection__isnull=True,
        )
        .exclude(remote_id="")
        .values_list("pk", "workspace_id", "channel_id", "published_at")
    )
    rows = []
    for pk, workspace_id, channel_id, published_at in targets:
        if published_at is None:
            continue
        passed = step_for_age(published_at, now)
        step = 0 if passed is None else passed
        rows.append(
            PostCollection(
                workspace_id=workspace_id,
                channel_id=channel_id,
                target_id=pk,
                published_at=published_at,
                step=step,
                due_at=step_due(published_at, step),
            )
        )
    PostCollection.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def enrol_channels(now: datetime) -> int:
    """A collection row for every active channel that has none; account snapshots due at once."""
    missing = Channel.objects.filter(status=ChannelStatus.ACTIVE, analytics_collection__isnull=True).values_list(
        "pk", "workspace_id", "network"
    )
    rows = []
    for pk, workspace_id, network in missing:
        cls = _connector(network)
        if cls is None:
            continue
        due = now if cls.has(Capability.ACCOUNT_METRICS) else None
        rows.append(ChannelCollection(workspace_id=workspace_id, channel_id=pk, account_due_at=due))
    ChannelCollection.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def due_channels(now: datetime) -> list[int]:
    """Active channels with an account snapshot or a post step due, not held by a job or a wait."""
    posts_due = PostCollection.objects.filter(channel_id=OuterRef("channel_id"), due_at__lte=now)
    return list(
        ChannelCollection.objects.filter(
            Q(hold_until__isnull=True) | Q(hold_until__lte=now),
            Q(account_due_at__lte=now) | Exists(posts_due),
            channel__status=ChannelStatus.ACTIVE,
        )
        .order_by("channel_id")
        .values_list("channel_id", flat=True)
    )


def plan(now: datetime | None = None) -> list[int]:
    """Enrol what is new and hold the channels with due work; the caller queues one job each."""
    now = now or timezone.now()
    with transaction.atomic():
        enrol_published(now)
        enrol_channels(now)
        ids = due_channels(now)
        ChannelCollection.objects.filter(channel_id__in=ids).update(hold_until=now + HOLD)
    return ids


# ---------------------------------------------------------------------------------------------
# Collecting (one channel)


def collect_channel(channel: Channel, *, now: datetime | None = None) -> CollectResult:
    """Take the channel's due snapshots. Network errors are recorded on the channel's collection
    row (and on the channel, by ``calls``) and never reach the caller. A rate limit, an expired
    login or an unusable channel stops the run and holds the channel (as long as the network asked,
    else with a growing backoff); a failed account snapshot only postpones the next one, so posts
    are still collected; a failed post batch holds the channel with the backoff."""
    now = now or timezone.now()
    result = CollectResult()
    with transaction.atomic():
        state, _ = ChannelCollection.objects.select_for_update().get_or_create(
            workspace_id=channel.workspace_id, channel=channel
        )
        cls = _connector(channel.network)
        if channel.status != ChannelStatus.ACTIVE or cls is None:
            state.hold_until = None
            state.save(update_fields=["hold_until"])
            result.skipped = True
            return result
        account_error: Exception | None = None
        posts_error: Exception | None = None
        if cls.has(Capability.ACCOUNT_METRICS) and state.account_due_at and state.account_due_at <= now:
            try:
                collect_account(channel, state, now=now)
                result.account = True
            except (ConnectorError, DomainError) as exc:
                account_error = exc
        if cls.has(Capability.POST_METRICS) and not _whole_channel(account_error):
            try:
                result.posts, result.gaps = collect_posts(channel, now=now)
            except (ConnectorError, DomainError) as exc:
                posts_error = exc
        error = posts_error or account_error
        if error is None:
            state.hold_until, state.last_ok_at, state.failures = None, now, 0
        else:
            result.error = str(error)
            state.failures += 1
            state.last_error, state.last_error_at = str(error)[:2000], now
            wait = _wait(error, state.failures)
            if posts_error is not None or _whole_channel(error):
                state.hold_until = now + wait
            else:
                state.hold_until, state.account_due_at = None, now + wait
            logger.warning("Collecting metrics of channel %s failed: %s", channel.pk, error)
        state.save()
    return result


def _whole_channel(error: Exception | None) -> bool:
    """Errors that make every other call to the channel pointless for now."""
    return isinstance(error, RateLimited | AuthExpired | DomainError)


def _wait(error: Exception, failures: int) -> timedelta:
    if isinstance(error, RateLimited) and error.retry_after:
        return timedelta(seconds=error.retry_after)
    return min(BACKOFF * (1 << min(failures - 1, 16)), BACKOFF_MAX)


def collect_account(channel: Channel, state: ChannelCollection, *, now: datetime) -> AccountSnapshot:
    """One account snapshot, the day's rollup, and the next due time on the grid."""
    metrics: AccountMetrics = call(channel, "account_metrics")
    snapshot = AccountSnapshot.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        taken_at=now,
        **{field: getattr(metrics, field) for field in ACCOUNT_FIELDS},
    )
    zone = workspace_zone(channel.workspace)
    account_daily_write(channel, now.astimezone(zone).date(), zone)
    state.account_due_at = next_account_due(now, zone)
    return snapshot


def collect_posts(channel: Channel, *, now: datetime) -> tuple[int, int]:
    """The due post steps of the channel, ``CHUNK`` ids per call. Returns (snapshots, gaps)."""
    rows = list(
        PostCollection.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("target")
        .filter(workspace_id=channel.workspace_id, channel=channel, due_at__lte=now)
        .order_by("due_at", "pk")[:BATCH]
    )
    stored = gaps = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        ids = list(dict.fromkeys(row.target.remote_id for row in chunk if row.target.remote_id))
        found, refused = _fetch(channel, ids) if ids else ({}, {})
        with transaction.atomic():
            snapshots = []
            for row in chunk:
                step, following, due = advance(row.published_at, now)
                if step is None:
                    continue  # not due after all (clocks); left as it is
                metrics = found.get(row.target.remote_id)
                if metrics is None:
                    row.last_error = refused.get(row.target.remote_id, NOT_RETURNED)[:2000]
                    gaps += 1
                else:
                    snapshots.append(_snapshot(row, step, metrics, now))
                    row.last_error, row.collected_at = "", now
                row.step, row.due_at = following, due
            PostSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
            PostCollection.objects.bulk_update(chunk, ["step", "due_at", "collected_at", "last_error"])
        stored += len(snapshots)
    return stored, gaps


def _snapshot(row: PostCollection, step: int, metrics: PostMetrics, now: datetime) -> PostSnapshot:
    return PostSnapshot(
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        target_id=row.target_id,
        step=step,
        taken_at=now,
        **{field: getattr(metrics, field) for field in POST_FIELDS},
    )


def _fetch(channel: Channel, ids: Sequence[str]) -> tuple[dict[str, PostMetrics], dict[str, str]]:
    """Metrics by remote id, and the ids the network refused with its reason. A refused batch is
    asked again one id at a time, so one deleted post does not hold up the others."""
    try:
        metrics: list[PostMetrics] = call(channel, "post_metrics", list(ids))
    except Rejected as exc:
        if len(ids) == 1:
            return {}, {ids[0]: str(exc)}
        found: dict[str, PostMetrics] = {}
        refused: dict[str, str] = {}
        for one in ids:
            got, lost = _fetch(channel, [one])
            found.update(got)
            refused.update(lost)
        return found, refused
    return {m.remote_id: m for m in metrics}, {}
