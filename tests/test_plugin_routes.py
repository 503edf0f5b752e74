"""Adapters' own routes (ChannelAdapter.routes / route_prefix): mounted at
/{route_prefix}/{account} in the roles that receive webhooks, fed through the webhook commit."""

from __future__ import annotations

from typing import ClassVar

import httpx
import pytest
from sample_plugin import SampleAdapter
from sample_wire import SECRET, make_settings, message_event
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omnisdk.errors import ConfigError, WebhookError
from omnisdk.gateway import create_app
from omnisdk.gateway.plugin_routes import plugin_routes
from omnisdk.runtime import Runtime


class RoutedAdapter(SampleAdapter):
    """The sample adapter with a route of its own that commits one message event."""

    route_prefix: ClassVar[str | None] = "talk"

    def routes(self, context):
        async def post(request: Request) -> JSONResponse:
            business = request.query_params.get("business", "biz")
            try:
                await context.deliver([message_event(request.path_params["n"], business=business)],
                                      "2026-01-01T00:00:00Z")
            except WebhookError as exc:
                return JSONResponse({"error": exc.reason}, exc.status)
            return JSONResponse({"account": context.adapter.account, "role": context.role}, 202)

        return [Route("/say/{n}", post, methods=["POST"])]


def _runtime(tmp_path, cls=RoutedAdapter, role="all"):
    settings = make_settings(tmp_path)
    adapter = cls("acme", cls.Settings(secret=SECRET, api_base_url="https://sample.test"))
    return Runtime(settings, adapters={("sample", "acme"): adapter}, role=role)


async def test_routes_are_mounted_per_account_and_commit_through_the_inbox(tmp_path):
    rt = _runtime(tmp_path)
    await rt.start()
    try:
        app = create_app(rt, manage_runtime=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            resp = await client.post("/talk/acme/say/1")
            assert resp.status_code == 202 and resp.json() == {"account": "acme", "role": "all"}
            foreign = await client.post("/talk/acme/say/2", params={"business": "someone-else"})
            assert foreign.status_code == 403 and foreign.json() == {"error": "foreign_business_address"}
            assert 400 <= (await client.post("/talk/other/say/3")).status_code < 500  # no such account: not mounted
        await rt.processor.drain()
        [inter] = await rt.interactions()
        assert inter.customer == "+15550100001"
        stats = await rt.stats()
        assert stats["routes.sample.delivered"] == 1 and stats["routes.sample.failed"] == 1
    finally:
        await rt.stop()


def test_no_routes_in_the_core_role_and_none_without_a_prefix(tmp_path):
    assert plugin_routes(_runtime(tmp_path, role="core")) == []
    assert plugin_routes(_runtime(tmp_path, cls=SampleAdapter)) == []
    assert len(plugin_routes(_runtime(tmp_path, role="ingress"))) == 1


@pytest.mark.parametrize("prefix", ["v1", "webhooks", "links", "Talk", "", "a/b"])
def test_a_prefix_of_the_core_or_not_a_word_is_refused(tmp_path, prefix):
    cls = type("Bad", (RoutedAdapter,), {"route_prefix": prefix})
    with pytest.raises(ConfigError, match="route_prefix"):
        plugin_routes(_runtime(tmp_path, cls=cls))
