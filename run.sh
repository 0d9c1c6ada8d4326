#!/usr/bin/env bash
# Install (first time) and start Sokhan: web app and worker on http://127.0.0.1:8000, SQLite under ./data.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/sokhan serve "$@"
