"""Shared fixtures of the ccaas_genesys tests (helpers: genesys_rig)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from omnisdk_ccaas_genesys import GenesysCloudConnector

from omnisdk import recordings

sys.path.insert(0, str(Path(__file__).parent))  # genesys_rig (tests import with importlib mode)

from genesys_rig import settings  # noqa: E402


@pytest.fixture
def connector() -> GenesysCloudConnector:
    return GenesysCloudConnector("acme", settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(GenesysCloudConnector.recordings)}
    assert loaded, "no recordings shipped"
    return loaded
