"""``sokhan bench publish`` end to end with a small N: runs on PostgreSQL, refuses SQLite."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest
from django.db import connection
from tests.publishing.workers import ROOT, SOKHAN

KEYS = {
    "targets",
    "published",
    "duplicates",
    "lost",
    "throughput_per_s",
    "lag_p50_s",
    "lag_p99_s",
    "pgbench_tps",
    "ratio_vs_pgbench",
}


def run_bench(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="sokhan.config.settings")
    return subprocess.run(
        [SOKHAN, "bench", "publish", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_bench_publish_small_run_prints_the_json_line_and_cleans_up() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("sokhan bench publish runs on PostgreSQL only (the PostgreSQL pass runs this)")
    import psycopg
    from psycopg import sql

    s = connection.settings_dict
    admin = {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "user": s["USER"], "dbname": "postgres"}
    if s["PASSWORD"]:
        admin["password"] = s["PASSWORD"]
    name = f"sokhan_bench_test_{secrets.token_hex(4)}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    url = f"postgres://{auth}@{admin['host']}:{admin['port']}/{name}"
    try:
        args = ("--targets", "50", "--channels", "5", "--lead", "3", "--spread", "2", "--pgbench-seconds", "2")
        done = run_bench(url, *args, "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert set(result) >= KEYS
        assert result["targets"] == result["published"] == 50
        assert result["duplicates"] == 0 and result["lost"] == 0
        assert result["pgbench_tps"] > 0 and result["throughput_per_s"] > 0
        assert 0 <= result["lag_p50_s"] <= result["lag_p99_s"]
        assert "cleanup_error" not in result
        with psycopg.connect(**{**admin, "dbname": name}) as conn:  # the scratch rows are gone
            assert conn.execute("SELECT count(*) FROM publishing_posttarget").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM core_workspace WHERE slug LIKE 'bench-%'").fetchone() == (0,)
        with psycopg.connect(**admin) as conn:  # and so is pgbench's scratch database
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'sokhan_pgbench_%'").fetchall()
            assert rows == []
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.django_db
def test_bench_publish_refuses_sqlite(tmp_path: object) -> None:
    done = run_bench(f"sqlite:///{tmp_path}/bench.sqlite3", "--targets", "5", "--json")
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr and "DATABASE_URL" in done.stderr
