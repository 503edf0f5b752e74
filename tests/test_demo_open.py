"""``omnisdk demo --open``: after its report the gateway stays up with the console and the web
chat's portal page, prints both URLs and an agent key that signs in, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from omnisdk.gateway.console import CONSOLE_CSP


def test_demo_open_leaves_the_console_and_the_portal_running_and_stops_on_ctrl_c(tmp_path: Path):
    pytest.importorskip("omnisdk_webchat")
    env = {k: v for k, v in os.environ.items() if k != "OMNISDK_CONFIG_FILE"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "omnisdk"), "demo", "--open", "--workdir", str(tmp_path / "demo")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("omk_"):
                break
        out = "".join(lines)
        key = lines[-1].strip()
        assert key.startswith("omk_"), out[-3000:]
        console = re.search(r"agent console:\s+(http://127\.0\.0\.1:\d+/console/)", out)
        portal = re.search(r"customer portal \(web chat widget\): (http://127\.0\.0\.1:\d+/chat/portal/)", out)
        assert console and portal, out[-3000:]
        page = httpx.get(console.group(1))
        assert page.status_code == 200 and page.headers["content-security-policy"] == CONSOLE_CSP
        base = console.group(1).removesuffix("/console/")
        me = httpx.get(f"{base}/v1/me", headers={"X-API-Key": key}).json()
        assert me["role"] == "agent" and me["agent"] == "alice"
        widget = httpx.get(portal.group(1))
        assert widget.status_code == 200 and "widget.js" in widget.text
        session = httpx.post(f"{portal.group(1)}session", json={})
        assert session.status_code == 200 and session.json()["token"]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out + rest)[-3000:]
