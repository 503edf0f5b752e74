#!/usr/bin/env bash
# Set everything up and run the whole test suite: core tests and every plugin's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
