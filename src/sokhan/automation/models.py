"""Bulk imports, feed watches (RSS/Atom auto-posting) and recurring series. See docs/automation.md."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.publishing.models import Post


def _list() -> list[Any]:
    return []


def _dict() -> dict[str, Any]:
    return {}


class ImportBatch(models.Model):
    """One uploaded CSV: validated first (``previewed``), then imported once (``imported``).

    ``token`` goes into the confirm form; a second confirm with the same token finds the batch
    already imported and creates nothing. ``rows`` holds the valid rows ready to become posts.
    """

    PREVIEWED = "previewed"
    IMPORTED = "imported"
    STATES = ((PREVIEWED, _("validated")), (IMPORTED, _("imported")))
    MODE_ALL = "all"
    MODE_VALID = "valid"
    MODES = ((MODE_ALL, _("all or nothing")), (MODE_VALID, _("valid rows only")))

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now, db_index=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_format = models.CharField(_("format"), max_length=20)
    options = models.JSONField(default=_dict, blank=True)
    state = models.CharField(max_length=20, choices=STATES, default=PREVIEWED)
    mode = models.CharField(_("mode"), max_length=10, choices=MODES, blank=True)
    as_drafts = models.BooleanField(_("keep as drafts"), default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_valid = models.PositiveIntegerField(default=0)
    rows_invalid = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=_list, blank=True)  # valid rows, ready to import
    errors = models.JSONField(default=_list, blank=True)  # [{row, column, message}]
    error_report = models.TextField(blank=True)  # CSV of the rows with errors
    post_ids = models.JSONField(default=_list, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="importbatch_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.file_name})"

    @property
    def posts_created(self) -> int:
        return len(self.post_ids or [])


class FeedWatch(models.Model):
    """An RSS/Atom feed whose new items become posts through ``template``."""

    DRAFT = "draft"
    SCHEDULE = "schedule"
    QUEUE = "queue"
    MODES = ((DRAFT, _("save as drafts")), (SCHEDULE, _("publish right away")), (QUEUE, _("add to the queue")))

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=200, blank=True)
    url = models.URLField(_("feed address"), max_length=1000)
    channels = models.ManyToManyField(Channel, related_name="+", verbose_name=_("channels"))
    template = models.TextField(_("post template"), default="{title}\n{link}")
    mode = models.CharField(_("mode"), max_length=10, choices=MODES, default=DRAFT)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    feed_title = models.CharField(max_length=300, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    posts_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.feed_title or self.url


class FeedItemSeen(models.Model):
    """An item of a watched feed that was handled (posted, or old when the watch started)."""

    watch = models.ForeignKey(FeedWatch, on_delete=models.CASCADE, related_name="seen")
    key = models.CharField(max_length=1000)  # the GUID, or the link when the item has none
    guid = models.CharField(max_length=1000, blank=True)
    link = models.CharField(max_length=1000, blank=True, db_index=True)
    title = models.CharField(max_length=500, blank=True)
    post = models.ForeignKey(Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)
    seen_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["-seen_at", "-id"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["watch", "key"], name="feeditemseen_unique_key")]

    def __str__(self) -> str:
        return f"{self.watch_id}: {self.key}"


class RecurringSeries(models.Model):
    """Re-create ``source_post`` (its channels' variants) at every occurrence of ``rrule``.

    The rule is evaluated on wall-clock ``start_date``/``start_time`` in ``timezone``.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source_post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", verbose_name=_("post"))
    rrule = models.CharField(_("rule"), max_length=500)
    start_date = models.DateField(_("start date"))
    start_time = models.TimeField(_("time"))
    timezone = models.CharField(_("time zone"), max_length=64)
    evergreen = models.BooleanField(_("evergreen"), default=False)
    active = models.BooleanField(_("active"), default=True)
    next_run = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"series {self.pk}: {self.rrule}"

    @property
    def start_local(self) -> datetime:
        start_date: date = self.start_date
        start_time: time = self.start_time
        return datetime.combine(start_date, start_time.replace(tzinfo=None, second=0, microsecond=0))


class RecurringOccurrence(models.Model):
    """One occurrence of a series, made once: the post it became, or why it is a draft."""

    series = models.ForeignKey(RecurringSeries, on_delete=models.CASCADE, related_name="occurrences")
    occurrence_at = models.DateTimeField()
    post = models.ForeignKey(Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    scheduled = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["occurrence_at", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["series", "occurrence_at"], name="recurringoccurrence_unique_time")
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} at {self.occurrence_at:%Y-%m-%d %H:%M}"
