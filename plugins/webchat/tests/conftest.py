"""Fixtures of the web chat tests (the rig is ``webchat_rig``, importable from the tests)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from webchat_rig import Chat, running_chat  # noqa: E402


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    async with running_chat(tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


