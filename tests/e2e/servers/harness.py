"""Bring e2e servers up from the test run itself (used by tests/e2e/test_*_e2e.py).

``start(script, probe)`` runs ``<script> start`` unless ``probe`` already answers, and returns a stop
function (a no-op when the server was already running or ``SOKHAN_E2E_KEEP=1``). When the server
cannot be installed or started, the test is skipped with the reason, unless ``CI`` is set: then it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

HERE = Path(__file__).parent
T = TypeVar("T")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URLs only
            return True
    except OSError:
        return False


def start(script: str, probe: str, *, timeout: float = 1500) -> Callable[[], None]:
    if answers(probe):
        return lambda: None
    env = {**os.environ, "SOKHAN_E2E_PYTHON": sys.executable}
    began = time.monotonic()
    try:
        proc = subprocess.run(
            ["bash", str(HERE / script), "start"], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None or proc.returncode != 0 or not answers(probe):
        reason = f"{script} could not start the server" + (
            f": {(proc.stderr or proc.stdout).strip()[-800:]}" if proc else " in time"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    print(f"\n{script} started in {time.monotonic() - began:.1f}s", file=sys.stderr)

    def stop() -> None:
        if os.environ.get("SOKHAN_E2E_KEEP") != "1":
            subprocess.run(["bash", str(HERE / script), "stop"], capture_output=True, timeout=120, check=False)

    return stop


def eventually[T](fn: Callable[[], T], what: str, *, seconds: float = 30, every: float = 0.5) -> T:
    """Poll until ``fn`` returns something truthy (servers index asynchronously)."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as exc:  # the last error is reported if time runs out
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last!r}" if last else ""))
