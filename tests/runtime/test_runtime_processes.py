"""Real ``sokhan worker`` / ``sokhan serve`` processes sharing the test database."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import runtime_tasks
from django.db import connection
from runtime_helpers import ROOT, SOKHAN, start_worker, subprocess_env, wait_for

from sokhan.core.models import AuditEvent, Workspace
from sokhan.runtime.models import Job, WorkerHeartbeat

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def effects(key: str | None = None) -> int:
    qs = AuditEvent.objects.filter(action=runtime_tasks.ACTION)
    return (qs.filter(target=key) if key else qs).count()


def stop(proc: subprocess.Popen[str], timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def test_killed_worker_mid_step_loses_nothing_and_item_completes_once(workspace: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    result = runtime_tasks.record.enqueue(workspace.pk, "k1", sleep=60, marker=str(marker))
    first = start_worker("doomed")
    try:
        wait_for(marker.exists, 20, "the first worker to start the step")
        first.kill()  # SIGKILL: no cleanup, no rollback message, lease left on the row
        first.wait(5)
        job = Job.objects.get(pk=result.id)
        assert job.state == Job.READY and job.state_lease_owner.startswith("doomed:")
        assert effects("k1") == 0
        killed_at = time.monotonic()

        second = start_worker("rescuer")
        try:
            wait_for(lambda: Job.objects.get(pk=result.id).state == Job.SUCCEEDED, 20, "the job to complete")
            assert time.monotonic() - killed_at >= 1.0  # only after the 2 s lease ran out
            assert stop(second) == 0
        finally:
            if second.poll() is None:
                second.kill()
    finally:
        if first.poll() is None:
            first.kill()
    job = Job.objects.get(pk=result.id)
    assert effects("k1") == 1
    assert job.worker_ids == ["rescuer"]
    assert not WorkerHeartbeat.objects.filter(worker_id="rescuer").exists()  # removed on clean exit


def test_sigterm_finishes_the_current_step_then_exits_zero(workspace: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    result = runtime_tasks.slow_then_record.enqueue(workspace.pk, "graceful", str(marker), 1.5)
    queued = runtime_tasks.record.using(priority=-1).enqueue(workspace.pk, "after")
    worker = start_worker("polite")
    try:
        wait_for(marker.exists, 20, "the step to start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert Job.objects.get(pk=result.id).state == Job.SUCCEEDED
    assert effects("graceful") == 1
    leftover = Job.objects.get(pk=queued.id)
    assert leftover.state == Job.READY and leftover.state_lease_owner == ""  # not claimed, or released


def test_three_workers_run_sixty_jobs_exactly_once(workspace: Workspace) -> None:
    workers = [start_worker(f"w{n}") for n in range(3)]
    try:
        # All three polling before the work arrives, so they really compete for it.
        wait_for(lambda: WorkerHeartbeat.objects.count() == 3, 20, "three live workers")
        ids = [runtime_tasks.record.enqueue(workspace.pk, f"job-{i}", sleep=0.03).id for i in range(60)]
        wait_for(lambda: Job.objects.filter(state=Job.SUCCEEDED).count() == 60, 45, "all 60 jobs")
        assert [stop(w) for w in workers] == [0, 0, 0]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert effects() == 60
    assert all(effects(f"job-{i}") == 1 for i in range(60))
    runs = [wid for job in Job.objects.filter(pk__in=ids) for wid in job.worker_ids]
    assert len(runs) == 60
    if connection.vendor == "postgresql":
        # SKIP LOCKED lets workers run side by side. (SQLite serialises writers: one worker may
        # legitimately win every claim there, so only exactly-once is asserted.)
        assert len(set(runs)) >= 2, "work should spread over more than one worker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_setup_link_serves_health_and_runs_jobs(db: None) -> None:
    port = _free_port()
    result = runtime_tasks.add.enqueue(40, 2)
    proc = subprocess.Popen(
        [SOKHAN, "serve", "--port", str(port)],
        env=subprocess_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not any("running at" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "serve exited early:\n" + "".join(lines)
            lines.append(line)
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/setup/" in output and "sokhan createuser" in output

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
                body = json.loads(response.read())
            return bool(body["workers"] >= 1 and body["queue"]["depth"] == 0)

        wait_for(healthy, 20, "a live in-process worker and an empty queue")
        assert Job.objects.get(pk=result.id).return_value == 42
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _web_processes(port: int) -> list[int]:
    """PIDs of the extra web processes serving ``port`` (their command line names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--web-only" in argv and str(port).encode() in argv:
            found.append(int(entry.name))
    return found


def _get_ok(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
        return bool(response.status == 200)


def test_serve_with_processes_shares_the_port_replaces_a_dead_process_and_stops_them_all(db: None) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [SOKHAN, "serve", "--no-worker", "--processes", "2", "--port", str(port)],
        env=subprocess_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and "running at" not in line:
            line = proc.stdout.readline()
        assert "web processes: 2" in line
        wait_for(lambda: len(_web_processes(port)) == 1, 30, "the second web process")
        first = _web_processes(port)[0]
        wait_for(lambda: all(_get_ok(port) for _ in range(20)), 30, "answers from both processes")
        # A web process that dies is replaced, and the port keeps answering meanwhile.
        subprocess.run(["kill", "-9", str(first)], check=True)
        wait_for(lambda: [p for p in _web_processes(port) if p != first] != [], 30, "a replacement process")
        assert all(_get_ok(port) for _ in range(20))
        assert stop(proc) == 0
        wait_for(lambda: _web_processes(port) == [], 30, "the extra process to stop with the first")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_extra_web_process_exits_when_the_first_is_killed(db: None) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [SOKHAN, "serve", "--no-worker", "--processes", "2", "--port", str(port)],
        env=subprocess_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(_web_processes(port)) == 1, 30, "the second web process")
        proc.kill()
        proc.wait()
        wait_for(lambda: _web_processes(port) == [], 30, "the orphan to notice and exit")
    finally:
        if proc.poll() is None:
            proc.kill()
