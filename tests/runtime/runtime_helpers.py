"""Helpers for the runtime tests (a module name unique across the test tree)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SOKHAN = str(Path(sys.executable).with_name("sokhan"))


class Clock:
    """A hand-driven clock for the worker, so lease expiry and cron periods need no sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def database_url() -> str:
    """The *test* database, as a URL a subprocess's settings understand."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "runtime"), env.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="sokhan.config.settings",
    )
    return env


def start_worker(worker_id: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SOKHAN, "worker", "--worker-id", worker_id, "--lease-seconds", "2", "--poll-seconds", "0.1", *extra],
        env=subprocess_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
