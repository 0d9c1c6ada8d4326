"""``sokhan bench publish --targets N [--workers W] [--channels K] [--json]``: publishing benchmark.

Runs on the database named by ``DATABASE_URL`` (PostgreSQL only; created and migrated when missing)
against a loopback Mastodon-compatible sink; see :mod:`sokhan.ops.bench_publish`. Exit status 0 when
every target was published exactly once, 1 otherwise, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.ops.bench_publish import BenchError, Options, run


class Command(BaseCommand):
    help = "Benchmarks. 'publish' measures publishing throughput, lag and exactly-once against a loopback sink."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        publish = actions.add_parser(
            "publish",
            help="Publish N scheduled targets with W worker processes and report throughput and lag.",
            description=(
                "Creates N post targets (in a scratch workspace, deleted afterwards) due from --lead seconds on, "
                "spread over --spread seconds, across K channels of a loopback Mastodon-compatible sink; runs W "
                "'sokhan worker' processes until all are terminal; compares with pgbench on the same server."
            ),
        )
        defaults = Options()
        publish.add_argument("--targets", type=int, default=defaults.targets, metavar="N")
        publish.add_argument("--workers", type=int, default=defaults.workers, metavar="W")
        publish.add_argument("--channels", type=int, default=defaults.channels, metavar="K")
        publish.add_argument("--lead", type=float, default=defaults.lead, help="Seconds until the first is due.")
        publish.add_argument("--spread", type=float, default=defaults.spread, help="Due times spread over seconds.")
        publish.add_argument("--batch", type=int, default=defaults.batch, help="Rows a worker claims at a time.")
        publish.add_argument("--poll-seconds", type=float, default=defaults.poll, help="Workers' idle poll.")
        publish.add_argument("--pgbench-seconds", type=int, default=defaults.pgbench_seconds)
        publish.add_argument("--json", action="store_true", help="Print one JSON line (otherwise a summary).")

    def handle(self, *args: Any, **options: Any) -> None:
        opts = Options(
            targets=options["targets"],
            workers=options["workers"],
            channels=options["channels"],
            lead=options["lead"],
            spread=options["spread"],
            batch=options["batch"],
            poll=options["poll_seconds"],
            pgbench_seconds=options["pgbench_seconds"],
        )

        def log(message: str) -> None:
            print(f"bench: {message}", file=sys.stderr, flush=True)

        try:
            result = run(opts, log=log)
        except BenchError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:<18} {value}")
        if result["duplicates"] or result["lost"]:
            self.stdout.flush()
            raise SystemExit(1)
