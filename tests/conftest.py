"""Core test fixtures: a runtime on a temporary SQLite store with the test-only sample plugin."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "plugins_for_tests"))

from sample_wire import SECRET, make_settings, msg, sample_body, sample_signature  # noqa: E402,F401


def require_service(name: str, reason: str) -> None:
    """Skip (or, in CI where OMNISDK_REQUIRE_SERVICES=1, fail) when a service is missing."""
    if os.environ.get("OMNISDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


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
