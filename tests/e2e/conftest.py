"""Session fixtures for end-to-end tests: real servers on 127.0.0.1, started by the test run."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.servers.harness import start

PDS = "http://127.0.0.1:2583"
APPVIEW = "http://127.0.0.1:2584"
WORDPRESS_URL = "http://127.0.0.1:8088"
WORDPRESS_SCRIPT = Path(__file__).parent / "servers" / "wordpress.sh"
CACHE = Path(os.environ.get("SOKHAN_E2E_CACHE", Path.home() / ".cache" / "sokhan-e2e"))


@pytest.fixture(scope="session")
def bluesky_server() -> Iterator[str]:
    stop = start("bluesky.sh", f"{APPVIEW}/xrpc/_health", timeout=1500)
    yield PDS
    stop()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"WordPress e2e server unavailable on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def wordpress() -> Iterator[dict[str, str]]:
    running = subprocess.run(["bash", str(WORDPRESS_SCRIPT), "status"], capture_output=True).returncode == 0
    if not running:
        try:
            done = subprocess.run(
                ["bash", str(WORDPRESS_SCRIPT), "start"], capture_output=True, text=True, timeout=1200
            )
        except subprocess.TimeoutExpired:
            _unavailable("wordpress.sh start timed out")
        if done.returncode != 0:
            _unavailable(f"wordpress.sh start failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    passwords: dict[str, str] = json.loads((CACHE / "wordpress" / "app-passwords.json").read_text())
    yield passwords
    if not running and os.environ.get("SOKHAN_E2E_KEEP") != "1":
        subprocess.run(["bash", str(WORDPRESS_SCRIPT), "stop"], capture_output=True, timeout=60)
