"""The PostgreSQL store runs the store contract unchanged: each test on a schema of its own
(created by the store's migrations, dropped after)."""

from __future__ import annotations

import pytest
from postgres_schemas import fresh_schema, schema_url
from store_contract import StoreContract

from omnisdk.store import open_store


@pytest.fixture
def store_factory():
    """A new unopened PostgreSQL store; every call of one test opens the same schema."""
    with fresh_schema() as schema:
        url = schema_url(schema)
        yield lambda: open_store(url, synchronous="NORMAL")


class TestPostgresStore(StoreContract):
    pass
