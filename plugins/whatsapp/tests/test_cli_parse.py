"""``omnisdk parse whatsapp`` on the real recorded payloads: ids, exit codes 3 and 2.

Runs the real CLI in a subprocess (exit codes and stdout as a user sees them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson

from omnisdk.recordings import load
from omnisdk_whatsapp import WhatsAppAdapter
from omnisdk_whatsapp.signature import compute

RECORDINGS = Path(WhatsAppAdapter.recordings)
SECRET = WhatsAppAdapter.example_settings()["app_secret"]


def omnisdk(*args: str, stdin: bytes | None = None, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "omnisdk.cli", *args], input=stdin, capture_output=True, cwd=cwd, timeout=60
    )


def provider_ids(body: bytes) -> set[str]:
    """Message and status ids as they stand in the payload (wamid…).  A revoke notice is
    identified by the message it deletes (see omnisdk_whatsapp.translate)."""
    doc = orjson.loads(body)
    ids = set()
    for entry in doc.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            for m in value.get("messages", []):
                ids.add(m.get("revoke", {}).get("original_message_id") or m["id"])
            ids |= {s["id"] for s in value.get("statuses", []) if "id" in s}
    return ids


def test_every_recorded_payload_parses_to_cloudevents_with_provider_ids(tmp_path):
    for path in sorted(RECORDINGS.glob("*.json")):
        proc = omnisdk("parse", "whatsapp", "--sign", str(path), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr.decode()
        events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        assert events, path.name
        for e in events:
            assert e["specversion"] == "1.0" and e["type"].startswith("io.omnisdk.")
            assert e["source"] == "/whatsapp/example"
        wamids = set().union(*(provider_ids(r.body) for r in load(path)))
        event_ids = {e["id"] for e in events}
        # every provider message/status id is the id, or the prefix of the id, of an event
        for wamid in wamids:
            assert any(i == wamid or i.startswith(wamid + ":") for i in event_ids), (path.name, wamid)


def test_a_signed_body_from_stdin_with_its_header(tmp_path):
    body = (RECORDINGS / "real_text_message.json").read_bytes()
    header = f"X-Hub-Signature-256: {compute(SECRET, body)}"
    proc = omnisdk("parse", "whatsapp", "-H", header, "-", stdin=body, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    (event,) = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert event["id"] == provider_ids(body).pop()
    assert event["data"]["text"] == "Hey there! I am using PyWa."


def test_a_forged_signature_exits_3_with_a_one_line_reason(tmp_path):
    body = (RECORDINGS / "real_text_message.json").read_bytes()
    header = f"X-Hub-Signature-256: {compute('not-the-secret', body)}"
    proc = omnisdk("parse", "whatsapp", "-H", header, "-", stdin=body, cwd=tmp_path)
    assert proc.returncode == 3
    assert len(proc.stderr.decode().strip().splitlines()) == 1
    assert proc.stdout == b""


def test_a_truncated_body_exits_2_with_a_one_line_reason(tmp_path):
    body = (RECORDINGS / "real_text_message.json").read_bytes()[:150]
    header = f"X-Hub-Signature-256: {compute(SECRET, body)}"
    proc = omnisdk("parse", "whatsapp", "-H", header, "-", stdin=body, cwd=tmp_path)
    assert proc.returncode == 2
    assert "malformed" in proc.stderr.decode()
    assert len(proc.stderr.decode().strip().splitlines()) == 1
