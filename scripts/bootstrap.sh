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
stamp="$(cat pyproject.toml setup.py package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)$extras"
# The C extension (src/sokhan/listening/_scan.c) is compiled by the install; an editable install
# does not recompile it when the source changes, so its hash has a stamp of its own.
scan_stamp_file=.venv/.sokhan-scan
scan_stamp="$(cat setup.py src/sokhan/listening/_scan.c | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp_file" ] || [ "$(cat "$stamp_file")" != "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
  if ! command -v npm >/dev/null 2>&1; then
    echo "Sokhan's web UI needs npm (Node.js) to install its front-end packages." >&2
    exit 1
  fi
  npm ci --no-audit --no-fund --loglevel=error
  echo "$stamp" >"$stamp_file"
  echo "$scan_stamp" >"$scan_stamp_file"
elif [ ! -f "$scan_stamp_file" ] || [ "$(cat "$scan_stamp_file")" != "$scan_stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e ".$extras"
  echo "$scan_stamp" >"$scan_stamp_file"
fi
if ! .venv/bin/python -c "import sokhan.listening._scan" 2>/dev/null; then
  echo "warning: the listening matcher's C extension was not built (no C compiler or Python headers?);" \
    "listening falls back to the much slower pure-Python engine (docs/listening.md, Speed)." >&2
fi

.venv/bin/sokhan compiletranslations --quiet
