"""``omnisdk serve`` with a web chat account: uvicorn's WebSocket message limit comes from the
chat's frame limit, forwarded client addresses count only from a trusted proxy, and an open
``/metrics`` off loopback is warned about at start-up."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import websockets
from omnisdk_webchat import WebchatAdapter
from test_split_serve import wait_ok

from omnisdk.config import GatewaySettings
from omnisdk.gateway.server import DEFAULT_WS_MAX_SIZE, is_loopback, uvicorn_options
from omnisdk.testkit.ports import free_port
from omnisdk.testkit.processes import stop_processes

MAX_FRAME = 2048


@asynccontextmanager
async def serving(tmp_path: Path, http: httpx.AsyncClient, *, gateway: str = "", host: str = "127.0.0.1",
                  ) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    settings = WebchatAdapter.example_settings()
    config = tmp_path / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "chat.db"}"\n'
        f'[gateway]\n{gateway}\n'
        '[plugins]\nallow = ["webchat"]\n'
        '[[routing.queues]]\nname = "support"\n'
        '[accounts.webchat.acme]\n'
        f'session_secret = "{settings["session_secret"]}"\ndelivery_token = "{settings["delivery_token"]}"\n'
        f'api_base_url = "http://127.0.0.1:{port}"\nmax_frame_bytes = {MAX_FRAME}\nsockets_per_address = 1\n')
    env = {k: v for k, v in os.environ.items() if k != "OMNISDK_CONFIG_FILE"}
    proc = subprocess.Popen([sys.executable, "-m", "omnisdk.cli", "serve", "-c", str(config), "--host", host,
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        await wait_ok(http, f"http://127.0.0.1:{port}/healthz", proc)
        yield f"127.0.0.1:{port}", proc
    finally:
        stop_processes([proc])


async def _session(http: httpx.AsyncClient, address: str) -> str:
    resp = await http.post(f"http://{address}/chat/acme/session", json={})
    assert resp.status_code == 200
    return resp.json()["token"]


async def test_serve_caps_socket_messages_at_the_frame_limit_and_trusts_no_forwarded_address(tmp_path, http):
    async with serving(tmp_path, http) as (address, proc):
        token = await _session(http, address)
        url = f"ws://{address}/chat/acme/socket"
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            await ws.send("x" * (2 * MAX_FRAME + 201 + 1024))  # above ws_max_size: uvicorn refuses it unread
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        # sockets_per_address = 1: a second visitor claiming another address is the same peer
        await asyncio.sleep(0.5)  # the refused socket's place is given back once the server saw it close
        async with websockets.connect(url, additional_headers={"X-Forwarded-For": "203.0.113.7"}) as first:
            await first.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await first.recv())["type"] == "welcome"
            async with websockets.connect(url, additional_headers={"X-Forwarded-For": "198.51.100.9"}) as second:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(second.recv(), 10)
                assert closed.value.rcvd.code == 1008


async def test_a_trusted_proxy_gives_each_visitor_its_own_address(tmp_path, http):
    async with serving(tmp_path, http, gateway='trusted_proxies = ["127.0.0.1"]') as (address, _):
        token = await _session(http, address)
        url = f"ws://{address}/chat/acme/socket"
        async with websockets.connect(url, additional_headers={"X-Forwarded-For": "203.0.113.7"}) as first, \
                websockets.connect(url, additional_headers={"X-Forwarded-For": "198.51.100.9"}) as second:
            for ws in (first, second):
                await ws.send(json.dumps({"type": "hello", "token": token}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"


async def test_serve_off_loopback_without_a_metrics_token_warns_at_start(tmp_path, http):
    async with serving(tmp_path, http, host="0.0.0.0") as (address, proc):
        assert (await http.get(f"http://{address}/metrics")).status_code == 200  # still open, as before
    out = proc.stdout.read().decode()
    assert "GET /metrics is open to anyone who can reach 0.0.0.0" in out
    (tmp_path / "chat.db").unlink()
    async with serving(tmp_path, http, host="0.0.0.0", gateway='metrics_token = "scrape-me-0123456789"') as (a, p):
        assert (await http.get(f"http://{a}/metrics")).status_code == 401
        assert (await http.get(f"http://{a}/metrics",
                               headers={"Authorization": "Bearer scrape-me-0123456789"})).status_code == 200
    out = p.stdout.read().decode()
    assert "/metrics is open" not in out and "scrape-me" not in out


def test_the_uvicorn_options_and_the_loopback_test():
    plain = uvicorn_options(GatewaySettings())
    assert plain["proxy_headers"] is False and "forwarded_allow_ips" not in plain  # uvicorn alone trusts 127.0.0.1
    assert plain["ws_max_size"] == DEFAULT_WS_MAX_SIZE
    chat = WebchatAdapter("acme", {**WebchatAdapter.example_settings(), "max_frame_bytes": 4096})
    trusted = uvicorn_options(GatewaySettings(trusted_proxies=["10.0.0.0/8", "::1"]), adapters=[chat])
    assert trusted["proxy_headers"] is True and trusted["forwarded_allow_ips"] == ["10.0.0.0/8", "::1"]
    assert trusted["ws_max_size"] == 2 * 4096 + 200
    with pytest.raises(ValueError, match="trusted_proxies"):
        GatewaySettings(trusted_proxies=["proxy.example"])
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2")] == [True] * 5
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "cx.example")] == [False] * 4
