"""Connections per client address, and the security headers of the chat's pages and calls
(through ``omnisdk.gateway.browser_safety``), on the real gateway."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from omnisdk_webchat.settings import WebchatSettings
from pydantic import ValidationError
from webchat_rig import new_visitor, running_chat


async def test_one_address_may_hold_only_so_many_chat_connections(tmp_path, http):
    async with running_chat(tmp_path, sockets_per_address=2) as chat:
        visitor = await new_visitor(http, chat)
        first = await websockets.connect(f"{chat.ws_root}/socket")
        second = await websockets.connect(f"{chat.ws_root}/socket")
        async with websockets.connect(f"{chat.ws_root}/socket") as third:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(third.recv(), 5)
            assert closed.value.rcvd.code == 1008
        poll = await http.get(f"{chat.root}/poll", params={"after": 0},
                              headers={"Authorization": f"Bearer {visitor.token}"})
        assert poll.status_code == 429 and poll.json() == {"error": "too_many_connections"}
        assert chat.runtime.metrics.webhooks.counts[("webchat", "rejected", "too_many_connections")] == 2

        await first.close()
        await asyncio.sleep(0.2)
        async with websockets.connect(f"{chat.ws_root}/socket") as again:  # a freed place is taken again
            await again.send(json.dumps({"type": "hello", "token": visitor.token}))
            assert json.loads(await asyncio.wait_for(again.recv(), 5))["type"] == "welcome"
        await second.close()


async def test_the_chat_pages_and_calls_carry_the_security_headers(chat, http):
    page = await http.get(f"{chat.root}/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert f"ws://{chat.base.removeprefix('http://')}" in csp  # the page's own socket
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"

    widget = await http.get(f"{chat.root}/widget.js")
    assert widget.headers["x-content-type-options"] == "nosniff"
    assert widget.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert widget.headers["cache-control"] == "public, max-age=300"  # the route's own, kept

    session = await http.post(f"{chat.root}/session", json={})
    refused = await http.post(f"{chat.root}/frames", content=b"{}")
    for resp in (session, refused):
        assert resp.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-frame-options"] == "DENY"


async def test_frame_ancestors_let_the_configured_portal_frame_the_page(tmp_path, http):
    async with running_chat(tmp_path, frame_ancestors=["https://portal.example", "https://*.acme.example"]) as chat:
        page = await http.get(f"{chat.root}/")
        assert page.headers["content-security-policy"].endswith(
            "frame-ancestors https://portal.example https://*.acme.example")
        assert "x-frame-options" not in page.headers  # it cannot name origins: the policy governs framing
        assert (await http.get(f"{chat.root}/widget.js")).headers["x-frame-options"] == "DENY"
        hostile = await http.get(f"{chat.root}/", headers={"Host": "evil;script-src *"})
        assert hostile.status_code == 200 and "evil" not in hostile.headers["content-security-policy"]


@pytest.mark.parametrize("origin", ["https://portal.example/path", "https://a.example; script-src *",
                                    "portal.example", "'self'", "https://a b"])
def test_frame_ancestors_are_origins_only(origin):
    with pytest.raises(ValidationError):
        WebchatSettings.model_validate({"session_secret": "x" * 32, "delivery_token": "y" * 16,
                                        "frame_ancestors": [origin]})
