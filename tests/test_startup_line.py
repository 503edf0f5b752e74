"""``omnisdk serve`` says once, on stderr, that it listens and with what: version, address,
store (password masked), plugins, number of accounts.  The real CLI runs in a subprocess and is
stopped (SIGTERM) as soon as the line is there; the same server answers ``/readyz`` and
``/metrics`` over HTTP meanwhile."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from omnisdk.cli import _store_label
from omnisdk.gateway.server import startup_line
from omnisdk.plugins import PluginHost
from omnisdk.testkit.ports import free_port
from omnisdk_sms import TwilioSmsAdapter
from omnisdk_whatsapp import WhatsAppAdapter


def _table(name: str, values: dict[str, str]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def _lines(stream, into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def test_serve_prints_one_start_up_line_once_listening(tmp_path: Path) -> None:
    (tmp_path / "conf.toml").write_text(
        '[store]\nurl = "sqlite:///omni.db"\n\n'
        + _table("accounts.sms.acme", TwilioSmsAdapter.example_settings()) + "\n"
        + _table("accounts.whatsapp.acme", WhatsAppAdapter.example_settings()))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNISDK_")}
    proc = subprocess.Popen([sys.executable, "-m", "omnisdk.cli", "serve", "-c", "conf.toml", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while not any(" listening on " in line for line in seen):
            line = lines.get(timeout=60)  # a guard against a hang, not a measurement
            assert line is not None, f"serve ended before listening: {seen}"
            seen.append(line)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    while (line := lines.get(timeout=60)) is not None:
        seen.append(line)
    host = PluginHost()
    host.load_entrypoints()
    expected = startup_line(version=metadata.version("omnisdk"), host="127.0.0.1", port=port,
                            store="sqlite:///omni.db", plugins=[i.name for i in host.describe()], accounts=2)
    assert [line for line in seen if "listening" in line] == [expected]
    assert seen == [expected]  # nothing else on stderr: the one line
    assert expected.startswith(f"omnisdk {metadata.version('omnisdk')} listening on 127.0.0.1:{port} · store ")
    assert "plugins " in expected and "sms" in expected and expected.endswith(" · 2 accounts")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    names = {f.name for f in text_string_to_metric_families(scrape.text)}
    assert {"omnisdk_webhooks", "omnisdk_inbox_backlog", "omnisdk_interactions"} <= names


def test_the_line_names_the_store_without_its_password() -> None:
    line = startup_line(version="0.1.0", host="::1", port=9000, role="core", accounts=1, plugins=["sms", "email"],
                        store=_store_label("postgresql://omni:s3cr3t-pw@db.internal:5433/omni"))
    assert line == ("omnisdk 0.1.0 core listening on [::1]:9000 · store postgresql://omni:********@db.internal:5433/omni"
                    " · plugins email, sms · 1 account")
    assert "s3cr3t" not in line
    assert _store_label("sqlite:///omnisdk.db") == "sqlite:///omnisdk.db"
