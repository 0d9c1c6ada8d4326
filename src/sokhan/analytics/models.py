"""Metric snapshots, the collection schedule and the daily account rollup.

Every metric column is nullable: NULL means the network did not give that number at that time
(missing), which is never the same as 0. Snapshot tables are the big ones (tens of millions of rows
on PostgreSQL): they stay narrow (no text, no JSON), their foreign keys carry no single-column
index of their own, and the composite indexes below serve both the time-range reads and the
cascading deletes (channel, target, workspace each lead one index).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.publishing.models import PostTarget

ACCOUNT_FIELDS = ("followers", "following", "posts", "reach", "impressions", "views")
POST_FIELDS = ("likes", "comments", "shares", "saves", "clicks", "views", "reach", "impressions")


def _dict() -> dict[str, Any]:
    return {}


class AccountSnapshot(models.Model):
    """A channel's account numbers at one moment."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    taken_at = models.DateTimeField()
    followers = models.BigIntegerField(null=True, blank=True)
    following = models.BigIntegerField(null=True, blank=True)
    posts = models.BigIntegerField(null=True, blank=True)
    reach = models.BigIntegerField(null=True, blank=True)
    impressions = models.BigIntegerField(null=True, blank=True)
    views = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["channel", "taken_at"], name="analytics_acct_channel_time"),
            models.Index(fields=["workspace", "taken_at"], name="analytics_acct_ws_time"),
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class PostSnapshot(models.Model):
    """A published post's numbers at one step of its collection schedule (``step`` indexes
    ``schedule.STEPS``: 0 = 1 hour after publishing … 5 = 30 days). One row per (target, step)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.ForeignKey(PostTarget, on_delete=models.CASCADE, related_name="+", db_index=False)
    step = models.PositiveSmallIntegerField()
    taken_at = models.DateTimeField()
    # Interaction counts fit 32 bits; audience numbers of a viral video may not.
    likes = models.IntegerField(null=True, blank=True)
    comments = models.IntegerField(null=True, blank=True)
    shares = models.IntegerField(null=True, blank=True)
    saves = models.IntegerField(null=True, blank=True)
    clicks = models.IntegerField(null=True, blank=True)
    views = models.BigIntegerField(null=True, blank=True)
    reach = models.BigIntegerField(null=True, blank=True)
    impressions = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            # A step collected twice (two workers, a retried job) keeps the first snapshot only.
            models.UniqueConstraint(fields=["target", "step"], name="analytics_post_one_per_step"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["channel", "taken_at"], name="analytics_post_channel_time"),
            models.Index(fields=["workspace", "taken_at"], name="analytics_post_ws_time"),
        ]

    def __str__(self) -> str:
        return f"target {self.target_id} step {self.step}"


class PostCollection(models.Model):
    """When a published target's next snapshot is due: ``step`` is the next step to collect and
    ``due_at`` its time (published_at + STEPS[step]); NULL once the last step is done."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.OneToOneField(PostTarget, on_delete=models.CASCADE, related_name="analytics_collection")
    published_at = models.DateTimeField()
    step = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # why the last step has no snapshot, if it has none

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["channel", "due_at"], name="analytics_pcoll_channel_due"),
            models.Index(fields=["due_at"], name="analytics_pcoll_due"),
        ]

    def __str__(self) -> str:
        return f"target {self.target_id}: step {self.step} due {self.due_at}"


class ChannelCollection(models.Model):
    """A channel's collection state: when its next account snapshot is due, whether a job holds it,
    and what went wrong last (each channel's errors are its own; others carry on)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="analytics_collection")
    account_due_at = models.DateTimeField(null=True, blank=True, db_index=True)  # NULL: no account metrics
    # Until then the tick enqueues no job for this channel: one is queued or running, or the network
    # asked us to wait (rate limit) or failed and we back off.
    hold_until = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed runs, for the backoff

    def __str__(self) -> str:
        return f"collection of channel {self.channel_id}"


class AccountDaily(models.Model):
    """One channel's account numbers for one local day (the workspace's zone), rewritten from that
    day's snapshots whenever one is taken. ``missing`` counts, per field, the day's snapshots that
    lacked it; ``definition_version`` is the version of the ``account_daily`` definition used."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    followers = models.BigIntegerField(null=True, blank=True)
    following = models.BigIntegerField(null=True, blank=True)
    posts = models.BigIntegerField(null=True, blank=True)
    reach = models.BigIntegerField(null=True, blank=True)
    impressions = models.BigIntegerField(null=True, blank=True)
    views = models.BigIntegerField(null=True, blank=True)
    samples = models.PositiveSmallIntegerField(default=0)
    missing = models.JSONField(default=_dict, blank=True)
    definition_version = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["channel", "day"], name="analytics_daily_one_per_day")]
        indexes: ClassVar = [models.Index(fields=["workspace", "day"], name="analytics_daily_ws_day")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


class GoalMetric(models.TextChoices):
    FOLLOWERS = "followers", _("Followers")
    FOLLOWER_GROWTH = "follower_growth", _("Follower growth (%)")
    ENGAGEMENT_RATE = "engagement_rate", _("Engagement rate (%)")
    POSTS_PER_WEEK = "posts_per_week", _("Posts per week")


class Goal(models.Model):
    """A KPI target with a deadline, for one channel or (``channel`` NULL) all of the workspace's.
    Growth is measured from ``start`` (the day the goal was set, unless given)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    metric = models.CharField(_("metric"), max_length=32, choices=GoalMetric.choices)
    target = models.FloatField(_("target value"))
    start = models.DateField(_("start"))
    deadline = models.DateField(_("deadline"))
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["deadline", "pk"]

    def __str__(self) -> str:
        return f"{self.metric} {self.target} by {self.deadline}"
