"""``sokhan worker``: a standalone worker process. Run as many as you like, on any machine."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sokhan.runtime.worker import Worker, default_batch_size, install_signal_handlers, prepare_worker


class Command(BaseCommand):
    help = "Run background work: jobs, periodic schedules and state machines."
    requires_system_checks: list[str] = []  # a worker must not depend on the web layer importing

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run everything due now, then exit.")
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=settings.WORKER_LEASE_SECONDS,
            help="How long a claimed row stays ours; after that another worker may take it.",
        )
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=settings.WORKER_POLL_SECONDS,
            help="Idle wait between polls.",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=None,
            help="Rows to claim per machine at a time (default: 20 on PostgreSQL; 1 on SQLite, whose single "
            "writer a batch would hold longer).",
        )
        parser.add_argument("--worker-id", default=None, help="Name shown on /health/ (default: host-pid).")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(
            worker_id=options["worker_id"],
            lease_seconds=options["lease_seconds"],
            poll_seconds=options["poll_seconds"],
            batch_size=options["batch"] or default_batch_size(),
        )
        install_signal_handlers(worker.request_stop)
        prepare_worker()
        if options["once"]:
            steps = worker.run_once()
            self.stdout.write(f"Ran {steps} step(s).")
            return
        self.stdout.write(f"Worker {worker.worker_id} running; stop with Ctrl+C or SIGTERM.")
        worker.run()
