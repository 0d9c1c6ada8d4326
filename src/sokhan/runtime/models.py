"""Durable background work: rows with a state, a due time and a lease.

Nothing is kept in memory between steps: a worker that dies simply stops renewing nothing; its lease
(``state_locked_until``) runs out and another worker picks the row up again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StateMixin(models.Model):
    """Columns the engine needs on any row driven by a :class:`~sokhan.runtime.graph.StateGraph`.

    ``state_due_at`` is NULL for rows nobody should pick up (terminal or waiting on a person).
    ``state_lease_owner`` is a fresh token per claim, so completion can check the lease is still
    ours (fencing) even if the same worker claims the row again later.
    """

    state = models.CharField(_("state"), max_length=32, db_index=True)
    state_due_at = models.DateTimeField(_("due at"), null=True, blank=True, db_index=True)
    state_locked_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    state_lease_owner = models.CharField(_("lease owner"), max_length=64, blank=True, default="")
    state_attempts = models.PositiveIntegerField(_("attempts in this state"), default=0)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    state_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        abstract = True

    def enter_state(self, state: str, *, due_at: datetime | None = None, active: bool = True) -> None:
        """Move an unsaved/unclaimed row to ``state`` from outside the worker (a user action).

        Sets the engine columns only; the caller saves. ``active=False`` parks the row (no due
        time), which is what terminal states need.
        """
        now = timezone.now()
        self.state = state
        self.state_due_at = (due_at or now) if active else None
        self.state_locked_until = None
        self.state_lease_owner = ""
        self.state_attempts = 0
        self.state_changed_at = now
        self.state_error = ""


def _empty_list() -> list[Any]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


class Job(StateMixin):
    """One enqueued ``django.tasks`` task (see :mod:`sokhan.runtime.backend`)."""

    READY = "ready"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_path = models.CharField(_("task"), max_length=255)
    args = models.JSONField(default=_empty_list, blank=True)
    kwargs = models.JSONField(default=_empty_dict, blank=True)
    queue_name = models.CharField(_("queue"), max_length=64, default="default")
    priority = models.SmallIntegerField(_("priority"), default=0)
    backend = models.CharField(max_length=64, default="default")
    max_attempts = models.PositiveSmallIntegerField(_("max attempts"), default=5)
    backoff_seconds = models.FloatField(_("backoff base (seconds)"), default=10.0)
    enqueued_at = models.DateTimeField(_("enqueued at"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    last_attempted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    return_value = models.JSONField(null=True, blank=True)
    errors = models.JSONField(default=_empty_list, blank=True)
    worker_ids = models.JSONField(default=_empty_list, blank=True)

    class Meta:
        ordering: ClassVar = ["-enqueued_at"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.task_path} [{self.state}]"


class Schedule(StateMixin):
    """A periodic entry declared in code (``register_schedule``) and synced here by workers.

    Firing a period is one engine step, so exactly one worker enqueues each period: the job row and
    the schedule's next due time commit together or not at all.
    """

    ACTIVE = "active"
    RETIRED = "retired"
    FAILED = "failed"

    name = models.CharField(_("name"), max_length=128, unique=True)
    cron = models.CharField(_("cron expression"), max_length=128)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    task_path = models.CharField(_("task"), max_length=255)
    args = models.JSONField(default=_empty_list, blank=True)
    kwargs = models.JSONField(default=_empty_dict, blank=True)
    last_fired_at = models.DateTimeField(_("last fired at"), null=True, blank=True)
    last_period = models.DateTimeField(_("last period fired"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return f"{self.name} ({self.cron})"


class WorkerHeartbeat(models.Model):
    """A live (or recently live) worker. Rows are removed on clean exit; stale ones are pruned."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    steps = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["worker_id"]

    def __str__(self) -> str:
        return self.worker_id
