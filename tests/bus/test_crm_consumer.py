"""The example consumer (``examples/crm_consumer.py``) receives the demo's events from NATS.

The demo (``omnisdk demo --bus``: the gateway on SQLite fed every installed plugin's recorded
provider payloads over HTTP, agents at work, a call, a mail thread) runs with ``[bus]`` set on
streams unique to this test; the consumer then runs as a subprocess and must print every core
event the demo's store says it published, once each, matching what the store holds.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from omnisdk import events as ev
from omnisdk.demo import run_demo
from omnisdk.store import open_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "crm_consumer.py"


def consume(bus, *extra: str, timeout: float = 20.0) -> tuple[list[dict], str]:
    """Run the example consumer; the events it printed (``--json``) and its stderr."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--server", bus.url, "--stream", bus.events_stream, "--json",
         "--timeout", str(timeout), *extra], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


async def test_the_example_consumer_receives_the_demos_events(tmp_path, bus_settings):
    console = Console(file=io.StringIO(), width=200)
    workdir = tmp_path / "demo"
    code = await run_demo(workdir, console, bus=bus_settings)
    report = console.file.getvalue()
    assert code == 0, report[-4000:]
    assert "Events out:" in report

    def facts(tx):
        inters = tx.list_interactions()
        inbound = {(i.source, m.message_id) for i in inters for m in tx.messages_of(i.id) if m.direction == "inbound"}
        return tx.counters(), inters, inbound

    counters, interactions, inbound = await open_store(f"sqlite:///{workdir / 'omnisdk.db'}").read(facts)
    published = counters["bus.events.published"]
    assert published == counters["bus.events.queued"] > 100 and counters["bus.events.backlog"] == 0

    got, stderr = consume(bus_settings, "--subject", f"{bus_settings.events_subject}.>", "--durable", "crm",
                          "--count", str(published))
    assert len(got) == published and f"handled {published} events" in stderr
    keys = [(e["source"], e["id"]) for e in got]
    assert len(set(keys)) == published  # each event once
    by_type: dict[str, list[dict]] = {}
    for e in got:
        by_type.setdefault(e["type"], []).append(e)
    assert {e["data"]["id"] for e in by_type[ev.TYPE_INTERACTION_CREATED]} == {i.id for i in interactions}
    closed = {i.id for i in interactions if i.state.value == "closed"}
    assert closed and {e["data"]["id"] for e in by_type[ev.TYPE_INTERACTION_CLOSED]} == closed
    assert inbound <= set(keys)  # every customer message the store holds went out as its own event
    assert by_type[ev.TYPE_OUTBOUND_SENT] and by_type[ev.TYPE_CASE_CREATED]
    assert all(e["specversion"] == "1.0" and e["type"].startswith("io.omnisdk.") for e in got)

    # the durable consumer resumes where it stopped: nothing is handed out again
    again, stderr = consume(bus_settings, "--subject", f"{bus_settings.events_subject}.>", "--durable", "crm",
                            timeout=2.0)
    assert again == [] and "handled 0 events" in stderr
    # a subject wildcard picks one kind of event
    only, _ = consume(bus_settings, "--subject", f"{bus_settings.events_subject}.io.omnisdk.interaction.closed",
                      "--durable", "closed-only", "--count", str(len(by_type[ev.TYPE_INTERACTION_CLOSED])))
    assert sorted(e["id"] for e in only) == sorted(e["id"] for e in by_type[ev.TYPE_INTERACTION_CLOSED])
