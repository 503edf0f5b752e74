"""Test helper: run the real ``omnisdk serve`` in a subprocess (the durability tests kill it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

TESTS = Path(__file__).parent.parent


def start_server(config: Path, port: int, *args: str) -> subprocess.Popen:
    """``omnisdk serve -c config --port port *args`` once its ``/healthz`` answers 200."""
    env = {**os.environ, "PYTHONPATH": str(TESTS / "plugins_for_tests")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnisdk.cli", "serve", "-c", str(config), "--port", str(port), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start")
