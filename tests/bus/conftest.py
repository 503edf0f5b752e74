"""Bus tests: NATS JetStream (the shared server at 127.0.0.1:4222, or a server of the test's
own), with streams and subjects unique to each test and deleted after it.  They need nats-py
(``pip install 'omnisdk[nats]'``, which ``scripts/bootstrap.sh`` installs): without it they are
left out, except in CI (``OMNISDK_REQUIRE_SERVICES=1``), where their import error fails the run."""

from __future__ import annotations

import importlib.util
import os

import pytest
from nats_servers import SHARED_NATS, OwnNats, delete_streams, listening, require, unique_bus

if importlib.util.find_spec("nats") is None and os.environ.get("OMNISDK_REQUIRE_SERVICES") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
async def bus_settings():
    """Unique ``[bus]`` settings on the shared server (skips when it is not up, fails in CI)."""
    if not listening(4222):
        require("NATS", "no NATS JetStream at 127.0.0.1:4222")
    settings = unique_bus(SHARED_NATS, duplicate_window=60.0)
    yield settings
    await delete_streams(settings)


@pytest.fixture
def own_nats(tmp_path):
    """Factory of :class:`~nats_servers.OwnNats` servers, started (killed after the test)."""
    servers: list[OwnNats] = []

    def make(config: str = "") -> OwnNats:
        server = OwnNats(tmp_path / f"js-{len(servers)}", config)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
