"""Generic jobs: ``django.tasks`` tasks stored as :class:`Job` rows and run by the engine.

Declare a task with Django's decorator and, optionally, its retry policy::

    from django.tasks import task
    from sokhan.runtime.jobs import retry_policy

    @retry_policy(max_attempts=8, backoff_seconds=30)
    @task
    def refresh_channel(channel_id: int) -> None:
        ...

    refresh_channel.enqueue(channel_id=7)   # inside a transaction: the job exists iff it commits

A task must be safe to run more than once *across* failures (a failed attempt rolls back its
database writes, but not calls it made to other hosts).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus
from django.tasks.base import TaskError
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from sokhan.runtime.engine import current_step, register
from sokhan.runtime.graph import Retry, State, StateGraph
from sokhan.runtime.models import Job


@dataclass(frozen=True)
class JobPolicy:
    max_attempts: int
    backoff_seconds: float


_policies: dict[str, JobPolicy] = {}

_T = TypeVar("_T", bound="Task[Any, Any]")


def _options() -> dict[str, Any]:
    tasks: dict[str, Any] = getattr(settings, "TASKS", {})
    options: dict[str, Any] = tasks.get("default", {}).get("OPTIONS", {})
    return options


def default_policy() -> JobPolicy:
    options = _options()
    return JobPolicy(
        max_attempts=int(options.get("MAX_ATTEMPTS", 5)),
        backoff_seconds=float(options.get("BACKOFF_SECONDS", 10.0)),
    )


def retry_policy(*, max_attempts: int | None = None, backoff_seconds: float | None = None) -> Callable[[_T], _T]:
    """Decorate a ``@task`` with its own retry limits (defaults: ``TASKS[...]['OPTIONS']``)."""

    def apply(task: _T) -> _T:
        base = default_policy()
        _policies[task.module_path] = JobPolicy(
            max_attempts=max_attempts if max_attempts is not None else base.max_attempts,
            backoff_seconds=backoff_seconds if backoff_seconds is not None else base.backoff_seconds,
        )
        return task

    return apply


def policy_for(task: Task[Any, Any]) -> JobPolicy:
    return _policies.get(task.module_path) or default_policy()


def load_task(path: str) -> Task[Any, Any]:
    task = import_string(path)
    if not isinstance(task, Task):
        raise TypeError(f"{path} is not a django.tasks Task (decorate it with @task).")
    return task


def job_status(job: Job, now: datetime | None = None) -> TaskResultStatus:
    if job.state == Job.SUCCEEDED:
        return TaskResultStatus.SUCCESSFUL
    if job.state == Job.FAILED:
        return TaskResultStatus.FAILED
    leased = job.state_locked_until is not None and job.state_locked_until > (now or timezone.now())
    return TaskResultStatus.RUNNING if leased else TaskResultStatus.READY


def to_task_result(
    job: Job, task: Task[Any, Any] | None = None, status: TaskResultStatus | None = None
) -> TaskResult[Any, Any]:
    task = task or load_task(job.task_path)
    task = task.using(priority=job.priority, queue_name=job.queue_name, backend=job.backend)
    result: TaskResult[Any, Any] = TaskResult(
        task=task,
        id=str(job.pk),
        status=status or job_status(job),
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        last_attempted_at=job.last_attempted_at,
        args=list(job.args),
        kwargs=dict(job.kwargs),
        backend=job.backend,
        errors=[TaskError(**e) for e in job.errors],
        worker_ids=list(job.worker_ids),
    )
    object.__setattr__(result, "_return_value", job.return_value)
    return result


def run_job(job: Job) -> str:
    """The ``ready`` handler: run the task; its database writes commit with the job's completion."""
    ctx = current_step()
    job.started_at = job.started_at or ctx.now
    job.last_attempted_at = ctx.now
    job.worker_ids = [*job.worker_ids, ctx.worker_id]
    task = load_task(job.task_path)
    result = to_task_result(job, task, TaskResultStatus.RUNNING)
    task_started.send(sender=Job, task_result=result)
    if task.takes_context:
        value = task.call(TaskContext(task_result=result), *job.args, **job.kwargs)
    else:
        value = task.call(*job.args, **job.kwargs)
    job.return_value = normalize_json(value)
    job.finished_at = timezone.now()
    job.save(update_fields=["started_at", "last_attempted_at", "worker_ids", "return_value", "finished_at"])
    finished = to_task_result(job, task, TaskResultStatus.SUCCESSFUL)
    task_finished.send(sender=Job, task_result=finished)
    return Job.SUCCEEDED


def record_job_error(job: Job, exc: BaseException, terminal: bool) -> None:
    """Keep Django's error list on the row (the engine keeps only the last traceback)."""
    ctx = current_step()
    kind = type(exc)
    job.errors = [
        *job.errors,
        {
            "exception_class_path": f"{kind.__module__}.{kind.__qualname__}",
            "traceback": "".join(traceback.format_exception(exc)),
        },
    ]
    job.started_at = job.started_at or ctx.now
    job.last_attempted_at = ctx.now
    job.worker_ids = [*job.worker_ids, ctx.worker_id]
    if terminal:
        job.finished_at = ctx.now
    job.save(update_fields=["errors", "started_at", "last_attempted_at", "worker_ids", "finished_at"])


def _job_retry(job: Job) -> Retry:
    cap = float(_options().get("BACKOFF_MAX_SECONDS", 3600.0))
    return Retry(max_attempts=job.max_attempts, base_seconds=job.backoff_seconds, cap_seconds=cap)


JOB_GRAPH = StateGraph(
    "job",
    states=[
        State(Job.READY, handler=run_job, to=[Job.SUCCEEDED], retry=_job_retry),
        State(Job.SUCCEEDED),
        State(Job.FAILED),
    ],
    failure_state=Job.FAILED,
    on_error=record_job_error,
)

JOB_MACHINE = register(Job, JOB_GRAPH, order_by=("-priority", "state_due_at", "pk"))
