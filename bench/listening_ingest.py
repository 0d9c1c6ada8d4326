"""Listening ingest end to end: normalise, match, language, sentiment and store, on PostgreSQL.

Run from the repository root (``bench/listening-ingest.md`` explains the method; results go in
``bench/RESULTS.md``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sokhan_bench_listening \\
        .venv/bin/python bench/listening_ingest.py --posts 200000 --topics 100 --processes 2

It generates (deterministically, from ``--seed``) mixed Persian/English posts with the corpus
generator of ``bench/listening_match.py`` plus the metadata sources give (network, id, author,
followers, time over the last week, a language only where the network reports one), a scratch
workspace ``bench-listening`` with ``--topics`` topics, then calls the product's
``sokhan.listening.ingest.ingest`` on batches of ``--batch`` posts from ``--processes`` processes
(forked after the matcher and the models are loaded; each takes every n-th batch) and prints one
JSON object: posts/s over the wall time, and each stage's share of the processes' time.
The database is created and migrated when missing; the listening tables are emptied first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sokhan_bench_listening"
# Networks whose posts say their language (feeds: <language>, xml:lang); the others are detected.
REPORTS_LANGUAGE = {"mastodon", "bluesky", "x", "rss"}


def _database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokhan.config.settings")
    os.environ.setdefault("SOKHAN_DATA_DIR", str(ROOT / "bench" / ".listening-data" / "ingest"))  # git-ignored
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _workspace(topics: int, seed: int) -> tuple[Any, list[Any]]:
    """The scratch workspace with ``topics`` topics; listening tables emptied (a bench database)."""
    from django.db import connection
    from listening_match import make_brands, make_queries

    from sokhan.core.models import User, Workspace
    from sokhan.core.services import workspace_create
    from sokhan.listening.models import Topic

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE listening_hourlycount, listening_mentiontopic, listening_mention CASCADE")
    Workspace.objects.filter(slug="bench-listening").delete()
    owner = User.objects.filter(email="bench-listening@example.com").first() or User.objects.create_user(
        "bench-listening@example.com", "bench-listening-password"
    )
    workspace = workspace_create(owner=owner, name="Bench listening", slug="bench-listening")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    brands = make_brands(rng, topics)
    for index, query in enumerate(make_queries(rng, brands)):
        Topic.objects.create(workspace=workspace, name=f"Topic {index + 1}", query=query)
    return workspace, brands


def _posts(count: int, brands: list[Any], seed: int, duplicates: float, languages: str) -> list[Any]:
    from listening_match import make_post

    from sokhan.listening.ingest import IncomingItem

    rng = random.Random(seed + 1)  # noqa: S311 - reproducible test data
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(brands))]  # Zipf-like popularity
    now = datetime.now(UTC)
    items: list[Any] = []
    for number in range(count):
        if items and rng.random() < duplicates:  # the same post from a second source
            items.append(items[rng.randrange(len(items))])
            continue
        text, lang, network = make_post(rng, brands, weights)
        handle = f"user{rng.randrange(50_000)}"
        items.append(
            IncomingItem(
                network=network,
                remote_id=f"{seed}-{number}",
                text=text,
                published_at=now - timedelta(seconds=rng.randrange(7 * 24 * 3600)),
                url=f"https://{network}.example/{handle}/{number}",
                author_handle=handle,
                author_name=handle.title(),
                author_followers=int(rng.lognormvariate(5, 2)),
                language=lang if languages == "all" or network in REPORTS_LANGUAGE else "",
            )
        )
    return items


def _warm() -> None:
    """Load what every process needs before forking: the topics, the sentiment models, langdetect."""
    from sokhan.inbox.language import detect_language
    from sokhan.listening.engine import ENGINE
    from sokhan.sentiment import analyze

    ENGINE.sync(force=True)
    ENGINE.matcher.rebuild()
    analyze("warm up", "en")
    analyze("گرم کردن", "fa")
    detect_language("warming up the language detector")


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _work(args: tuple[Any, list[list[Any]], Any]) -> dict[str, Any]:
    workspace, batches, start = args
    from django.db import connection

    from sokhan.listening.ingest import IngestResult, ingest

    total = IngestResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])  # PostgreSQL runs on this machine: its CPU is counted too
    start.wait()
    began, cpu, server = time.perf_counter(), time.process_time(), _cpu_of(backend)
    for batch in batches:
        result = ingest(workspace, batch)
        result.mention_ids = []
        total.add(result)
    return {
        "result": asdict(total),
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "server_cpu": _cpu_of(backend) - server,
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    _database(options.database_url)
    _setup(options.database_url)
    from django.db import connections

    from sokhan.listening.models import HourlyCount, Mention, MentionTopic

    started = time.perf_counter()
    workspace, brands = _workspace(options.topics, options.seed)
    items = _posts(options.posts, brands, options.seed, options.duplicates, options.languages)
    generate_seconds = time.perf_counter() - started
    _warm()
    connections.close_all()  # each process opens its own connection
    batches = [items[i : i + options.batch] for i in range(0, len(items), options.batch)]
    shares = [batches[p :: options.processes] for p in range(options.processes)]
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        start = manager.Barrier(options.processes + 1)
        with context.Pool(options.processes) as pool:
            pending = pool.map_async(_work, [(workspace, share, start) for share in shares])
            start.wait()
            began = time.perf_counter()
            parts = pending.get()
            wall = time.perf_counter() - began
    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}
    counts: dict[str, int] = {}
    for part in parts:
        for stage, seconds in part["result"]["seconds"].items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        for stage, seconds in part["result"]["cpu_seconds"].items():
            stages_cpu[stage] = stages_cpu.get(stage, 0.0) + seconds
        for name in ("received", "duplicates", "unmatched", "stored", "links"):
            counts[name] = counts.get(name, 0) + part["result"][name]
    busy = sum(part["seconds"] for part in parts)
    cpu = sum(part["cpu"] for part in parts)
    server_cpu = sum(part["server_cpu"] for part in parts)
    stages["other"] = busy - sum(stages.values())
    stages_cpu["other"] = cpu - sum(stages_cpu.values())
    stored = Mention.objects.filter(workspace=workspace).count()
    links = MentionTopic.objects.filter(topic__workspace=workspace).count()
    counted = sum(HourlyCount.objects.filter(topic__workspace=workspace).values_list("total", flat=True))
    return {
        "posts": options.posts,
        "topics": options.topics,
        "processes": options.processes,
        "batch": options.batch,
        "languages": options.languages,
        "generate_seconds": round(generate_seconds, 1),
        "wall_seconds": round(wall, 2),
        "posts_per_s": round(options.posts / wall),
        # What two otherwise idle cores would do: all the CPU the run used (ingest processes and
        # their PostgreSQL backends), spread over two cores. The machine is shared; wall time is not.
        "cpu_seconds": {"ingest": round(cpu, 2), "postgres": round(server_cpu, 2)},
        "posts_per_s_on_2_idle_cores": round(options.posts / ((cpu + server_cpu) / 2)),
        **counts,
        "stage_seconds": {stage: round(seconds, 2) for stage, seconds in stages.items()},
        "stage_share": {stage: round(seconds / busy, 3) for stage, seconds in stages.items()},
        "stage_cpu_seconds": {stage: round(seconds, 2) for stage, seconds in stages_cpu.items()},
        "stage_cpu_share": {stage: round(seconds / cpu, 3) for stage, seconds in stages_cpu.items()},
        "checks": {
            "mentions_stored": stored == counts["stored"],
            "hourly_totals_equal_links": counted == links == counts["links"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--duplicates", type=float, default=0.05, help="Share of posts seen again from another source.")
    parser.add_argument(
        "--languages",
        choices=("reported", "all"),
        default="reported",
        help="Which posts come with a language: those of networks that report one (default), or all (no detection).",
    )
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    options = parser.parse_args()
    if not options.database_url.startswith("postgres"):
        raise SystemExit("The benchmark needs PostgreSQL (--database-url or DATABASE_URL).")
    print(json.dumps(run(options), ensure_ascii=False))


if __name__ == "__main__":
    main()
