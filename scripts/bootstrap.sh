#!/usr/bin/env bash
# Prepare .venv (Python >= 3.12), Sokhan and its front-end packages. Safe to run again: it only
# reinstalls what changed. Usage: scripts/bootstrap.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

if [ ! -x .venv/bin/python ]; then
  py=""
  for candidate in python3.12 python3.13 python3.14 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      py=$candidate
      break
    fi
  done
  if [ -z "$py" ]; then
    echo "Sokhan needs Python 3.12 or newer; none was found on PATH." >&2
    exit 1
  fi
  "$py" -m venv .venv
fi

stamp_file=.venv/.sokhan-install
stamp="$(cat pyproject.toml package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)$extras"
if [ ! -f "$stamp_file" ] || [ "$(cat "$stamp_file")" != "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
  if ! command -v npm >/dev/null 2>&1; then
    echo "Sokhan's web UI needs npm (Node.js) to install its front-end packages." >&2
    exit 1
  fi
  npm ci --no-audit --no-fund --loglevel=error
  echo "$stamp" >"$stamp_file"
fi

.venv/bin/sokhan compiletranslations --quiet
