"""NATS for the tests: the shared JetStream server at 127.0.0.1:4222, or a ``nats-server`` of
the test's own (:class:`OwnNats`, to stop and restart it), and ``[bus]`` settings whose streams
and subjects are unique to one test (:func:`unique_bus`).  Without a server the tests skip with
the reason, and fail instead in CI (``OMNISDK_REQUIRE_SERVICES=1``), as ``tests/conftest.py``'s
``require_service`` does."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from omnisdk.bus.settings import BusSettings
from omnisdk.testkit.ports import free_port

SHARED_NATS = "nats://127.0.0.1:4222"


def require(name: str, reason: str) -> None:
    """Skip (or, in CI, fail) when a service is missing."""
    if os.environ.get("OMNISDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def unique_bus(url: str, **changes) -> BusSettings:
    """``[bus]`` settings with streams and subject prefixes no other test uses."""
    uid = uuid.uuid4().hex[:12]
    return BusSettings(url=url, inbox_stream=f"T_INBOX_{uid}", inbox_subject=f"t{uid}.inbox",
                       events_stream=f"T_EVENTS_{uid}", events_subject=f"t{uid}.events", **changes)


async def delete_streams(settings: BusSettings) -> None:
    """Delete the streams of ``settings`` (when the server is still there)."""
    import nats

    try:
        nc = await nats.connect(settings.servers, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1)
    except Exception:  # noqa: BLE001 - the test's own server is gone already
        return
    js = nc.jetstream()
    for name in (settings.inbox_stream, settings.events_stream):
        try:
            await js.delete_stream(name)
        except Exception:  # noqa: BLE001 - never declared
            pass
    await nc.close()


class OwnNats:
    """A ``nats-server -js`` of the test's own on a free port, its JetStream files in
    ``store_dir`` (kept across :meth:`stop` and :meth:`start`, as a restarted server keeps
    them); ``config``: nats-server configuration text (``max_payload: 4096`` …)."""

    def __init__(self, store_dir: Path, config: str = "") -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.store_dir = store_dir
        self.config = store_dir.parent / f"nats-{self.port}.conf"
        self.config.write_text(config)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if shutil.which("nats-server") is None:
            require("nats-server", "the nats-server binary is not on PATH")
        self.proc = subprocess.Popen(
            ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir),
             "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGKILL: the server goes away as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


