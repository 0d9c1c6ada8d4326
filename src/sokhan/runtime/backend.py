"""``django.tasks`` backend that stores tasks as :class:`~sokhan.runtime.models.Job` rows.

Configured in settings as ``TASKS = {"default": {"BACKEND": "sokhan.runtime.backend.DatabaseBackend"}}``.
``enqueue`` is a plain INSERT on the default connection, so inside ``transaction.atomic()`` the job is
part of the caller's transaction: rolled back with it, visible to workers only after commit.
OPTIONS: ``MAX_ATTEMPTS`` (5), ``BACKOFF_SECONDS`` (10), ``BACKOFF_MAX_SECONDS`` (3600).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.tasks import Task, TaskResult
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.json import normalize_json

from sokhan.runtime.jobs import policy_for, to_task_result
from sokhan.runtime.models import Job


class DatabaseBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True  # Task.call() runs coroutines through async_to_sync
    supports_get_result = True
    supports_priority = True

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        self.validate_task(task)
        policy = policy_for(task)
        now = timezone.now()
        job = Job(
            task_path=task.module_path,
            args=normalize_json(list(args)),
            kwargs=normalize_json(dict(kwargs)),
            queue_name=task.queue_name,
            priority=task.priority,
            backend=self.alias,
            max_attempts=policy.max_attempts,
            backoff_seconds=policy.backoff_seconds,
            enqueued_at=now,
        )
        job.enter_state(Job.READY, due_at=task.run_after or now)
        job.save(force_insert=True)
        result = to_task_result(job, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult[Any, Any]:
        try:
            job = Job.objects.get(pk=result_id)
        except (Job.DoesNotExist, ValidationError, ValueError):
            raise TaskResultDoesNotExist(result_id) from None
        return to_task_result(job)
