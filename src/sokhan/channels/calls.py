"""Every call to a network for a channel goes through :func:`call`.

``call(channel, "publish", request)`` builds the connector from the channel (decrypting its
credentials), takes a token from the network-app bucket and the account bucket, holds one of the
network's concurrent-call slots, calls, feeds the rate-limit information the network returned back
into the buckets, records health on the channel, and re-raises the connector's typed errors.
``AuthExpired`` first tries one credential refresh (when the network and the stored credentials
allow it) and the call once more; if that fails the channel moves to ``needs_reconnect`` and the
people who may manage channels are told.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels import conf, ratelimit
from sokhan.channels.alerts import email_needs_reconnect
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.channels.oauth import oauth_client
from sokhan.core.errors import DomainError
from sokhan.core.services import audit_record
from sokhan.networks import registry
from sokhan.networks.base import Connector
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    NotSupported,
    RateLimited,
    Rejected,
)
from sokhan.networks.types import Credentials, RateLimitInfo

logger = logging.getLogger("sokhan.channels")


class ChannelUnavailable(DomainError):
    code = "channel_unavailable"
    status = 409


def connector_class(network: str) -> type[Connector]:
    try:
        return registry.get(network)
    except KeyError:
        raise DomainError(
            _("Sokhan has no connector for the network %(network)s.") % {"network": network},
            fields={"network": "unknown"},
            code="unknown_network",
        ) from None


def build_connector(channel: Channel) -> Connector:
    return connector_class(channel.network)(channel.account, channel.credentials)


def app_bucket(network: str, base_url: str) -> ratelimit.Bucket:
    rates = conf.network_rates(network)
    return ratelimit.Bucket.of(f"app:{network}:{base_url or '-'}", rates.app)


def account_bucket(channel: Channel) -> ratelimit.Bucket:
    return ratelimit.Bucket.of(f"account:{channel.pk}", conf.network_rates(channel.network).account)


def take(bucket: ratelimit.Bucket, *, network: str, cost: float = 1) -> None:
    """A token now, or after a short sleep, or ``RateLimited`` with how long to wait."""
    wait = ratelimit.acquire(bucket, cost)
    if wait <= 0:
        return
    if wait <= conf.max_inline_wait():
        time.sleep(wait)
        wait = ratelimit.acquire(bucket, cost)
        if wait <= 0:
            return
    raise RateLimited("Sokhan's rate limit for this account is used up", retry_after=wait, network=network)


def _slot(network: str) -> str:
    limit = conf.network_rates(network).concurrency
    deadline = time.monotonic() + conf.max_inline_wait()
    while True:
        token = ratelimit.slot_acquire(f"net:{network}", limit)
        if token is not None:
            return token
        if time.monotonic() >= deadline:
            raise RateLimited("too many calls to this network at once", retry_after=1.0, network=network)
        time.sleep(0.05)


def _rate_json(info: RateLimitInfo, at: datetime) -> dict[str, Any]:
    return {
        "limit": info.limit,
        "remaining": info.remaining,
        "reset_at": info.reset_at.isoformat() if info.reset_at else None,
        "retry_after": info.retry_after,
        "at": at.isoformat(),
    }


def _record_rate(channel: Channel, info: RateLimitInfo | None, *, retry_after: float | None = None) -> None:
    now = timezone.now()
    if retry_after is not None:
        info = RateLimitInfo(
            limit=info.limit if info else None,
            remaining=info.remaining if info else 0,
            reset_at=info.reset_at if info else None,
            retry_after=retry_after,
        )
    if info is None:
        return
    ratelimit.observe(account_bucket(channel), info)
    until: datetime | None = None
    if info.retry_after is not None:
        until = now + timedelta(seconds=info.retry_after)
    elif info.remaining is not None and info.remaining <= 0 and info.reset_at is not None:
        until = info.reset_at
    channel.rate_limit = _rate_json(info, now)
    channel.rate_limited_until = until
    Channel.objects.filter(pk=channel.pk).update(rate_limit=channel.rate_limit, rate_limited_until=until)


def record_error(channel: Channel, error: ConnectorError | str, *, check: bool = False) -> None:
    now = timezone.now()
    channel.last_error = str(error)[:2000]
    channel.last_error_at = now
    fields: dict[str, Any] = {"last_error": channel.last_error, "last_error_at": now}
    if check:
        channel.last_check_at, channel.last_check_ok = now, False
        fields.update(last_check_at=now, last_check_ok=False)
    Channel.objects.filter(pk=channel.pk).update(**fields)


def record_check_ok(channel: Channel) -> None:
    """A verify succeeded: the check is green and a channel waiting for reconnection works again."""
    now = timezone.now()
    channel.last_check_at, channel.last_check_ok, channel.last_error = now, True, ""
    fields: dict[str, Any] = {"last_check_at": now, "last_check_ok": True, "last_error": ""}
    if channel.status == ChannelStatus.NEEDS_RECONNECT:
        channel.status, channel.status_changed_at, channel.status_reason = ChannelStatus.ACTIVE, now, ""
        fields.update(status=ChannelStatus.ACTIVE, status_changed_at=now, status_reason="")
    Channel.objects.filter(pk=channel.pk).update(**fields)


def mark_needs_reconnect(channel: Channel, reason: str, *, action: str = "channel.needs_reconnect") -> bool:
    """Move an active channel to ``needs_reconnect``: audit it and email the channel managers once.

    Returns whether the status changed (a channel already waiting is not announced again)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().select_related("workspace").get(pk=channel.pk)
        locked.last_error, locked.last_error_at = reason[:2000], now
        locked.last_check_at, locked.last_check_ok = now, False
        changed = locked.status == ChannelStatus.ACTIVE
        if changed:
            locked.status, locked.status_changed_at, locked.status_reason = (
                ChannelStatus.NEEDS_RECONNECT,
                now,
                reason[:2000],
            )
            audit_record(
                workspace=locked.workspace,
                actor=None,
                action=action,
                target=f"{locked.network}:{locked.handle or locked.remote_id}",
                data={"channel": locked.pk, "reason": reason[:500]},
            )
            transaction.on_commit(lambda: email_needs_reconnect(locked, reason))
        locked.save(
            update_fields=[
                "last_error",
                "last_error_at",
                "last_check_at",
                "last_check_ok",
                "status",
                "status_changed_at",
                "status_reason",
            ]
        )
    for name in ("status", "status_changed_at", "status_reason", "last_error", "last_error_at", "last_check_ok"):
        setattr(channel, name, getattr(locked, name))
    channel.last_check_at = locked.last_check_at
    return changed


def merge_refreshed(old: Credentials, new: Credentials) -> Credentials:
    """New credentials from a refresh, never losing what the network did not send again: an empty
    refresh token (or scopes, or username) keeps the old one."""
    return Credentials(
        access_token=new.access_token or old.access_token,
        refresh_token=new.refresh_token or old.refresh_token,
        expires_at=new.expires_at,
        username=new.username or old.username,
        password=new.password or old.password,
        scopes=new.scopes or old.scopes,
        data={**old.data, **new.data},
    )


def can_refresh(channel: Channel) -> bool:
    cls = connector_class(channel.network)
    return cls.oauth is not None and bool(channel.credentials.refresh_token)


def channel_refresh(channel: Channel, *, force: bool = False, now: datetime | None = None) -> bool:
    """Refresh the channel's token through its connector. Returns whether new credentials were saved.

    Holds the channel row locked while refreshing, so two workers never spend the same (rotating)
    refresh token. Without ``force`` a channel that someone else refreshed meanwhile is left alone.
    A refusal (``AuthExpired``/``Rejected``) moves the channel to ``needs_reconnect`` and records
    ``channel.refresh_failed``; a temporary failure only records the error.
    """
    now = now or timezone.now()
    cls = connector_class(channel.network)
    if cls.oauth is None:
        return False
    failure: ConnectorError | None = None
    with transaction.atomic():
        locked = Channel.objects.select_for_update().select_related("workspace").get(pk=channel.pk)
        old = locked.credentials
        if locked.status not in (ChannelStatus.ACTIVE, ChannelStatus.NEEDS_RECONNECT) or not old.refresh_token:
            return False
        if not force and old.expires_at is not None and old.expires_at > now + conf.refresh_window():
            return False
        client = oauth_client(locked.workspace, cls, locked.base_url)
        if client is None:
            record_error(channel, _("No OAuth app is configured to renew this channel's access."))
            return False
        try:
            fresh = cls.refresh(client, old, base_url=locked.base_url)
        except NotSupported:
            return False
        except ConnectorError as exc:
            failure = exc
        else:
            merged = merge_refreshed(old, fresh)
            locked.credentials = merged
            locked.last_refresh_at = now
            locked.save(update_fields=["credentials_json", "credentials_expires_at", "last_refresh_at"])
            channel.credentials_json, channel.credentials_expires_at = locked.credentials_json, merged.expires_at
            channel.last_refresh_at = now
            return True
    # Outside the lock: record what went wrong.
    assert failure is not None
    if isinstance(failure, AuthExpired | Rejected):
        mark_needs_reconnect(channel, str(failure), action="channel.refresh_failed")
    else:
        record_error(channel, failure)
        logger.warning("refresh of channel %s failed: %s", channel.pk, failure)
    return False


def call(channel: Channel, op: str, *args: Any, **kwargs: Any) -> Any:
    """Run connector operation ``op`` for ``channel``; see the module docstring."""
    if channel.status == ChannelStatus.DISCONNECTED:
        raise ChannelUnavailable(_("This channel is disconnected. Reconnect it first."))
    cls = connector_class(channel.network)
    app, account = app_bucket(cls.key, channel.base_url), account_bucket(channel)
    # Usually everything is free: both buckets and the slot in one step (one round trip on Redis).
    slot = ratelimit.admit([app, account], f"net:{cls.key}", conf.network_rates(cls.key).concurrency)
    if slot is None:  # something is short (or the database store): one by one, waiting or refusing
        take(app, network=cls.key)
        take(account, network=cls.key)
        slot = _slot(cls.key)
    try:
        return _invoke(channel, cls, op, args, kwargs, retry_auth=True)
    finally:
        ratelimit.slot_release(f"net:{cls.key}", slot)


def _invoke(
    channel: Channel, cls: type[Connector], op: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, retry_auth: bool
) -> Any:
    connector = cls(channel.account, channel.credentials)
    try:
        result = getattr(connector, op)(*args, **kwargs)
    except AuthExpired as exc:
        _record_rate(channel, connector.last_rate_limit)
        if retry_auth and channel_refresh(channel, force=True):
            return _invoke(channel, cls, op, args, kwargs, retry_auth=False)
        mark_needs_reconnect(channel, str(exc))
        raise
    except RateLimited as exc:
        _record_rate(channel, connector.last_rate_limit, retry_after=exc.retry_after if exc.retry_after else 60.0)
        record_error(channel, exc, check=op == "verify")
        raise
    except ConnectorError as exc:
        _record_rate(channel, connector.last_rate_limit)
        record_error(channel, exc, check=op == "verify")
        raise
    _record_rate(channel, connector.last_rate_limit)
    if op == "verify":
        record_check_ok(channel)
    return result
