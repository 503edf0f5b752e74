"""``omnisdk serve --split``: a webhook ingress process and a core process on one store, the
inbox in its own file (the ingress never waits for the core's write lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sample_wire import SECRET, msg, sample_body, sample_signature

from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.store.sqlite import SQLiteStore
from omnisdk.testkit.ports import free_port_pair

TESTS = Path(__file__).parent


def wait_ok(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode()[-2000:])
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


def test_split_serve_ingests_in_one_process_and_routes_in_the_other(tmp_path):
    _split_serve(tmp_path, f"sqlite:///{tmp_path / 'omni.db'}")
    assert (tmp_path / "omni-inbox.db").exists()


def test_split_serve_on_postgresql_shares_the_one_database(tmp_path):
    from postgres_schemas import fresh_schema, schema_url  # skips without PostgreSQL (fails in CI)

    with fresh_schema() as schema:
        _split_serve(tmp_path, schema_url(schema))
    assert not list(tmp_path.glob("*.db"))  # no SQLite inbox file was derived from the URL


def _split_serve(tmp_path, store_url: str) -> None:
    config = tmp_path / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "{store_url}"\n'
        '[plugins]\nallow = ["sample_plugin"]\nmodules = ["sample_plugin"]\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { chat = 100 }\n'
        f'[accounts.sample.acme]\nsecret = "{SECRET}"\n'
    )
    port = free_port_pair()
    env = {**os.environ, "PYTHONPATH": str(TESTS / "plugins_for_tests")}
    made = subprocess.run([sys.executable, "-m", "omnisdk.cli", "keys", "create", "--name", "split-test",
                           "--role", "supervisor", "-c", str(config)], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    auth = {"x-api-key": made.stdout.strip()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnisdk.cli", "serve", "--split", "-c", str(config), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_ok(f"http://127.0.0.1:{port}/healthz", proc)
        wait_ok(f"http://127.0.0.1:{port + 1}/healthz", proc)
        for i in range(20):
            body = sample_body([msg(i, customer=f"+1555010{i:04d}")])
            r = httpx.post(f"http://127.0.0.1:{port}/webhooks/sample/acme", content=body,
                           headers={"x-sample-signature": sample_signature(body)})
            assert r.status_code == 200
        # the ingress serves no agent API; the core does, and it has routed every message
        assert httpx.get(f"http://127.0.0.1:{port}/v1/interactions").status_code == 404
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = httpx.get(f"http://127.0.0.1:{port + 1}/v1/interactions", params={"limit": 100},
                              headers=auth).json()["items"]
            if len(items) == 20:
                break
            time.sleep(0.1)
        assert len(items) == 20 and {i["agent"] for i in items} == {"alice"}
        assert httpx.get(f"http://127.0.0.1:{port + 1}/v1/stats").status_code == 401  # no key, no answer
        stats = httpx.get(f"http://127.0.0.1:{port + 1}/v1/stats", headers=auth).json()
        assert stats["events.accepted"] == 20  # the ingress's counters, read through the core
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


async def test_the_core_reads_an_inbox_another_store_writes(tmp_path):
    ingress = SQLiteStore(tmp_path / "in.db", inbox_only=True, synchronous="NORMAL")
    core = SQLiteStore(tmp_path / "core.db", inbox_path=tmp_path / "in.db", synchronous="NORMAL")
    await ingress.open()
    await core.open()
    try:
        event = Event(id="m-1", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, data={"x": 1})
        assert (await ingress.append_inbox([event], "2026-01-01T00:00:00Z")).accepted == 1
        claimed = await core.transact(lambda tx: tx.claim_inbox(10))
        assert [e.id for _, e in claimed] == ["m-1"]
        await core.transact(lambda tx: tx.mark_processed_through(claimed[-1][0]))
        assert await core.transact(lambda tx: tx.claim_inbox(10)) == []
        assert await core.transact(lambda tx: tx.counters()) == {"events.accepted": 1}
    finally:
        await ingress.close()
        await core.close()


def test_the_core_does_not_outlive_its_ingress(tmp_path):
    config = tmp_path / "omnisdk.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "omni.db"}"\n[plugins]\nallow = []\n')
    port = free_port_pair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnisdk.cli", "serve", "--split", "-c", str(config), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    wait_ok(f"http://127.0.0.1:{port + 1}/healthz", proc)
    proc.send_signal(signal.SIGKILL)  # the ingress dies without running any clean-up
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port + 1}/healthz", timeout=0.5)
        except httpx.HTTPError:
            return  # the core is gone
        time.sleep(0.2)
    raise AssertionError("the core kept running after its ingress died")


async def test_switching_a_database_to_split_keeps_routing_new_events(tmp_path):
    one = SQLiteStore(tmp_path / "core.db", synchronous="NORMAL")  # the one-process layout
    await one.open()
    event = Event(id="old", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, data={})
    await one.append_inbox([event], "2026-01-01T00:00:00Z")
    for _ in range(3):  # the cursor moves well past the new file's first seqs
        await one.append_inbox([event.with_(id=f"old-{_}")], "2026-01-01T00:00:00Z")
    claimed = await one.transact(lambda tx: tx.claim_inbox(10))
    await one.transact(lambda tx: tx.mark_processed_through(claimed[-1][0]))
    await one.close()
    ingress = SQLiteStore(tmp_path / "in.db", inbox_only=True, synchronous="NORMAL")
    core = SQLiteStore(tmp_path / "core.db", inbox_path=tmp_path / "in.db", synchronous="NORMAL")
    await ingress.open()
    await core.open()
    try:
        await ingress.append_inbox([event.with_(id="new")], "2026-01-01T00:00:01Z")
        claimed = await core.transact(lambda tx: tx.claim_inbox(10))
        assert [e.id for _, e in claimed] == ["new"]  # not hidden by main.inbox, not skipped
    finally:
        await ingress.close()
        await core.close()
