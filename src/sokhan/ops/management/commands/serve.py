"""``sokhan serve``: migrate, then run the web app (waitress, in one or more processes) and an
in-process worker."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from waitress import create_server

from sokhan.config.wsgi import application
from sokhan.core.setup import setup_link, setup_needed, setup_token
from sokhan.ops.web_processes import Siblings, can_share_port, default_processes, exit_with_parent, listening_socket
from sokhan.runtime.worker import Worker, default_batch_size, prepare_worker


class Command(BaseCommand):
    help = "Run Sokhan: web app and background worker in one process."
    requires_system_checks: list[str] = []  # checks run below, after migrate

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("SOKHAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SOKHAN_PORT", "8000")))
        parser.add_argument("--threads", type=int, default=8, help="Web request threads.")
        parser.add_argument("--no-worker", action="store_true", help="Run only the web app.")
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Web processes sharing the port (default: SOKHAN_WEB_PROCESSES, else one per core on "
            "PostgreSQL and one on SQLite).",
        )
        # Internal: one of the extra web processes the first one starts (no migrate, worker or banner).
        parser.add_argument("--web-only", type=int, default=None, metavar="PARENT_PID", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["web_only"] is not None:
            self._serve_only(options)
            return
        self.check(display_num_errors=False)
        call_command("migrate", interactive=False, verbosity=0)
        if setup_needed():
            self._print_setup(options["host"], options["port"])
        processes = options["processes"] if options["processes"] is not None else default_processes()
        if processes < 1:
            raise CommandError(_("--processes must be at least 1."))
        if processes > 1 and not can_share_port():
            self.stderr.write(_("This system cannot share a port between processes: running one web process."))
            processes = 1
        sock = listening_socket(options["host"], options["port"], share=processes > 1)
        siblings = Siblings(processes - 1, host=options["host"], port=options["port"], threads=options["threads"])
        if processes > 1:
            siblings.start()

        worker: Worker | None = None
        thread: threading.Thread | None = None
        if not options["no_worker"]:
            prepare_worker()
            worker = Worker(batch_size=default_batch_size())
            thread = threading.Thread(target=worker.run, name="sokhan-worker", daemon=True)
            thread.start()

        server = create_server(application, sockets=[sock], threads=options["threads"])

        def stop(signum: int, frame: FrameType | None) -> None:
            if worker is not None:
                worker.request_stop()
            # waitress's loop turns SystemExit into an orderly shutdown of its request threads.
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            _(
                "Sokhan is running at http://%(host)s:%(port)s/ (web processes: %(processes)s, worker: "
                "%(worker)s). Stop with Ctrl+C."
            )
            % {
                "host": options["host"],
                "port": options["port"],
                "processes": processes,
                "worker": _("off") if worker is None else _("on"),
            }
        )
        self.stdout.flush()
        try:
            server.run()
        finally:
            siblings.stop()
            if worker is not None and thread is not None:
                worker.request_stop()
                thread.join(timeout=worker.lease.total_seconds())
            self.stdout.write(_("Sokhan stopped."))

    def _serve_only(self, options: dict[str, Any]) -> None:
        sock = listening_socket(options["host"], options["port"], share=True)
        server = create_server(application, sockets=[sock], threads=options["threads"])

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        # Ctrl+C reaches the whole process group: the first process stops this one in order.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(
            target=exit_with_parent, args=(options["web_only"],), name="sokhan-parent-watch", daemon=True
        ).start()
        server.run()

    def _print_setup(self, host: str, port: int) -> None:
        link = setup_link()
        if "SOKHAN_BASE_URL" not in os.environ:
            # No public URL configured: point at the address we are about to listen on.
            shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
            link = f"http://{shown}:{port}/setup/{setup_token()}/"
        bar = "=" * 72
        self.stdout.write(bar)
        self.stdout.write(_("No account exists yet. Create the owner account by opening this one-time link:"))
        self.stdout.write(f"    {link}")
        self.stdout.write(_("or from a shell:"))
        self.stdout.write("    .venv/bin/sokhan createuser --email you@example.com")
        self.stdout.write('    .venv/bin/sokhan createworkspace --name "My brand" --owner you@example.com')
        self.stdout.write(bar)
