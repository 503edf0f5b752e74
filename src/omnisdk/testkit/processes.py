"""Stopping the child processes a test started (``omnisdk serve`` and the like)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable


def stop_processes(procs: Iterable[subprocess.Popen], *, grace: float = 10.0) -> list[int]:
    """SIGTERM every process still running (uvicorn's graceful shutdown), wait up to ``grace``
    seconds for all of them together, SIGKILL those still running then; returns their exit
    statuses, in order (negative: the signal that ended one).  Safe on processes that have
    already exited."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return [proc.returncode for proc in procs]


__all__ = ["stop_processes"]
