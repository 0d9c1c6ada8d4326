# Shared helpers for the e2e server scripts (sourced).
# CACHE holds installs (Node, npm packages) and is reused across runs; RUN holds per-start data.
CACHE=${SOKHAN_E2E_CACHE:-$HOME/.cache/sokhan-e2e}; mkdir -p "$CACHE"
# PostgreSQL runs as the postgres user when we are root, so its data cannot live under /root.
PGDIR=${SOKHAN_E2E_PGDIR:-/tmp/sokhan-e2e-pg-$(id -u)}
waitfor() { local url=$1 secs=${2:-120} i; for ((i=0;i<secs*4;i++)); do curl -sf -o /dev/null "$url" && return 0; sleep 0.25; done; echo "timeout: $url" >&2; return 1; }
apt_install() {  # only as root; otherwise the caller must have the package already
  if [ "$(id -u)" = 0 ]; then timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; else
    echo "missing Debian package(s): $*" >&2; return 1; fi
}
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "cd / && $1"; else bash -c "$1"; fi; }
PGPORT_PRIVATE=54329
pg_up() {   # private PostgreSQL on 127.0.0.1:54329 (Debian package), trust auth, data under $CACHE/pg
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local B; B=$(pg_bin); local D=$PGDIR; mkdir -p "$D"; [ "$(id -u)" = 0 ] && chown postgres "$D"
  [ -f "$D/data/PG_VERSION" ] || as_pg "$B/initdb -D $D/data -A trust -U postgres" >/dev/null
  as_pg "$B/pg_ctl -D $D/data status" >/dev/null 2>&1 && return 0
  as_pg "$B/pg_ctl -D $D/data -l $D/pg.log -o '-c listen_addresses=127.0.0.1 -p $PGPORT_PRIVATE -k $D' -w start" >/dev/null
}
pg_down() { local B; B=$(pg_bin); as_pg "$B/pg_ctl -D $PGDIR/data -m fast stop" >/dev/null 2>&1 || true; }
pg_resetdb() {  # a fresh, empty database per start so runs do not see each other's data
  local B; B=$(pg_bin)
  as_pg "$B/psql -q -h 127.0.0.1 -p $PGPORT_PRIVATE -U postgres -c 'drop database if exists $1 with (force)'" >/dev/null 2>&1 || true
  as_pg "$B/psql -q -h 127.0.0.1 -p $PGPORT_PRIVATE -U postgres -c 'create database $1'" >/dev/null
}
