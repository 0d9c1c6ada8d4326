"""Credential health: proactive refresh, preflight before scheduled posts, periodic checks, warnings.

None of these raise a connector's error: they record it on the channel (and move it to
``needs_reconnect`` when the network refuses the credentials) and report what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels import conf
from sokhan.channels.alerts import email_expiring
from sokhan.channels.calls import call, can_refresh, channel_refresh, mark_needs_reconnect
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.channels.profiles import snapshot_record
from sokhan.core.services import audit_record
from sokhan.networks.errors import AuthExpired, ConnectorError
from sokhan.networks.types import Profile

EXPIRY_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Preflight:
    """``ok``: the channel can be used at the scheduled time. ``retryable``: a temporary problem
    (network down, rate limit): try again later rather than failing the post."""

    ok: bool
    status: str
    message: str = ""
    checked: bool = False  # the network was asked (False: a recent check was fresh enough)
    retryable: bool = False


def preflight_is_local(channel: Channel, *, at: datetime, now: datetime) -> bool:
    """Whether ``channel_preflight`` would answer from the database alone: no credential refresh
    and no verification call to the network."""
    if channel.status != ChannelStatus.ACTIVE:
        return True
    expires = channel.credentials_expires_at
    if expires is not None and expires <= at + EXPIRY_MARGIN:
        return False
    return bool(
        channel.last_check_ok and channel.last_check_at and channel.last_check_at >= now - conf.preflight_fresh()
    )


def channel_preflight(channel: Channel, *, at: datetime, now: datetime | None = None) -> Preflight:
    """Make sure ``channel`` will work for a post scheduled at ``at``.

    Called by publishing ``conf.preflight_lead()`` before each scheduled post (and by the hourly
    health check): refreshes credentials that would expire by then, then verifies them with the
    network unless a successful check is fresher than ``conf.preflight_fresh()``.
    """
    now = now or timezone.now()
    if channel.status != ChannelStatus.ACTIVE:
        reason = channel.status_reason or channel.get_status_display()
        return Preflight(ok=False, status=channel.status, message=str(reason))
    expires = channel.credentials_expires_at
    if expires is not None and expires <= at + EXPIRY_MARGIN:
        channel_refresh(channel, force=True, now=now)
        channel.refresh_from_db()
        expires = channel.credentials_expires_at
        if channel.status != ChannelStatus.ACTIVE:
            return Preflight(ok=False, status=channel.status, message=channel.status_reason, checked=True)
        if expires is not None and expires <= at + EXPIRY_MARGIN:
            message = _("The channel's access ends before the scheduled time and cannot be renewed.")
            if expires <= now:
                mark_needs_reconnect(channel, message)
                return Preflight(ok=False, status=channel.status, message=message, checked=True)
            return Preflight(ok=False, status=channel.status, message=message, checked=True)
    fresh = channel.last_check_ok and channel.last_check_at and channel.last_check_at >= now - conf.preflight_fresh()
    if fresh:
        return Preflight(ok=True, status=channel.status)
    try:
        profile: Profile = call(channel, "verify")
    except AuthExpired as exc:
        return Preflight(ok=False, status=channel.status, message=str(exc), checked=True)
    except ConnectorError as exc:
        return Preflight(ok=False, status=channel.status, message=str(exc), checked=True, retryable=True)
    snapshot_record(channel, profile, at=now)
    return Preflight(ok=True, status=channel.status, checked=True)


def channels_to_refresh(now: datetime | None = None) -> list[int]:
    """Active channels whose token expires within the refresh window and that hold a refresh token."""
    now = now or timezone.now()
    rows = Channel.objects.filter(
        status__in=[ChannelStatus.ACTIVE, ChannelStatus.PAUSED],
        credentials_expires_at__isnull=False,
        credentials_expires_at__lte=now + conf.refresh_window(),
    ).order_by("credentials_expires_at")
    return [c.pk for c in rows if c.credentials.refresh_token]


def channels_to_check() -> list[int]:
    return list(
        Channel.objects.filter(status__in=[ChannelStatus.ACTIVE, ChannelStatus.NEEDS_RECONNECT])
        .order_by("last_check_at", "pk")
        .values_list("pk", flat=True)
    )


def channel_health_check(channel: Channel, *, now: datetime | None = None) -> Preflight:
    """The periodic check of one channel: preflight for "now" and a profile snapshot.

    A channel waiting for reconnection is verified too, so one that works again recovers by itself."""
    now = now or timezone.now()
    if channel.status == ChannelStatus.NEEDS_RECONNECT:
        try:
            profile: Profile = call(channel, "verify")
        except ConnectorError as exc:
            return Preflight(ok=False, status=channel.status, message=str(exc), checked=True)
        snapshot_record(channel, profile, at=now)
        return Preflight(ok=True, status=channel.status, checked=True)
    result = channel_preflight(channel, at=now, now=now)
    warn_if_expiring(channel, now=now)
    return result


def warn_if_expiring(channel: Channel, *, now: datetime | None = None) -> bool:
    """Email and audit once when credentials will expire within the warning period with no way to
    refresh them. Returns whether a warning went out."""
    now = now or timezone.now()
    expires = channel.credentials_expires_at
    if channel.status != ChannelStatus.ACTIVE or expires is None or expires > now + conf.expiry_warning():
        return False
    if can_refresh(channel):
        return False
    updated = (
        Channel.objects.filter(pk=channel.pk)
        .filter(Q(expiry_warned_at__isnull=True) | Q(expiry_warned_at__lt=now - conf.expiry_warning()))
        .update(expiry_warned_at=now)
    )
    if updated != 1:
        return False
    channel.expiry_warned_at = now
    audit_record(
        workspace=channel.workspace,
        actor=None,
        action="channel.expiring",
        target=f"{channel.network}:{channel.handle or channel.remote_id}",
        data={"channel": channel.pk, "expires_at": expires.isoformat()},
    )
    transaction.on_commit(lambda: email_expiring(channel))
    return True
