"""``X-Request-ID``: kept when valid, made when missing or invalid, on webhook answers (the raw
ASGI fast path and the Starlette route) and on answers of an app behind
:class:`~omnisdk.gateway.request_ids.RequestIdMiddleware`."""

from __future__ import annotations

import re

import httpx
import pytest
from sample_wire import msg, sample_body, sample_signature
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from omnisdk.gateway import create_app
from omnisdk.gateway.request_ids import RequestIdMiddleware
from omnisdk.observability import log_context

URL = "/webhooks/sample/acme"
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def client(runtime):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
                                 base_url="http://127.0.0.1") as c:
        yield c


def signed(body: bytes) -> dict[str, str]:
    return {"x-sample-signature": sample_signature(body), "content-type": "application/json"}


@pytest.mark.parametrize("given", ["req-1", "0af7651916cd43dd8448eb211c80319c", "Root=1-67891233-abcdef012345678912345678"])
async def test_a_valid_request_id_is_echoed_on_webhook_answers(client, given):
    body = sample_body([msg(1)])
    ok = await client.post(URL, content=body, headers={**signed(body), "x-request-id": given})
    refused = await client.post(URL, content=body, headers={"x-request-id": given})
    not_found = await client.post("/webhooks/sample/nobody", content=body, headers={"x-request-id": given})
    assert (ok.status_code, refused.status_code, not_found.status_code) == (200, 401, 404)
    assert ok.headers["x-request-id"] == refused.headers["x-request-id"] == not_found.headers["x-request-id"] == given


@pytest.mark.parametrize("given", [None, "", "has space", "quote\"d", "x" * 129, "-starts-with-a-dash", "a;b"])
async def test_a_missing_or_invalid_request_id_is_replaced_by_a_new_one(client, given):
    body = sample_body([msg(1)])
    headers = signed(body) | ({"x-request-id": given} if given is not None else {})
    first = await client.post(URL, content=body, headers=headers)
    second = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 200 and NEW_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_starlette_webhook_route_answers_with_a_request_id_too(client):
    given = await client.get(URL, headers={"x-request-id": "get-1"})  # GET: not the fast path
    made = await client.get(URL)
    assert given.status_code == 405 and given.headers["x-request-id"] == "get-1"
    assert NEW_ID.fullmatch(made.headers["x-request-id"])


def middleware_app():
    async def endpoint(request):
        return JSONResponse({"bound": log_context.current().get("request_id"),
                             "state": request.state.request_id},
                            headers={"x-request-id": "set-by-the-app"})

    return RequestIdMiddleware(Starlette(routes=[Route("/v1/x", endpoint)]))


async def test_the_middleware_echoes_binds_and_replaces_the_apps_header():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware_app()), base_url="http://t") as c:
        given = await c.get("/v1/x", headers={"x-request-id": "api-7"})
        made = await c.get("/v1/x", headers={"x-request-id": "bad id"})
        missing = await c.get("/nowhere")
    assert given.json() == {"bound": "api-7", "state": "api-7"}
    assert given.headers.get_list("x-request-id") == ["api-7"]
    assert NEW_ID.fullmatch(made.headers["x-request-id"]) and made.json()["bound"] == made.headers["x-request-id"]
    assert missing.status_code == 404 and NEW_ID.fullmatch(missing.headers["x-request-id"])
    assert log_context.current() == {}  # unbound after each request


async def test_the_middleware_passes_other_scopes_through():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    await RequestIdMiddleware(app)({"type": "lifespan"}, None, None)
    assert seen == ["lifespan"]
