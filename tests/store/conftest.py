"""The store tests: the contract suite (``store_contract.py``) and the SQLite store's own; the
PostgreSQL store's (``test_postgres_*.py``) need psycopg (``pip install 'omnisdk[postgres]'``,
which ``scripts/bootstrap.sh`` installs): without it they are left out, except in CI
(``OMNISDK_REQUIRE_SERVICES=1``), where their import error fails the run."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

if importlib.util.find_spec("psycopg") is None and os.environ.get("OMNISDK_REQUIRE_SERVICES") != "1":
    collect_ignore_glob = ["test_postgres_*.py"]
