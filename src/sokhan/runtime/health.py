"""Numbers for ``/health/``: queue depth and lag, leased and failed rows, live workers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min

from sokhan.runtime import engine
from sokhan.runtime.models import WorkerHeartbeat
from sokhan.runtime.worker import WORKER_STALE_SECONDS


@dataclass
class QueueStats:
    depth: int = 0  # due now and not leased
    lag_seconds: float = 0.0  # how long the oldest such row has been waiting
    running: int = 0  # under a live lease
    failed: int = 0  # in the graph's failure state

    def add(self, other: QueueStats) -> None:
        self.depth += other.depth
        self.lag_seconds = max(self.lag_seconds, other.lag_seconds)
        self.running += other.running
        self.failed += other.failed


def machine_stats(machine: engine.Machine, now: datetime) -> QueueStats:
    due = machine.due(now)
    oldest = due.aggregate(oldest=Min("state_due_at"))["oldest"]
    return QueueStats(
        depth=due.count(),
        lag_seconds=round(max((now - oldest).total_seconds(), 0.0), 3) if oldest else 0.0,
        running=machine.objects.filter(state__in=machine.graph.active_states, state_locked_until__gt=now).count(),
        failed=machine.objects.filter(state=machine.graph.failure_state).count(),
    )


def runtime_health(now: datetime) -> dict[str, Any]:
    """All figures in one dict; raises ``DatabaseError`` when the database is unreachable."""
    total = QueueStats()
    per_machine: dict[str, dict[str, Any]] = {}
    for machine in engine.machines():
        stats = machine_stats(machine, now)
        per_machine[machine.label] = asdict(stats)
        total.add(stats)
    workers = WorkerHeartbeat.objects.filter(last_seen__gte=now - timedelta(seconds=WORKER_STALE_SECONDS)).count()
    return {"queue": asdict(total), "machines": per_machine, "workers": workers}
