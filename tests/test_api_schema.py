"""schemathesis against ``/openapi.json``: generated calls to every operation of the agent API
(as an admin) get no 5xx, and every answer conforms to the document (status, content type,
body schema).

The gateway runs for real: ``omnisdk``'s app under uvicorn in a thread of its own, with its
runtime on a temporary SQLite store, so the calls cross HTTP as a client's would.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from sample_wire import make_settings
from schemathesis import checks

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.events import now_rfc3339
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime
from omnisdk.store import open_store
from omnisdk.testkit.ports import free_port


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """``(base URL, admin key)`` of a gateway serving until the module's tests are done."""
    tmp = tmp_path_factory.mktemp("schema")
    conf = make_settings(tmp)
    key, row = new_api_key(name="schemathesis", role=Role.ADMIN, created_at=now_rfc3339())

    async def store_key() -> None:
        store = open_store(conf.store.url)
        await store.open()
        try:
            await store.transact(lambda tx: tx.save_api_key(row))
        finally:
            await store.close()

    asyncio.run(store_key())
    port = free_port()
    app = create_app(Runtime(conf))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url, key
    server.should_exit = True
    thread.join(10)


EXCLUDED = [checks.positive_data_acceptance]
"""Why: a schema-valid call may still be refused (400), and rightly: an opaque cursor the API
never gave out, a body whose id differs from the path's, a scope the key's role does not
grant — rules no JSON schema states.  Every other default check stays: no 5xx, documented
statuses, content types and headers, bodies that match their schema, and the auth checks."""


def test_generated_calls_get_no_5xx_and_conform_to_the_document(gateway):
    url, key = gateway
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/v1/events":
            continue  # a stream that never ends: tests/test_api_live.py reads it

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=url, headers={"X-API-Key": key}, excluded_checks=EXCLUDED)

        operations += 1
        try:
            call()
        except Exception as exc:  # every operation is tried; the failures are listed together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations >= 29
    assert not failures, "\n\n".join(failures)
