"""Tasks used by the runtime tests; importable by worker subprocesses (PYTHONPATH=tests/runtime)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.tasks import TaskContext, task

from sokhan.core.models import AuditEvent
from sokhan.runtime.jobs import retry_policy

ACTION = "runtime.test"


@task
def record(workspace_id: int, key: str, sleep: float = 0.0, marker: str = "") -> str:
    """Write one audit row (the observable effect). With ``marker``, the first attempt announces
    itself in that file and then hangs long enough to be killed."""
    if marker:
        if not Path(marker).exists():
            Path(marker).write_text(str(os.getpid()))
            time.sleep(sleep)
    elif sleep:
        time.sleep(sleep)
    AuditEvent.objects.create(workspace_id=workspace_id, action=ACTION, target=key)
    return key


@task
def slow_then_record(workspace_id: int, key: str, marker: str, sleep: float) -> str:
    """Announce the start in ``marker``, take ``sleep`` seconds, then write the effect."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(sleep)
    AuditEvent.objects.create(workspace_id=workspace_id, action=ACTION, target=key)
    return key


@retry_policy(max_attempts=3, backoff_seconds=5)
@task(takes_context=True)
def flaky(context: TaskContext, workspace_id: int, fail_times: int) -> int:
    """Fails its first ``fail_times`` attempts; the effect of a failed attempt must roll back."""
    AuditEvent.objects.create(workspace_id=workspace_id, action=ACTION, target=f"attempt-{context.attempt}")
    if context.attempt <= fail_times:
        raise ConnectionError(f"attempt {context.attempt} failed")
    return context.attempt


@retry_policy(max_attempts=2, backoff_seconds=1)
@task
def always_fails() -> None:
    raise ValueError("boom")


@task
def add(a: int, b: int) -> int:
    return a + b
