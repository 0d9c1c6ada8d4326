"""``sokhan bench publish --targets N [--workers W] [--channels K] [--json]``: publishing benchmark.

Runs on the database named by ``DATABASE_URL`` (PostgreSQL only; created and migrated when missing)
against a loopback Mastodon-compatible sink; see :mod:`sokhan.ops.bench_publish`. Exit status 0 when
every target was published exactly once, 1 otherwise, 2 when the benchmark cannot run.

``sokhan bench inbox [--conversations N] [--messages M] [--rate R] [--seconds S]``: the inbox list API
and page under a constant request rate with wrk; see :mod:`sokhan.ops.bench_inbox`. Prints one JSON
line per target; exit status 1 when a target answered with errors, 2 when the benchmark cannot run.

``sokhan bench sentiment [--texts N] [--processes P ...] [--rounds R] [--input FILE ...]``: texts per
second of the configured sentiment backend on 1 and 2 processes; see :mod:`sokhan.ops.bench_sentiment`.
Prints one JSON line per process count; exit status 2 when the benchmark cannot run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sokhan.ops import bench_inbox, bench_sentiment
from sokhan.ops.bench_publish import BenchError, Options, run


class Command(BaseCommand):
    help = (
        "Benchmarks. 'publish' measures publishing throughput, lag and exactly-once against a loopback sink; "
        "'inbox' the inbox list API and page under a constant request rate; "
        "'sentiment' texts per second of the sentiment model."
    )
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

        inbox = actions.add_parser(
            "inbox",
            help="Load N conversations / M messages and measure the inbox list API and page with wrk at R requests/s.",
            description=(
                "Loads (or reuses) a scratch workspace 'bench-inbox' with N conversations and M messages, starts "
                "'sokhan serve --no-worker' on a free loopback port, and runs wrk against the list API (open "
                "conversations; one agent's with one tag) and the inbox page: unpaced for --warmup seconds, then "
                "paced at --rate requests/s for --seconds (latency counted from when each request was due). "
                "Prints one JSON line per target. Needs PostgreSQL and wrk."
            ),
        )
        inbox_defaults = bench_inbox.Options()
        inbox.add_argument("--conversations", type=int, default=inbox_defaults.conversations, metavar="N")
        inbox.add_argument("--messages", type=int, default=inbox_defaults.messages, metavar="M")
        inbox.add_argument("--rate", type=int, default=inbox_defaults.rate, metavar="R", help="Requests per second.")
        inbox.add_argument("--seconds", type=int, default=inbox_defaults.seconds, help="Length of each paced run.")
        inbox.add_argument("--warmup", type=int, default=inbox_defaults.warmup, help="Unpaced seconds before it.")
        inbox.add_argument(
            "--connections", type=int, default=inbox_defaults.connections, help="Connections of the paced runs."
        )
        inbox.add_argument("--server-threads", type=int, default=inbox_defaults.server_threads)
        inbox.add_argument(
            "--conn-max-age",
            type=int,
            default=None,
            metavar="S",
            help="Keep database connections S seconds (SOKHAN_DB_CONN_MAX_AGE; default: as deployed).",
        )
        inbox.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Web processes of 'sokhan serve' (default: as deployed, one per core on PostgreSQL).",
        )
        inbox.add_argument(
            "--target",
            action="append",
            choices=list(inbox_defaults.targets),
            dest="inbox_targets",
            help="Only this target (repeatable); all by default.",
        )
        inbox.add_argument("--reload", action="store_true", help="Load the data again even if it is there.")
        inbox.add_argument("--drop", action="store_true", help="Only delete the scratch workspace, then exit.")
        inbox.add_argument("--explain", action="store_true", help="Log EXPLAIN ANALYZE of the API list queries.")

        sentiment = actions.add_parser(
            "sentiment",
            help="Texts per second of sokhan.sentiment.analyze_many on 1 and 2 processes.",
            description=(
                "Labels --texts texts (from --input files, else a built-in Persian/English mix) with the configured "
                "sentiment backend in P fresh processes for each --processes value, --rounds times; model loading is "
                "not timed. Prints one JSON line per process count: median seconds and texts/s, best texts/s, CPU ms "
                "per text."
            ),
        )
        sentiment_defaults = bench_sentiment.Options()
        sentiment.add_argument("--texts", type=int, default=sentiment_defaults.texts, metavar="N")
        sentiment.add_argument(
            "--processes",
            type=int,
            nargs="+",
            default=list(sentiment_defaults.processes),
            metavar="P",
            help="Process counts to measure (default: 1 2).",
        )
        sentiment.add_argument("--rounds", type=int, default=sentiment_defaults.rounds, metavar="R")
        sentiment.add_argument(
            "--input",
            type=Path,
            action="append",
            default=[],
            metavar="FILE",
            help="A TSV file with a 'text' column or JSON lines with \"text\" (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "inbox":
            return self._inbox(options)
        if options["action"] == "sentiment":
            return self._sentiment(options)
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

    def _inbox(self, options: dict[str, Any]) -> None:
        def log(message: str) -> None:
            print(f"bench: {message}", file=sys.stderr, flush=True)

        defaults = bench_inbox.Options()
        opts = bench_inbox.Options(
            conversations=options["conversations"],
            messages=options["messages"],
            rate=options["rate"],
            seconds=options["seconds"],
            warmup=options["warmup"],
            connections=options["connections"],
            server_threads=options["server_threads"],
            conn_max_age=options["conn_max_age"],
            processes=options["processes"],
            targets=tuple(options["inbox_targets"] or defaults.targets),
            reload=options["reload"],
            explain=options["explain"],
        )
        try:
            if options["drop"]:
                bench_inbox.check_database()
                if not bench_inbox.drop_scratch(log):
                    log("no scratch workspace to drop")
                return
            results = bench_inbox.run(opts, log=log)
        except BenchError as exc:
            raise CommandError(str(exc), returncode=2) from None
        for result in results:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        if any(result["errors"] for result in results):
            self.stdout.flush()
            raise SystemExit(1)

    def _sentiment(self, options: dict[str, Any]) -> None:
        def log(message: str) -> None:
            print(f"bench: {message}", file=sys.stderr, flush=True)

        opts = bench_sentiment.Options(
            texts=options["texts"],
            processes=tuple(options["processes"]),
            rounds=options["rounds"],
            inputs=tuple(options["input"]),
        )
        try:
            results = bench_sentiment.run(opts, log=log)
        except BenchError as exc:
            raise CommandError(str(exc), returncode=2) from None
        for result in results:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
