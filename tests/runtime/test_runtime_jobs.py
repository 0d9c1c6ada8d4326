"""django.tasks through Sokhan's database backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
import runtime_tasks
from django.db import transaction
from django.tasks import TaskResultStatus, default_task_backend
from django.tasks.exceptions import TaskResultDoesNotExist
from runtime_helpers import Clock

from sokhan.core.models import AuditEvent, Workspace
from sokhan.runtime.jobs import JOB_MACHINE
from sokhan.runtime.models import Job
from sokhan.runtime.worker import Worker


def worker(clock: Clock) -> Worker:
    return Worker(worker_id="w1", machines=[JOB_MACHINE], clock=clock)


def test_enqueue_then_worker_runs_it_and_result_is_readable(db: None, clock: Clock) -> None:
    result = runtime_tasks.add.enqueue(2, b=3)
    assert result.status == TaskResultStatus.READY
    job = Job.objects.get(pk=result.id)
    assert (job.task_path, job.args, job.kwargs) == ("runtime_tasks.add", [2], {"b": 3})

    assert worker(clock).run_once() == 1
    fresh = default_task_backend.get_result(result.id)
    assert fresh.status == TaskResultStatus.SUCCESSFUL
    assert fresh.return_value == 5
    assert fresh.worker_ids == ["w1"]
    result.refresh()
    assert result.is_finished and result.return_value == 5


def test_unknown_result_id(db: None) -> None:
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("not-a-uuid")


def test_enqueue_in_rolled_back_transaction_leaves_no_job(workspace: Workspace) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        runtime_tasks.record.enqueue(workspace.pk, "never")
        assert Job.objects.count() == 1  # visible inside the transaction
        raise RuntimeError("abort the request")
    assert Job.objects.count() == 0


def test_failures_retry_with_backoff_and_failed_attempts_leave_no_effects(workspace: Workspace, clock: Clock) -> None:
    result = runtime_tasks.flaky.enqueue(workspace.pk, fail_times=2)
    w = worker(clock)
    w.run_once()
    job = Job.objects.get(pk=result.id)
    first_delay = (job.state_due_at - clock.now).total_seconds()
    assert 5 <= first_delay <= 6  # backoff_seconds=5 from @retry_policy, plus at most 20% jitter
    result.refresh()
    assert result.status == TaskResultStatus.READY and len(result.errors) == 1
    assert result.errors[0].exception_class is ConnectionError

    clock.now = job.state_due_at
    w.run_once()
    job.refresh_from_db()
    assert 10 <= (job.state_due_at - clock.now).total_seconds() <= 12  # doubled

    clock.now = job.state_due_at
    w.run_once()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 3
    # Only the successful attempt's write survived.
    assert list(AuditEvent.objects.filter(action=runtime_tasks.ACTION).values_list("target", flat=True)) == [
        "attempt-3"
    ]


def test_exhausted_retries_end_in_failed_state_with_last_error(db: None, clock: Clock) -> None:
    result = runtime_tasks.always_fails.enqueue()
    w = worker(clock)
    w.run_once()
    clock.advance(60)
    w.run_once()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert len(result.errors) == 2 and "ValueError: boom" in result.errors[-1].traceback
    job = Job.objects.get(pk=result.id)
    assert job.state == Job.FAILED and "boom" in job.state_error and job.finished_at is not None
    clock.advance(3600)
    assert w.run_once() == 0  # terminal: never picked up again


def test_run_after_defers_and_priority_orders(db: None, clock: Clock) -> None:
    later = runtime_tasks.add.using(run_after=clock.now + timedelta(hours=1)).enqueue(1, 1)
    low = runtime_tasks.add.using(priority=-5).enqueue(1, 2)
    high = runtime_tasks.add.using(priority=10).enqueue(1, 3)
    w = worker(clock)
    assert w.run_once() == 2
    finished = Job.objects.filter(state=Job.SUCCEEDED).order_by("finished_at")
    assert [str(j.pk) for j in finished] == [high.id, low.id]
    assert Job.objects.get(pk=later.id).state == Job.READY
    clock.advance(3600)
    assert w.run_once() == 1
