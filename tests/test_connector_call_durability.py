"""A CCaaS call survives a SIGKILL of the real ``omnisdk serve`` process: killed between the
commit of the decision (the interaction routed to an external queue, the ``route`` row in the
outbox) and the call, the restarted process makes the call exactly once; killed after the call
and before the outbox recorded it, the restarted process sends it again with the **same**
idempotency reference (a provider honouring it does it once).  The connector is
``tests/plugins_for_tests/ccaas_journal.py``, whose "CCaaS" is a journal file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sample_wire import SECRET, msg, sample_body, sample_signature
from serve_process import TESTS, start_server

from omnisdk.testkit.ports import free_port
from omnisdk.testkit.processes import stop_processes


def journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def outbox_states(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT state FROM outbox ORDER BY id")]
    finally:
        conn.close()


def cli_stats(config: Path) -> dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(TESTS / "plugins_for_tests")}
    out = subprocess.run([sys.executable, "-m", "omnisdk.cli", "stats", "-c", str(config), "--json"],
                         env=env, capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("kill_when", ["before", "after"])
def test_a_call_killed_with_the_process_is_made_once_after_restart(tmp_path, kill_when):
    db, calls, marker = tmp_path / "omni.db", tmp_path / "journal.jsonl", tmp_path / "kill-next-call"
    config = tmp_path / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n'
        '[plugins]\nallow = ["sample_plugin", "ccaas_journal"]\nmodules = ["sample_plugin", "ccaas_journal"]\n'
        '[[routing.queues]]\nname = "genesys"\nrouting_source = "external"\nconnector = "journal"\n'
        f'[accounts.sample.acme]\nsecret = "{SECRET}"\n'
        '[accounts.journal.acme]\napi_base_url = "https://api.journal.test"\n'
        'token_url = "https://login.journal.test/oauth/token"\nclient_id = "cid"\nclient_secret = "journal-secret-1"\n'
        f'queue_map = {{ genesys = "q-1" }}\njournal = "{calls}"\nkill_marker = "{marker}"\n'
        f'kill_when = "{kill_when}"\n'
    )
    marker.touch()
    port = free_port()
    proc = start_server(config, port)
    try:
        body = sample_body([msg(1)])
        resp = httpx.post(f"http://127.0.0.1:{port}/webhooks/sample/acme", content=body,
                          headers={"x-sample-signature": sample_signature(body)}, timeout=5)
        assert resp.status_code == 200
        proc.wait(timeout=20)  # the connector kills the process at its first call
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL and not marker.exists()
    assert outbox_states(db) == ["sending"]  # committed with the decision; its outcome never recorded
    assert len(journal(calls)) == (0 if kill_when == "before" else 1)

    proc = start_server(config, port := free_port())
    try:
        wait_for(lambda: outbox_states(db) == ["sent"])
    finally:
        stop_processes([proc])
    made = journal(calls)
    [interaction_id] = {m["interaction_id"] for m in made}
    assert {(m["op"], m["key"]) for m in made} == {("route", f"route:{interaction_id}:1")}  # one call, one key
    assert len(made) == (1 if kill_when == "before" else 2)  # "after": resent with the same key
    stats = cli_stats(config)
    assert (stats["connector_calls.queued"], stats["connector_calls.sent"], stats["connector_calls.backlog"]) \
        == (1, 1, 0)
