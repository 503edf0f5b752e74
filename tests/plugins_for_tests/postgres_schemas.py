"""PostgreSQL for the tests: a fresh schema per test (its tables made by the store's own
migrations), dropped after.

The server is ``OMNISDK_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
what ``.ci/run`` starts).  Without it the tests skip with the reason, and fail instead in CI
(``OMNISDK_REQUIRE_SERVICES=1``), as ``tests/conftest.py``'s ``require_service`` does.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = os.environ.get("OMNISDK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PREFIX = "omnisdk_test_"

_reason: list[str | None] = []  # memo: one connection attempt per test session


def unavailable() -> str | None:
    """Why the tests cannot use PostgreSQL, or None when they can."""
    if not _reason:
        try:
            import psycopg
        except ImportError:
            _reason.append("psycopg is not installed (pip install 'omnisdk[postgres]')")
        else:
            try:
                psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
                _reason.append(None)
            except psycopg.Error as exc:
                _reason.append(f"cannot connect to {POSTGRES_URL}: {type(exc).__name__}")
    return _reason[0]


def require_postgres() -> None:
    """Skip (or, where OMNISDK_REQUIRE_SERVICES=1, fail) when PostgreSQL is not there."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("OMNISDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def schema_url(schema: str) -> str:
    """The store URL of ``schema`` on the test server."""
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}schema={schema}"


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A new schema name (the store creates the schema on open), dropped on exit."""
    require_postgres()
    schema = PREFIX + uuid.uuid4().hex[:16]
    try:
        yield schema
    finally:
        drop_schema(schema)
