"""Helpers that build sample-plugin webhook bodies for the core tests."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import orjson

from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, Event
from omnisdk.model.addresses import conversation_key

SECRET = "sample-secret"


def sample_body(messages=(), statuses=()) -> bytes:
    return orjson.dumps({"messages": list(messages), "statuses": list(statuses)})


def sample_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def msg(i: int | str, customer: str = "+15550100001", text: str = "hi", to: str = "biz") -> dict:
    return {"id": f"m-{i}", "from": customer, "to": to, "text": text, "ts": 1700000000}


def make_settings(tmp_path: Path, **routing):
    from omnisdk.config import Settings

    return Settings(
        store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
        plugins={"modules": ["sample_plugin"], "allow": ["sample_plugin"]},
        routing=routing or {
            "queues": [{"name": "support"}],
            "agents": [
                {"id": "alice", "capacity": {"chat": 2}},
                {"id": "bob", "capacity": {"chat": 1}},
            ],
        },
        accounts={"sample": {"acme": {"secret": SECRET, "api_base_url": "https://sample.test"}}},
    )


def message_event(i, customer="+15550100001", business="biz", text="hi"):
    return Event(
        id=f"m-{i}", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, time="2026-01-01T00:00:00Z",
        partitionkey=conversation_key("/sample/acme", "chat", business, customer),
        data={"message_id": f"m-{i}", "channel": "chat", "customer": customer, "business": business,
              "kind": "text", "text": text},
    )


def status_event(mid, status):
    return Event(
        id=f"{mid}:{status}", source="/sample/acme", type=TYPE_MESSAGE_STATUS, time="2026-01-01T00:00:01Z",
        data={"message_id": mid, "channel": "chat", "status": status, "provider_status": status},
    )


async def ingest(rt, *events):
    await rt.store.append_inbox(list(events), "2026-01-01T00:00:00Z")
    await rt.processor.drain()
