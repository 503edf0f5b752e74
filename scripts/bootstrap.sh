#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the core with its dev and postgres extras and every in-tree plugin,
# each as its own distribution (editable). Idempotent: re-running only refreshes the installs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  for cand in python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "omnisdk needs Python 3.11+"'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.omnisdk-installed
inputs=$(cat pyproject.toml plugins/*/pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null
  args=(-e ".[dev,testkit,postgres,nats]")  # postgres, nats: the PostgreSQL store's and the bus's tests need psycopg and nats-py
  for p in plugins/*/; do args+=(-e "$p"); done
  .venv/bin/python -m pip install -q --disable-pip-version-check "${args[@]}"
  echo "$inputs" > "$stamp"
fi
