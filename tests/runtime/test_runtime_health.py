"""``GET /health/``: figures an operator would alert on."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import runtime_tasks
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from sokhan.runtime import engine
from sokhan.runtime.jobs import JOB_MACHINE
from sokhan.runtime.models import Job, WorkerHeartbeat
from sokhan.runtime.views import health


def get_health() -> tuple[int, dict[str, object]]:
    response = health(RequestFactory().get("/health/"))
    return response.status_code, json.loads(response.content)


def test_reports_depth_lag_running_failed_and_workers(db: None) -> None:
    now = timezone.now()
    runtime_tasks.add.using(run_after=now - timedelta(seconds=90)).enqueue(1, 1)
    runtime_tasks.add.using(run_after=now - timedelta(seconds=10)).enqueue(1, 2)
    runtime_tasks.add.using(run_after=now + timedelta(hours=1)).enqueue(1, 3)  # not due: not counted
    running = runtime_tasks.add.using(run_after=now - timedelta(seconds=200)).enqueue(1, 4)
    Job.objects.filter(pk=running.id).update(state_locked_until=now + timedelta(minutes=1), state_lease_owner="w:1")
    failed = runtime_tasks.add.enqueue(1, 5)
    Job.objects.filter(pk=failed.id).update(state=Job.FAILED, state_due_at=None)
    WorkerHeartbeat.objects.create(worker_id="live", last_seen=now)
    WorkerHeartbeat.objects.create(worker_id="gone", last_seen=now - timedelta(minutes=10))

    status, body = get_health()
    assert status == 200
    assert body["status"] == "ok" and body["database"] is True
    queue = body["queue"]
    assert isinstance(queue, dict)
    assert queue["depth"] == 2
    assert 90 <= queue["lag_seconds"] < 120
    assert queue["running"] == 1
    assert queue["failed"] == 1
    assert body["workers"] == 1
    assert body["machines"]["runtime.job"]["depth"] == 2  # type: ignore[index]


def test_waiting_work_without_workers_is_degraded(db: None) -> None:
    runtime_tasks.add.enqueue(1, 1)
    status, body = get_health()
    assert (status, body["status"], body["workers"]) == (200, "degraded", 0)


def test_claimed_row_moves_from_depth_to_running(db: None) -> None:
    runtime_tasks.add.enqueue(1, 1)
    engine.claim(JOB_MACHINE, worker_id="w", lease=timedelta(seconds=60), now=timezone.now())
    _, body = get_health()
    assert body["queue"] == {"depth": 0, "lag_seconds": 0.0, "running": 1, "failed": 0}


def test_unreachable_database_returns_503(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is rolled back
        patch.setattr(connection, "ensure_connection", refuse)
        status, body = get_health()
    assert status == 503
    assert body["status"] == "unavailable" and body["database"] is False


def test_served_at_named_url_without_login(db: None) -> None:
    response = Client().get(reverse("health"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
