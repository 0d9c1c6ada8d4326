#!/usr/bin/env bash
# Matrix Synapse (from PyPI, SQLite) on 127.0.0.1:8008 for end-to-end tests.
#   synapse.sh start|stop|status
# Users: alice/alicepass, bob/bobpass (server name "localhost").
# Everything lives in ${SOKHAN_E2E_CACHE:-$HOME/.cache/sokhan-e2e}/synapse, so a second start is fast.
set -euo pipefail
CACHE=${SOKHAN_E2E_CACHE:-$HOME/.cache/sokhan-e2e}
D=$CACHE/synapse
PORT=8008
URL=http://127.0.0.1:$PORT
PYTHON=${SOKHAN_E2E_PYTHON:-python3}
mkdir -p "$D"
cd "$D"

waitfor() {
  local url=$1 secs=${2:-120} i
  for ((i = 0; i < secs * 4; i++)); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.25
  done
  echo "timeout waiting for $url (see $D/synapse.out)" >&2
  return 1
}

case ${1:-start} in
start)
  if curl -sf -o /dev/null $URL/health; then echo "synapse already up: $URL"; exit 0; fi
  command -v curl >/dev/null || { echo "curl is missing" >&2; exit 3; }
  if [ ! -x venv/bin/synctl ] && [ ! -f venv/.ready ]; then
    rm -rf venv
    "$PYTHON" -m venv venv
    timeout 900 venv/bin/pip install -q --disable-pip-version-check matrix-synapse 2> pip.log || { tail -20 pip.log >&2; exit 1; }
    touch venv/.ready
  fi
  if [ ! -f homeserver.yaml ]; then
    venv/bin/python -m synapse.app.homeserver --server-name localhost --config-path homeserver.yaml \
      --generate-config --report-stats=no >/dev/null
    # Loopback only; no federation, no key servers, no rate limits that would slow a test run.
    sed -i -e '/^    - ::1$/d' -e '/^trusted_key_servers:/,+1d' homeserver.yaml
    sed -i -e "s/bind_addresses: \['::1', '127.0.0.1'\]/bind_addresses: ['127.0.0.1']/" homeserver.yaml
    cat >> homeserver.yaml <<'Y'
trusted_key_servers: []
suppress_key_server_warning: true
enable_registration: true
enable_registration_without_verification: true
federation_domain_whitelist: []
url_preview_enabled: false
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login: {address: {per_second: 1000, burst_count: 1000}, account: {per_second: 1000, burst_count: 1000}, failed_attempts: {per_second: 1000, burst_count: 1000}}
rc_joins: {local: {per_second: 1000, burst_count: 1000}}
rc_media_create: {per_second: 1000, burst_count: 1000}
Y
  fi
  nohup venv/bin/python -m synapse.app.homeserver -c homeserver.yaml > synapse.out 2>&1 &
  echo $! > server.pid
  waitfor $URL/health 120
  for u in alice bob; do
    venv/bin/register_new_matrix_user -c homeserver.yaml -u $u -p ${u}pass --no-admin $URL >/dev/null 2>&1 || true
  done
  echo "synapse up: $URL (@alice:localhost/alicepass, @bob:localhost/bobpass)"
  ;;
stop)
  if [ -f server.pid ]; then
    pid=$(cat server.pid)
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f server.pid
  fi
  ;;
status) curl -sf -o /dev/null $URL/health ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
