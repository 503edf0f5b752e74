"""Core test fixtures: a runtime on a temporary SQLite store with the test-only sample plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "plugins_for_tests"))

from sample_wire import SECRET, make_settings, msg, sample_body, sample_signature  # noqa: E402,F401


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
