"""Connected accounts, their profile history, OAuth attempts, OAuth apps and rate-limit buckets."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.core.crypto import EncryptedTextField
from sokhan.core.models import User, Workspace
from sokhan.networks.types import Account, Credentials


class ChannelStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    PAUSED = "paused", _("Paused")
    DISCONNECTED = "disconnected", _("Disconnected")


def credentials_to_json(credentials: Credentials) -> str:
    return json.dumps(
        {
            "access_token": credentials.access_token,
            "refresh_token": credentials.refresh_token,
            "expires_at": credentials.expires_at.isoformat() if credentials.expires_at else None,
            "username": credentials.username,
            "password": credentials.password,
            "scopes": list(credentials.scopes),
            "data": dict(credentials.data),
        }
    )


def credentials_from_json(raw: str) -> Credentials:
    if not raw:
        return Credentials()
    data: dict[str, Any] = json.loads(raw)
    expires = data.get("expires_at")
    return Credentials(
        access_token=data.get("access_token") or "",
        refresh_token=data.get("refresh_token") or "",
        expires_at=datetime.fromisoformat(expires) if expires else None,
        username=data.get("username") or "",
        password=data.get("password") or "",
        scopes=tuple(data.get("scopes") or ()),
        data={str(k): str(v) for k, v in (data.get("data") or {}).items()},
    )


class Channel(models.Model):
    """One connected account (a Telegram channel, a Mastodon account, a Facebook page…)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(_("network"), max_length=40)
    display_name = models.CharField(_("name"), max_length=200)
    # The connector's Account.
    base_url = models.CharField(_("server address"), max_length=500, blank=True)
    remote_id = models.CharField(max_length=255)
    handle = models.CharField(_("handle"), max_length=255, blank=True)
    target = models.CharField(_("target"), max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True)
    # The connector's Credentials as one JSON document, encrypted at rest.
    credentials_json = EncryptedTextField(blank=True, default="")
    credentials_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.ACTIVE)
    status_changed_at = models.DateTimeField(default=now)
    status_reason = models.TextField(blank=True)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    # The last rate-limit information a response carried: limit, remaining, reset_at, retry_after.
    rate_limit = models.JSONField(default=dict, blank=True)
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    connected_at = models.DateTimeField(default=now)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["network", "display_name", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "network", "remote_id", "target"], name="channel_unique_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.handle or self.remote_id}"

    @property
    def credentials(self) -> Credentials:
        return credentials_from_json(self.credentials_json)

    @credentials.setter
    def credentials(self, value: Credentials) -> None:
        self.credentials_json = credentials_to_json(value)
        self.credentials_expires_at = value.expires_at

    @property
    def account(self) -> Account:
        return Account(
            base_url=self.base_url,
            remote_id=self.remote_id,
            handle=self.handle,
            target=self.target,
            options={str(k): str(v) for k, v in (self.options or {}).items()},
        )

    @property
    def usable(self) -> bool:
        return self.status == ChannelStatus.ACTIVE


class ProfileSnapshot(models.Model):
    """The profile as the network showed it. A new row only when something changed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="snapshots")
    display_name = models.CharField(max_length=300, blank=True)
    handle = models.CharField(max_length=255, blank=True)
    bio = models.TextField(blank=True)
    url = models.CharField(max_length=1000, blank=True)
    links = models.JSONField(default=list, blank=True)
    avatar_url = models.CharField(max_length=1000, blank=True)
    header_url = models.CharField(max_length=1000, blank=True)
    followers = models.BigIntegerField(null=True, blank=True)
    following = models.BigIntegerField(null=True, blank=True)
    posts = models.BigIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(default=now, db_index=True)
    last_seen_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class OAuthAttempt(models.Model):
    """One authorisation round trip: single use, bound to a user and a workspace, short-lived."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    network = models.CharField(max_length=40)
    state = models.CharField(max_length=64, unique=True)
    code_verifier = EncryptedTextField(blank=True, default="")
    base_url = models.CharField(max_length=500, blank=True)
    account = models.JSONField(default=dict, blank=True)  # Account values typed before leaving
    redirect_to = models.CharField(max_length=500, blank=True)
    reconnect = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"oauth {self.network} for {self.workspace_id}"


class OAuthApp(models.Model):
    """An OAuth client registered with a network, entered by a workspace owner or admin.

    The environment (``SOKHAN_OAUTH_<KEY>_CLIENT_ID`` / ``_CLIENT_SECRET``) gives install-wide apps;
    a row here, for this workspace, takes precedence. ``base_url`` is for per-instance networks.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    network = models.CharField(_("network"), max_length=40)
    base_url = models.CharField(_("server address"), max_length=500, blank=True)
    client_id = models.CharField(_("client id"), max_length=500)
    client_secret = EncryptedTextField(_("client secret"), blank=True, default="")
    updated_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["workspace", "network", "base_url"], name="oauthapp_unique_network")
        ]

    def __str__(self) -> str:
        return f"{self.network} app {self.client_id}"


class ProfileStandard(models.Model):
    """What every channel's profile in a workspace should show (for the consistency report)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="profile_standard")
    brand_name = models.CharField(_("brand name"), max_length=200, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    bio_keywords = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"profile standard of {self.workspace_id}"


class RateBucket(models.Model):
    """A token bucket kept in the database when there is no Redis (rows are locked to take tokens)."""

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class CallSlot(models.Model):
    """One of a network's concurrent-call slots, when there is no Redis."""

    key = models.CharField(max_length=200)
    slot = models.PositiveIntegerField()
    holder = models.CharField(max_length=64, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["key", "slot"], name="callslot_unique")]

    def __str__(self) -> str:
        return f"{self.key}#{self.slot}"
