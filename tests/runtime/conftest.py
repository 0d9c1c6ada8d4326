from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# Helper modules here are imported by name, both by the tests and by the worker subprocesses
# (which get this directory on PYTHONPATH), so task paths like "runtime_tasks.record" match.
sys.path.insert(0, str(Path(__file__).parent))

from runtime_helpers import Clock


@pytest.fixture
def clock() -> Clock:
    # A little ahead of real time, so rows enqueued "now" by the test are already due.
    return Clock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2))
