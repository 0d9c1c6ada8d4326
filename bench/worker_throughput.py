"""Worker throughput: jobs per second on SQLite (1 worker) and PostgreSQL (1 and 3 workers).

Run by hand from the repository root:  .venv/bin/python bench/worker_throughput.py [--jobs 600]
Each case gets a fresh data directory and database, enqueues N no-op jobs through Django's tasks API,
then times `sokhan worker --once` processes until every job has succeeded. Compare the ratios between
cases run side by side, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOKHAN = ROOT / ".venv" / "bin" / "sokhan"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"

ENQUEUE = """
import django; django.setup()
from django.db import transaction
from bench_tasks import noop
with transaction.atomic():
    for i in range({jobs}):
        noop.enqueue(n=i)
"""
COUNT = """
import django; django.setup()
from sokhan.runtime.models import Job
print(Job.objects.filter(state="succeeded").count())
"""


def run_case(name: str, database_url: str | None, workers: int, jobs: int) -> float:
    env = dict(os.environ)
    env["SOKHAN_DATA_DIR"] = tempfile.mkdtemp(prefix="sokhan-bench-")
    env["DJANGO_SETTINGS_MODULE"] = "sokhan.config.settings"
    env["PYTHONPATH"] = str(ROOT / "bench")
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([str(SOKHAN), "migrate", "-v0"], env=env, check=True)
    subprocess.run([python, "-c", ENQUEUE.format(jobs=jobs)], env=env, check=True)
    started = time.perf_counter()
    procs = [
        subprocess.Popen([str(SOKHAN), "worker", "--once", "--batch", "10"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait()
    elapsed = time.perf_counter() - started
    done = int(subprocess.run([python, "-c", COUNT], env=env, check=True, capture_output=True, text=True).stdout)
    if done != jobs:
        raise SystemExit(f"{name}: only {done} of {jobs} jobs succeeded")
    rate = jobs / elapsed
    print(f"{name:<28} {workers} worker(s)  {jobs} jobs  {elapsed:6.2f} s  {rate:7.1f} jobs/s")
    return rate


def recreate_pg(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=600)
    args = parser.parse_args()
    sqlite = run_case("sqlite", None, 1, args.jobs)
    pg1 = run_case("postgresql", recreate_pg("sokhan_bench_1"), 1, args.jobs)
    pg3 = run_case("postgresql", recreate_pg("sokhan_bench_3"), 3, args.jobs)
    print(f"ratio postgresql-3/postgresql-1: {pg3 / pg1:.2f}; postgresql-1/sqlite-1: {pg1 / sqlite:.2f}")


if __name__ == "__main__":
    sys.exit(main())
