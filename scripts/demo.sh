#!/usr/bin/env bash
# Set everything up and run the main job: the gateway on SQLite fed with real provider payloads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/omnisdk demo "$@"
