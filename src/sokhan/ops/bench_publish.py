"""``sokhan bench publish``: end-to-end publishing throughput, lag and exactly-once, on PostgreSQL.

What one run does (see ``docs/publishing.md``, "Fault tests and benchmark"):

1. Creates the database named by ``DATABASE_URL`` if it does not exist, and migrates it.
2. Measures the server with ``pgbench`` (single-row updates, ``-n -T <s> -c <workers>``) in a scratch
   database it creates and drops, for a reference number on the same machine and server.
3. Starts the loopback Mastodon-compatible sink (:mod:`sokhan.ops.bench_sink`) and creates, in a fresh
   scratch workspace, ``--channels`` channels on it and ``--targets`` scheduled post targets due from
   ``--lead`` seconds on, spread evenly over ``--spread`` seconds.
4. Runs ``--workers`` real ``sokhan worker`` processes until every target is terminal.
5. Prints one JSON line: targets, published, duplicates (counted at the sink: statuses created more than
   once for one idempotency key), lost (targets not published), throughput (published per second from
   the first due time to the last publication), lag p50/p99 (``published_at - scheduled_at``),
   pgbench tps and the ratio of the two.
6. Deletes the scratch workspace (its channels, posts and targets) and its rate-limit buckets.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

WORKER_RATES = json.dumps({"*": {"account": [10**9, 1], "app": [10**9, 1], "concurrency": 64}})


class BenchError(RuntimeError):
    """The benchmark cannot run (wrong database, pgbench missing…); the message says why."""


@dataclass(frozen=True)
class Options:
    targets: int = 20_000
    workers: int = 2
    channels: int = 50
    lead: float = 60.0  # seconds from set-up until the first target is due
    spread: float = 60.0  # due times spread evenly over this many seconds
    batch: int = 20  # rows a worker claims at a time
    poll: float = 0.2  # idle poll of the workers
    pgbench_seconds: int = 10
    timeout: float = 1800.0  # give up waiting for the targets after this long


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0…1) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


# ----------------------------------------------------------------------------- database


def _conninfo(settings_dict: dict[str, Any], name: str) -> dict[str, Any]:
    info = {
        "host": settings_dict.get("HOST") or "127.0.0.1",
        "port": int(settings_dict.get("PORT") or 5432),
        "user": settings_dict.get("USER") or "postgres",
        "dbname": name,
    }
    if settings_dict.get("PASSWORD"):
        info["password"] = settings_dict["PASSWORD"]
    return info


def check_database() -> dict[str, Any]:
    """The default database's settings; refuses anything but PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise BenchError(
            "sokhan bench publish needs PostgreSQL: SQLite runs one writer at a time, so the numbers would "
            "say nothing about concurrent workers. Set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/sokhan_bench"
        )
    return dict(connection.settings_dict)


def ensure_database(settings_dict: dict[str, Any]) -> bool:
    """Create the database if it does not exist. Returns whether it was created."""
    import psycopg
    from psycopg import sql

    name = str(settings_dict["NAME"])
    try:
        psycopg.connect(**_conninfo(settings_dict, name)).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(**_conninfo(settings_dict, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def pgbench_tps(settings_dict: dict[str, Any], *, clients: int, seconds: int) -> float:
    """tps of single-row updates by ``clients`` pgbench clients, in a scratch database dropped afterwards."""
    import psycopg
    from psycopg import sql

    if not _which("pgbench"):
        raise BenchError("pgbench is not installed (Debian: apt install postgresql-client).")
    scratch = f"sokhan_pgbench_{secrets.token_hex(4)}"
    admin = _conninfo(settings_dict, "postgres")
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    try:
        with psycopg.connect(**_conninfo(settings_dict, scratch), autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_row (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
            conn.execute("INSERT INTO bench_row (id) SELECT generate_series(1, 10000)")
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write("\\set id random(1, 10000)\nUPDATE bench_row SET n = n + 1 WHERE id = :id;\n")
        info = _conninfo(settings_dict, scratch)
        env = dict(os.environ)
        if "password" in info:
            env["PGPASSWORD"] = str(info["password"])
        command = ["pgbench", "-n", "-T", str(seconds), "-c", str(clients), "-j", str(clients), "-f", script.name]
        command += ["-h", str(info["host"]), "-p", str(info["port"]), "-U", str(info["user"]), scratch]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 120, check=False)
        Path(script.name).unlink(missing_ok=True)
        if done.returncode != 0:
            raise BenchError(f"pgbench failed: {done.stderr.strip()[-500:]}")
        match = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections)", done.stdout)
        match = match or re.search(r"tps = ([0-9.]+)", done.stdout)
        if match is None:
            raise BenchError(f"cannot read pgbench's tps from: {done.stdout[-500:]}")
        return float(match.group(1))
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


def _which(program: str) -> str | None:
    import shutil

    return shutil.which(program)


# ----------------------------------------------------------------------------- scratch data


@dataclass
class Scratch:
    workspace_id: int
    user_id: int
    channel_ids: list[int]
    first_due: datetime


def create_scratch(options: Options, sink_url: str, *, now: datetime) -> Scratch:
    """A workspace of its own with ``channels`` channels on the sink and ``targets`` scheduled targets."""
    from django.db import transaction

    from sokhan.core.models import Membership, User, Workspace
    from sokhan.core.permissions import Role
    from sokhan.core.services import organization_get
    from sokhan.ops.bench_sink import make_channel

    tag = secrets.token_hex(4)
    with transaction.atomic():
        user = User.objects.create_user(f"bench-{tag}@example.invalid", secrets.token_urlsafe(24))
        workspace = Workspace.objects.create(organization=organization_get(), name=f"Bench {tag}", slug=f"bench-{tag}")
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
        channels = [
            make_channel(workspace, sink_url, remote_id=str(i + 1), target=f"bench-{i + 1}", display_name=f"Bench {i}")
            for i in range(options.channels)
        ]
    first_due = now + timedelta(seconds=options.lead)
    step = options.spread / max(1, options.targets - 1) if options.targets > 1 else 0.0
    schedule_many(
        workspace,
        channels,
        [(f"Sokhan bench post {i} {tag}", first_due + timedelta(seconds=i * step)) for i in range(options.targets)],
        author=user,
    )
    return Scratch(workspace.pk, user.pk, [c.pk for c in channels], first_due)


def schedule_many(
    workspace: Any, channels: list[Any], items: list[tuple[str, datetime]], *, author: Any = None
) -> None:
    """Bulk-create one post per ``(text, due)`` with one scheduled target each, on the channels in turn.

    For load: this skips the services' checks (content rules, approvals) that ``post_schedule`` runs."""
    from django.db import transaction

    from sokhan.publishing import states as S
    from sokhan.publishing.models import Post, PostTarget

    chunk = 2000
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        with transaction.atomic():
            posts = Post.objects.bulk_create(
                [Post(workspace=workspace, author=author, title=f"bench {start + i}") for i in range(len(part))]
            )
            rows = []
            for i, ((text, due), post) in enumerate(zip(part, posts, strict=True)):
                row = PostTarget(
                    workspace=workspace,
                    post=post,
                    channel=channels[(start + i) % len(channels)],
                    text=text,
                    scheduled_at=due,
                )
                row.enter_state(S.SCHEDULED, due_at=due)
                rows.append(row)
            PostTarget.objects.bulk_create(rows)


def delete_scratch(scratch: Scratch, sink_url: str) -> None:
    from django.conf import settings

    from sokhan.channels import ratelimit
    from sokhan.core.models import AuditEvent, User, Workspace
    from sokhan.publishing.models import Post, PostTarget

    PostTarget.objects.filter(workspace_id=scratch.workspace_id).delete()
    Post.objects.filter(workspace_id=scratch.workspace_id).delete()
    AuditEvent.objects.filter(workspace_id=scratch.workspace_id).delete()
    Workspace.objects.filter(pk=scratch.workspace_id).delete()
    User.objects.filter(pk=scratch.user_id).delete()
    if settings.REDIS_URL:
        keys = [f"account:{pk}" for pk in scratch.channel_ids] + [f"app:mastodon:{sink_url}"]
        ratelimit.RedisStore(settings.REDIS_URL).reset(keys)


# ----------------------------------------------------------------------------- workers


def start_workers(options: Options, tag: str) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "sokhan.config.settings"),
        SOKHAN_CHANNELS_RATE=WORKER_RATES,
    )
    command = [sys.executable, "-m", "sokhan.cli", "worker", "--batch", str(options.batch)]
    command += ["--poll-seconds", str(options.poll)]
    return [
        subprocess.Popen(
            [*command, "--worker-id", f"bench-{tag}-{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(options.workers)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[str]:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    errors = []
    for proc in workers:
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode not in (0, -signal.SIGTERM):
            errors.append((err or b"").decode(errors="replace")[-2000:])
    return errors


# ----------------------------------------------------------------------------- the run


def run(options: Options, *, log: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """One benchmark run (Django is set up on the database to use); returns the result dict."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from sokhan.ops.bench_sink import SinkServer
    from sokhan.publishing.models import PostTarget

    if options.targets < 1 or options.workers < 1 or options.channels < 1:
        raise BenchError("--targets, --workers and --channels must be at least 1.")
    settings_dict = check_database()
    from django.conf import settings

    if not settings.REDIS_URL:
        log("warning: REDIS_URL is not set, so rate-limit buckets live in the database and serialise calls")
    if ensure_database(settings_dict):
        log(f"created database {settings_dict['NAME']}")
    connection.close()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"pgbench: {options.workers} client(s), {options.pgbench_seconds} s")
    tps = pgbench_tps(settings_dict, clients=options.workers, seconds=options.pgbench_seconds)
    log(f"pgbench: {tps:.0f} tps")

    with SinkServer() as sink:
        scratch = create_scratch(options, sink.url, now=timezone.now())
        tag = secrets.token_hex(3)
        log(f"{options.targets} targets on {options.channels} channels, first due {scratch.first_due:%H:%M:%S}")
        workers = start_workers(options, tag)
        worker_errors: list[str] = []
        try:
            ours = PostTarget.objects.filter(workspace_id=scratch.workspace_id)
            deadline = time.monotonic() + options.lead + options.spread + options.timeout
            while time.monotonic() < deadline:
                active = ours.filter(state__in=("scheduled", "publishing")).count()
                if active == 0:
                    break
                if any(proc.poll() is not None for proc in workers):
                    raise BenchError("a worker exited early: " + " | ".join(stop_workers(workers)))
                time.sleep(0.5)
            else:
                raise BenchError(f"timed out with {active} target(s) still active")
        finally:
            worker_errors = stop_workers(workers)
        cleanup_error = ""
        try:
            states = dict(ours.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
            found = ours.filter(state="published").values_list("idempotency_key", "scheduled_at", "published_at")
            rows: list[tuple[str, datetime, datetime]] = [
                (key, scheduled, published) for key, scheduled, published in found if scheduled and published
            ]
            keys = set(ours.values_list("idempotency_key", flat=True))
            lags = [(published - scheduled).total_seconds() for _, scheduled, published in rows]
            published = len(rows)
            duplicates = sum(n - 1 for key, n in sink.created.items() if n > 1)
            missing_at_sink = len(keys - {key for key, n in sink.created.items() if n >= 1})
            lost = options.targets - published
            last = max((p for _, _, p in rows), default=scratch.first_due)
            window = max((last - scratch.first_due).total_seconds(), 1e-3)
            throughput = published / window
        finally:
            try:
                delete_scratch(scratch, sink.url)
            except Exception as exc:  # report the numbers anyway, and say what was left behind
                cleanup_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log(f"cleanup of workspace {scratch.workspace_id} failed: {cleanup_error}")
    result: dict[str, Any] = {
        "targets": options.targets,
        "published": published,
        "duplicates": duplicates,
        "lost": lost,
        "throughput_per_s": round(throughput, 1),
        "lag_p50_s": round(percentile(lags, 0.50), 3),
        "lag_p99_s": round(percentile(lags, 0.99), 3),
        "pgbench_tps": round(tps, 1),
        "ratio_vs_pgbench": round(throughput / tps, 3) if tps else None,
        "workers": options.workers,
        "channels": options.channels,
        "spread_s": options.spread,
        "failed": states.get("failed", 0),
        "outcome_unknown": states.get("outcome_unknown", 0),
        "missing_at_sink": missing_at_sink,
        "worker_errors": len(worker_errors),
    }
    if cleanup_error:
        result["cleanup_error"] = cleanup_error
    return result
