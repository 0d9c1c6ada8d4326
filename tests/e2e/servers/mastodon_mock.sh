#!/bin/bash
# Mastodon stand-in for e2e tests: the PyPI package mastodon-mock (stateful FastAPI + in-memory SQLite) on
# 127.0.0.1:${SOKHAN_E2E_MASTODON_PORT:-3011}, seeded with demo accounts (tokens ada_token, grace_token, ...).
# Installed into its own venv under ${SOKHAN_E2E_CACHE:-~/.cache/sokhan-e2e}/mastodon. Usage: mastodon_mock.sh start|stop|status
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); . "$HERE/common.sh"
D=$CACHE/mastodon; mkdir -p "$D"; cd "$D"
PORT=${SOKHAN_E2E_MASTODON_PORT:-3011}
pick_python() {  # the first interpreter that really runs (pyenv shims may exist without a version behind them)
  for c in "${SOKHAN_E2E_PYTHON:-}" python3.12 python3; do
    [ -n "$c" ] && "$c" -c 'import venv' >/dev/null 2>&1 && { echo "$c"; return; }
  done; echo "no working python3 found" >&2; return 1
}
running() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/v1/instance"; }
case ${1:-start} in
start)
  if running; then echo "READY (already running)"; exit 0; fi
  if [ ! -x venv/bin/mastodon_mock ]; then
    PY=$(pick_python); "$PY" -m venv venv
    timeout 600 venv/bin/pip install -q mastodon-mock >install.log 2>&1 || { tail -5 install.log >&2; exit 1; }
  fi
  nohup venv/bin/mastodon_mock serve --in-memory --demo --host 127.0.0.1 --port "$PORT" --log-level warning > server.log 2>&1 & echo $! > server.pid
  waitfor "http://127.0.0.1:$PORT/api/v1/instance" 60 || { tail -20 server.log >&2; exit 1; }
  echo "READY mastodon=http://127.0.0.1:$PORT";;
stop) [ -f server.pid ] && kill "$(cat server.pid)" 2>/dev/null || true; rm -f server.pid;;
status) running && echo running || { echo stopped; exit 1; };;
*) echo "usage: $0 start|stop|status" >&2; exit 2;;
esac
