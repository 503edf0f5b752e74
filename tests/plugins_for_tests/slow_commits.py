"""Test-only plugin module: makes every SQLite group commit take 20 ms longer.

Loaded by the durability test's server subprocess (``[plugins] modules``) so that a SIGKILL
lands while many requests wait for their commit: an ack sent before the commit would then be
lost, and the test would see it.
"""

from __future__ import annotations

import time

from omnisdk.store.sqlite import SQLiteStore

OMNISDK_PLUGIN_API = 1

_original = SQLiteStore._run_batch


def _slow_run_batch(self, conn, tx, jobs):
    time.sleep(0.02)
    return _original(self, conn, tx, jobs)


SQLiteStore._run_batch = _slow_run_batch
