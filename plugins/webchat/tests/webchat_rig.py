"""The web chat tests' rig: a real gateway (uvicorn on a free loopback port) with one web chat
account whose delivery API is that same gateway, and a visitor client."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from omnisdk_webchat import WebchatAdapter, protocol

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.plugins import PluginHost
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task
from omnisdk.testkit.polling import wait_for
from omnisdk.testkit.ports import free_port

ACCOUNT = "acme"


@dataclass
class Chat:
    """A running gateway: ``base`` URL, the ``runtime``, the ``adapter``."""

    base: str
    runtime: Runtime
    adapter: WebchatAdapter

    @property
    def root(self) -> str:
        return f"{self.base}/chat/{ACCOUNT}"

    @property
    def ws_root(self) -> str:
        return self.root.replace("http://", "ws://")

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Poll ``await predicate()`` until it returns something truthy
        (:func:`omnisdk.testkit.polling.wait_for`)."""
        return await wait_for(predicate, timeout)


@dataclass
class Visitor:
    """A visitor's session as ``POST /session`` answered it, and the frames it signs."""

    token: str
    session: str
    frame_key: str

    def frame(self, kind: str = "message", /, **fields: Any) -> bytes:
        doc = {"v": 1, "type": kind, "session": self.session, **fields}
        if kind != "typing":
            doc.setdefault("id", "c_" + uuid.uuid4().hex[:16])
        return orjson.dumps(doc)

    def signature(self, body: bytes) -> str:
        key = protocol.frame_key_from(self.frame_key)
        return protocol.frame_signature(key, body)

    def headers(self, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Webchat-Signature": self.signature(body),
                "Content-Type": "application/json"}

    def envelope(self, body: bytes) -> str:
        return orjson.dumps({"signature": self.signature(body), "frame": body.decode()}).decode()


def settings_for(tmp_path: Path, port: int, queues: list[dict[str, Any]] | None = None) -> Settings:
    env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
    try:
        return Settings(
            store={"url": f"sqlite:///{tmp_path / 'chat.db'}", "synchronous": "NORMAL"},
            gateway={"public_url": f"http://127.0.0.1:{port}"},
            routing={"queues": queues or [{"name": "support"}],
                     "agents": [{"id": "alice", "capacity": {"chat": 2}}]},
        )
    finally:
        if env_file is not None:
            os.environ["OMNISDK_CONFIG_FILE"] = env_file


@asynccontextmanager
async def running_chat(tmp_path: Path, *, host: PluginHost | None = None, queues: list[dict[str, Any]] | None = None,
                       **account: Any) -> AsyncIterator[Chat]:
    """A gateway serving one web chat account (``account``: its settings over the example's)
    until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    adapter = WebchatAdapter(ACCOUNT, {**WebchatAdapter.example_settings(), "api_base_url": base, **account})
    runtime = Runtime(settings_for(tmp_path, port, queues), host=host or PluginHost(),
                      adapters={("webchat", ACCOUNT): adapter})
    async with serve_in_task(create_app(runtime), port=port, lifespan="on", ws="websockets-sansio"):
        yield Chat(base, runtime, adapter)


async def new_visitor(http: httpx.AsyncClient, chat: Chat, **body: Any) -> Visitor:
    resp = await http.post(f"{chat.root}/session", json=body)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    return Visitor(doc["token"], doc["session"], doc["frame_key"])
