"""The SQLite store runs the store contract: one file, and with the inbox in its own file."""

from __future__ import annotations

import pytest
from store_contract import StoreContract

from omnisdk.store import open_store


@pytest.fixture(params=["one-file", "split-inbox"])
def store_factory(request, tmp_path):
    """A new unopened SQLite store; every call of one test opens the same files."""
    inbox = f"sqlite:///{tmp_path / 'inbox.db'}" if request.param == "split-inbox" else None
    url = f"sqlite:///{tmp_path / 'core.db'}"
    return lambda: open_store(url, synchronous="NORMAL", inbox_url=inbox)


class TestSQLiteStore(StoreContract):
    pass
