"""Telling people a channel needs them: the workspace banner and email to whoever may manage channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sokhan.channels import conf
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can


@dataclass(frozen=True)
class Alert:
    channel: Channel
    kind: str  # "needs_reconnect" | "expiring"
    expires_at: datetime | None = None


def channel_alerts(workspace: Workspace, *, now: datetime | None = None) -> list[Alert]:
    """Channels that need reconnecting now, and ones whose credentials will expire soon without a
    way to refresh them (so the banner shows before anything fails)."""
    now = now or timezone.now()
    soon = now + conf.expiry_warning()
    rows = Channel.objects.filter(workspace=workspace).filter(
        Q(status=ChannelStatus.NEEDS_RECONNECT)
        | Q(status=ChannelStatus.ACTIVE, credentials_expires_at__isnull=False, credentials_expires_at__lte=soon)
    )
    alerts: list[Alert] = []
    for channel in rows.order_by("display_name", "pk"):
        if channel.status == ChannelStatus.NEEDS_RECONNECT:
            alerts.append(Alert(channel, "needs_reconnect"))
        elif not channel.credentials.refresh_token:
            alerts.append(Alert(channel, "expiring", channel.credentials_expires_at))
    return alerts


def channel_managers(workspace: Workspace) -> list[Membership]:
    members = Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
    return [m for m in members if role_can(m.role, Perm.CHANNELS_MANAGE)]


def channel_url(channel: Channel) -> str:
    path = reverse("channels:detail", kwargs={"ws": channel.workspace.slug, "channel_id": channel.pk})
    return f"{settings.BASE_URL}{path}"


def email_needs_reconnect(channel: Channel, reason: str) -> None:
    workspace = channel.workspace
    recipients = [m.user.email for m in channel_managers(workspace)]
    if not recipients:
        return
    with translation.override(workspace.language):
        send_mail(
            subject=_("Reconnect %(channel)s in %(ws)s") % {"channel": channel.display_name, "ws": workspace.name},
            message=_(
                "Sokhan can no longer use the channel %(channel)s (%(network)s) in %(ws)s: %(reason)s\n\n"
                "Nothing will be published to it until someone reconnects it:\n%(link)s\n"
            )
            % {
                "channel": channel.display_name,
                "network": channel.network,
                "ws": workspace.name,
                "reason": reason,
                "link": channel_url(channel),
            },
            from_email=None,
            recipient_list=recipients,
        )


def email_expiring(channel: Channel) -> None:
    workspace = channel.workspace
    recipients = [m.user.email for m in channel_managers(workspace)]
    if not recipients or channel.credentials_expires_at is None:
        return
    with translation.override(workspace.language):
        send_mail(
            subject=_("%(channel)s in %(ws)s must be reconnected soon")
            % {"channel": channel.display_name, "ws": workspace.name},
            message=_(
                "The access Sokhan has to %(channel)s (%(network)s) in %(ws)s ends on %(when)s (UTC) and "
                "the network gives no way to renew it. Reconnect it before then:\n%(link)s\n"
            )
            % {
                "channel": channel.display_name,
                "network": channel.network,
                "ws": workspace.name,
                "when": channel.credentials_expires_at.strftime("%Y-%m-%d %H:%M"),
                "link": channel_url(channel),
            },
            from_email=None,
            recipient_list=recipients,
        )
