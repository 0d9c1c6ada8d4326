"""Real ``sokhan worker`` processes against the test database, for crash and fault tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SOKHAN = str(Path(sys.executable).with_name("sokhan"))
GENEROUS_RATES = json.dumps({"*": {"account": [100000, 60], "app": [100000, 60], "concurrency": 16}})


def database_url() -> str:
    """The URL of the database this test runs on, for worker processes to share."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(
    worker_id: str,
    *,
    lease_seconds: float = 2,
    poll_seconds: float = 0.1,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
) -> subprocess.Popen[str]:
    """``sokhan worker`` on the test database with generous rate limits (override with ``env``)."""
    full = dict(os.environ)
    full.update(
        DATABASE_URL=database_url(),
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="sokhan.config.settings",
        SOKHAN_CHANNELS_RATE=GENEROUS_RATES,
    )
    full.update(env or {})
    return subprocess.Popen(
        [
            SOKHAN,
            "worker",
            "--worker-id",
            worker_id,
            "--lease-seconds",
            str(lease_seconds),
            "--poll-seconds",
            str(poll_seconds),
        ],
        env=full,
        cwd=ROOT,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str, *, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop_workers(workers: Mapping[str, subprocess.Popen[str]], *, timeout: float = 30) -> dict[str, str]:
    """SIGTERM every live worker and wait; kill what does not stop. Returns each one's output."""
    outputs: dict[str, str] = {}
    for proc in workers.values():
        if proc.poll() is None:
            proc.terminate()
    for name, proc in workers.items():
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        outputs[name] = out or ""
    return outputs
