"""What a test does when a service it needs is missing: :func:`require_service`.

A test that needs a server (NATS, PostgreSQL, an IMAP server), a browser or an optional
package skips with the reason on a developer's machine, and fails in CI, where
``OMNISDK_REQUIRE_SERVICES=1`` (``.ci/run`` sets it and installs every service): a missing
service there is a broken build, not a test to leave out.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_SERVICES = "OMNISDK_REQUIRE_SERVICES"
"""The environment variable that turns a skip for a missing service into a failure (``1``)."""


def require_service(name: str, reason: str) -> NoReturn:
    """Skip the running test (``pytest.skip``), or fail it when ``OMNISDK_REQUIRE_SERVICES=1``:
    the service ``name`` is unavailable, for ``reason`` (what to install, what was not found)."""
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


__all__ = ["REQUIRE_SERVICES", "require_service"]
