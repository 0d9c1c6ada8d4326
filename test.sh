#!/usr/bin/env bash
# The whole test suite: lint, types, tests on SQLite (with the browser test and the end-to-end tests
# against real local servers), then the tests again on PostgreSQL + Redis.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh --dev

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy

echo "== tests on SQLite"
env -u DATABASE_URL -u REDIS_URL .venv/bin/pytest -p no:cacheprovider "$@"

pg_url=${SOKHAN_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sokhan}
redis_url=${SOKHAN_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
echo "== tests on PostgreSQL ($pg_url) with Redis ($redis_url)"
DATABASE_URL=$pg_url REDIS_URL=$redis_url .venv/bin/pytest -p no:cacheprovider -m "not browser and not e2e" "$@"
