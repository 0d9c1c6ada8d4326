"""Posts, their per-channel targets (each a state machine row) and the workspace publishing switch."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.runtime.models import StateMixin


def _list() -> list[Any]:
    return []


def _dict() -> dict[str, Any]:
    return {}


def new_idempotency_key() -> str:
    return f"sokhan-{uuid.uuid4().hex}"


class Post(models.Model):
    """One piece of content, published to one or more channels (its targets)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(_("title"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    labels = models.JSONField(_("labels"), default=_list, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"post {self.pk}"


class PostTarget(StateMixin):
    """A post on one channel: its own variant of the content, schedule, and publishing result.

    ``idempotency_key`` is made once when the row is created and never changes: every publish
    attempt for this target sends it, so a network that honours it never posts twice.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="post_targets")
    text = models.TextField(_("text"), blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    link = models.CharField(_("link"), max_length=1000, blank=True)
    first_comment = models.TextField(_("first comment"), blank=True)
    thread = models.JSONField(_("further thread parts"), default=_list, blank=True)
    media = models.JSONField(_("media"), default=_list, blank=True)  # [{path, mime_type, alt_text, …}]
    options = models.JSONField(_("options"), default=_dict, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=80, unique=True, default=new_idempotency_key, editable=False)
    remote_id = models.CharField(max_length=255, blank=True)
    remote_url = models.CharField(max_length=1000, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)  # rejected, needs_reconnect, interrupted, …
    attempts = models.PositiveIntegerField(default=0)  # publish requests sent (committed ones)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["post_id", "id"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["post", "channel"], name="posttarget_unique_channel")]

    def __str__(self) -> str:
        return f"post {self.post_id} → channel {self.channel_id} [{self.state}]"


class PublishingControl(models.Model):
    """The workspace's publishing switch: while paused, due posts wait (held, not failed)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="publishing_control")
    paused = models.BooleanField(default=False)
    paused_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    paused_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"publishing of {self.workspace_id}: {'paused' if self.paused else 'on'}"


class PostingSlot(models.Model):
    """One weekly posting time of a channel's queue: ``weekday`` (0 = Monday … 6) at wall-clock
    ``time`` in the workspace's time zone. See :mod:`sokhan.publishing.queue`."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posting_slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    time = models.TimeField(_("time"))
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["channel_id", "weekday", "time"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["channel", "weekday", "time"], name="postingslot_unique_time"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="postingslot_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id}: weekday {self.weekday} at {self.time:%H:%M}"


class BrandRuleSet(models.Model):
    """A workspace's brand rules (``rules`` holds ``BrandRules.as_json()``; see
    :mod:`sokhan.publishing.brand_rules`). No row: no rules."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="brand_rule_set")
    rules = models.JSONField(_("rules"), default=_dict, blank=True)
    updated_at = models.DateTimeField(default=now)
    updated_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"brand rules of {self.workspace_id}"
