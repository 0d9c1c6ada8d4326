"""The worker loop shared by ``sokhan worker`` and the in-process worker of ``sokhan serve``."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import FrameType

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import autodiscover_modules

from sokhan.runtime import engine
from sokhan.runtime.models import WorkerHeartbeat

logger = logging.getLogger("sokhan.runtime")

HEARTBEAT_SECONDS = 10.0
# A worker not heard from for this long no longer counts as live on /health/.
WORKER_STALE_SECONDS = 60.0
# Steps one claim may run back to back when each moves the row to another state that is due at once.
MAX_CHAINED_STEPS = 4


def default_batch_size() -> int:
    """Rows a worker claims and steps at a time: batches save a transaction per row on PostgreSQL;
    on SQLite a batch would hold the one write lock through several network calls."""
    return 20 if connection.vendor == "postgresql" else 1


def default_worker_id() -> str:
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{get_random_string(4)}"


def prepare_worker() -> None:
    """Import every installed app's ``tasks`` module (tasks + schedules), then sync schedules."""
    from sokhan.runtime.schedules import sync_schedules

    autodiscover_modules("tasks")
    sync_schedules()


class Worker:
    """Claims due rows of every registered machine and runs one step each, until stopped.

    Stopping (``request_stop`` — wired to SIGTERM/SIGINT by the commands) lets the current step
    finish, gives back rows claimed but not started, and removes the heartbeat row.
    """

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
        batch_size: int = 1,
        machines: Sequence[engine.Machine] | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.lease = timedelta(seconds=lease_seconds or settings.WORKER_LEASE_SECONDS)
        self.poll_seconds = poll_seconds if poll_seconds is not None else settings.WORKER_POLL_SECONDS
        self.batch_size = max(1, batch_size)
        self._machines = list(machines) if machines is not None else None
        self.clock = clock
        self.stop_event = threading.Event()
        self.steps = 0
        self._last_beat: datetime | None = None

    @property
    def machines(self) -> list[engine.Machine]:
        return self._machines if self._machines is not None else engine.machines()

    def request_stop(self) -> None:
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def run_once(self) -> int:
        """Run steps until nothing is due (or stop is requested). Returns the number of steps."""
        total = 0
        while not self.stopping:
            if self._last_beat is not None:  # registered by run(): stay visible while busy
                self.heartbeat()
            ran = 0
            for machine in self.machines:
                if self.stopping:
                    break
                now = self.clock()
                # A plain read first: on SQLite an idle poll then never takes the write lock.
                if not machine.due(now).exists():
                    continue
                claims = engine.claim(
                    machine, worker_id=self.worker_id, lease=self.lease, now=now, limit=self.batch_size
                )
                if len(claims) > 1 and machine.rerunnable is not None:
                    ran += self._run_batch(claims)
                    continue
                for index, claimed in enumerate(claims):
                    if self.stopping:
                        engine.release(claims[index:])
                        break
                    ran += self._run_claim(claimed)
            if ran == 0:
                break
            total += ran
            self.steps += ran
        return total

    def _run_claim(self, claimed: engine.Claim) -> int:
        """Run a claimed row's step, then the steps it moves on to at once (``scheduled`` →
        ``publishing``) under the same lease, at most ``MAX_CHAINED_STEPS`` in all. Returns the
        number of steps run."""
        steps = 0
        while True:
            hold = self.lease if steps + 1 < MAX_CHAINED_STEPS else None
            outcome = engine.run_step(claimed, worker_id=self.worker_id, now=self.clock(), hold=hold)
            steps += 1
            if outcome is not engine.Outcome.CONTINUE:
                return steps
            if self.stopping:
                engine.release([claimed])
                return steps

    def _run_batch(self, claims: list[engine.Claim]) -> int:
        """``_run_claim`` for a whole claim at once (``engine.run_batch``): the rows that move on to
        a state due at once run their next step together too. Returns the number of steps run."""
        steps = 0
        pending = claims
        for chained in range(1, MAX_CHAINED_STEPS + 1):
            hold = self.lease if chained < MAX_CHAINED_STEPS else None
            outcomes = engine.run_batch(pending, worker_id=self.worker_id, now=self.clock(), hold=hold)
            steps += len(pending)
            pending = [c for c in pending if outcomes[c.pk] is engine.Outcome.CONTINUE]
            if not pending:
                break
            if self.stopping:
                engine.release(pending)
                break
        return steps

    def heartbeat(self, *, force: bool = False) -> None:
        now = timezone.now()
        if not force and self._last_beat and (now - self._last_beat).total_seconds() < HEARTBEAT_SECONDS:
            return
        updated = WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(
            last_seen=now, steps=F("steps") + self.steps
        )
        if not updated:
            WorkerHeartbeat.objects.create(
                worker_id=self.worker_id,
                hostname=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=now,
                last_seen=now,
                steps=self.steps,
            )
        self.steps = 0
        self._last_beat = now

    def run(self) -> None:
        """Loop until stopped. Database outages are logged and retried after a poll interval."""
        logger.info("Worker %s started (lease %ss).", self.worker_id, self.lease.total_seconds())
        try:
            while not self.stopping:
                ran = 0
                try:
                    self.heartbeat()
                    ran = self.run_once()
                except DatabaseError:
                    logger.exception("Worker %s: database error; retrying.", self.worker_id)
                    close_old_connections()
                if ran == 0:
                    self.stop_event.wait(self.poll_seconds)
        finally:
            try:
                WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            except DatabaseError:
                logger.warning("Worker %s could not remove its heartbeat.", self.worker_id)
            connection.close()
            logger.info("Worker %s stopped.", self.worker_id)


def install_signal_handlers(on_stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT ask for a graceful stop (main thread only, as Python requires)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("Received %s; finishing the current step.", signal.Signals(signum).name)
        on_stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
