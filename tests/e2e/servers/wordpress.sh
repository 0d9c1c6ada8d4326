#!/usr/bin/env bash
# WordPress (Debian package) served by `php -S 127.0.0.1:8088`, with a private MariaDB on 127.0.0.1:33069.
#   wordpress.sh start|stop|status
# Writes $D/app-passwords.json {"admin": "...", "bob": "..."} (application passwords for HTTP Basic).
# Data lives in ${SOKHAN_E2E_CACHE:-$HOME/.cache/sokhan-e2e}/wordpress, so a second start is fast.
# Exit status 3: the tools are missing and cannot be installed here (not root); the reason is on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SOKHAN_E2E_CACHE:-$HOME/.cache/sokhan-e2e}
D=$CACHE/wordpress
PORT=8088
DB_PORT=33069
URL=http://127.0.0.1:$PORT
PACKAGES="wordpress php-cli php-mysql mariadb-server curl"
mkdir -p "$D"
cd "$D"

waitfor() {
  local url=$1 secs=${2:-120} i
  for ((i = 0; i < secs * 4; i++)); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.25
  done
  echo "timeout waiting for $url (see $D/php.log)" >&2
  return 1
}

have_tools() {
  [ -d /usr/share/wordpress ] && command -v php >/dev/null && command -v mariadbd >/dev/null \
    && command -v mariadb-install-db >/dev/null && command -v curl >/dev/null \
    && php -m 2>/dev/null | grep -qi mysqli
}

install_tools() {
  if [ "$(id -u)" != 0 ]; then
    echo "WordPress e2e needs Debian packages ($PACKAGES); run as root or install them" >&2
    exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null 2>&1 || {
    timeout 300 apt-get update -q >/dev/null
    timeout 600 apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null
  }
}

db_up() {
  local me sock=$D/run/mysql.sock
  me=$(id -un)
  mkdir -p db run
  [ -d db/mysql ] || mariadb-install-db --no-defaults --user="$me" --datadir="$D/db" --auth-root-authentication-method=socket >/dev/null 2>&1
  if ! mariadb-admin --socket="$sock" ping >/dev/null 2>&1; then
    nohup mariadbd --no-defaults --user="$me" --datadir="$D/db" --bind-address=127.0.0.1 --port=$DB_PORT --socket="$sock" \
      --pid-file="$D/run/mariadb.pid" --skip-name-resolve --skip-log-bin --character-set-server=utf8mb4 > mariadb.log 2>&1 &
    local i
    for i in $(seq 240); do mariadb-admin --socket="$sock" ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  mariadb --socket="$sock" -uroot -e "CREATE DATABASE IF NOT EXISTS wordpress; \
    CREATE USER IF NOT EXISTS 'wp'@'127.0.0.1' IDENTIFIED BY 'wppass'; GRANT ALL ON wordpress.* TO 'wp'@'127.0.0.1';"
}

case ${1:-start} in
start)
  if curl -sf -o /dev/null $URL/wp-json/ && [ -f app-passwords.json ]; then echo "wordpress already up: $URL"; exit 0; fi
  have_tools || install_tools
  db_up
  [ -d site ] || { cp -rL /usr/share/wordpress site; rm -f site/.htaccess; }
  cp "$HERE/wp/wp-config.php" site/wp-config.php
  mkdir -p site/wp-content/uploads
  php "$HERE/wp/setup.php" "$D" > /dev/null
  nohup php -d upload_max_filesize=16M -d post_max_size=16M -S 127.0.0.1:$PORT -t site "$HERE/wp/router.php" \
    > php.log 2>&1 &
  echo $! > php.pid
  waitfor $URL/wp-json/ 60
  echo "wordpress up: $URL/wp-json/ ($D/app-passwords.json)"
  ;;
stop)
  for f in php.pid run/mariadb.pid; do
    if [ -f $f ]; then
      pid=$(cat $f)
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      rm -f $f
    fi
  done
  ;;
status) curl -sf -o /dev/null $URL/wp-json/ ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
