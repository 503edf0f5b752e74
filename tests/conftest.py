"""Core test fixtures: a runtime on a temporary SQLite store with the test-only sample plugin."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "plugins_for_tests"))

from sample_wire import SECRET, msg, sample_body, sample_signature  # noqa: E402,F401


def require_service(name: str, reason: str) -> None:
    """Skip (or, in CI where OMNISDK_REQUIRE_SERVICES=1, fail) when a service is missing."""
    if os.environ.get("OMNISDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


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


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
async def runtime(settings):
    from omnisdk.runtime import Runtime

    rt = Runtime(settings)
    await rt.start()
    yield rt
    await rt.stop()
