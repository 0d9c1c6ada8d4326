"""The runtime's own housekeeping, run on a schedule like any other task."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from sokhan.runtime.models import Job, WorkerHeartbeat
from sokhan.runtime.schedules import register_schedule


@task
def prune_runtime(keep_days: int = 14) -> dict[str, int]:
    """Delete finished successful jobs and long-silent heartbeats. Failed jobs stay for inspection."""
    now = timezone.now()
    jobs, _ = Job.objects.filter(state=Job.SUCCEEDED, finished_at__lt=now - timedelta(days=keep_days)).delete()
    workers, _ = WorkerHeartbeat.objects.filter(last_seen__lt=now - timedelta(days=1)).delete()
    return {"jobs": jobs, "heartbeats": workers}


register_schedule("runtime.prune", "17 3 * * *", prune_runtime)
