"""``omnisdk serve --split``: the visitor's socket is held by the ingress process, the agent's
reply is sent by the core process's outbox, and reaches the visitor through the delivery API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from omnisdk_webchat import WebchatAdapter
from webchat_rig import Visitor

from omnisdk.testkit.ports import free_port_pair


async def wait_ok(http: httpx.AsyncClient, url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode()[-3000:])
        try:
            if (await http.get(url, timeout=0.5)).status_code == 200:
                return
        except httpx.HTTPError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


async def test_split_serve_the_socket_in_the_ingress_the_reply_from_the_core(tmp_path: Path, http):
    port = free_port_pair()
    example = WebchatAdapter.example_settings()
    config = tmp_path / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "omni.db"}"\n'
        '[plugins]\nallow = ["webchat"]\n'
        '[[routing.queues]]\nname = "support"\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { chat = 2 }\n'
        '[accounts.webchat.acme]\n'
        f'session_secret = "{example["session_secret"]}"\ndelivery_token = "{example["delivery_token"]}"\n'
        f'api_base_url = "http://127.0.0.1:{port}"\n'  # the ingress: it holds the sockets
    )
    env = {k: v for k, v in os.environ.items() if k != "OMNISDK_CONFIG_FILE"}
    made = subprocess.run([sys.executable, "-m", "omnisdk.cli", "keys", "create", "--name", "alice",
                           "--role", "agent", "--agent", "alice", "-c", str(config)],
                          env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    auth = {"x-api-key": made.stdout.strip()}
    proc = subprocess.Popen([sys.executable, "-m", "omnisdk.cli", "serve", "--split", "-c", str(config),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    ingress, core = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    try:
        await wait_ok(http, f"{ingress}/healthz", proc)
        await wait_ok(http, f"{core}/healthz", proc)
        assert (await http.get(f"{core}/chat/acme/widget.js")).status_code == 404  # the core receives nothing
        doc = (await http.post(f"{ingress}/chat/acme/session", json={})).json()
        visitor = Visitor(doc["token"], doc["session"], doc["frame_key"])
        async with websockets.connect(f"ws://127.0.0.1:{port}/chat/acme/socket") as ws:
            await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            await ws.send(visitor.envelope(visitor.frame(text="Hello from the split gateway")))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ack"

            deadline = time.monotonic() + 20
            items: list = []
            while time.monotonic() < deadline and not items:
                items = (await http.get(f"{core}/v1/interactions", headers=auth)).json()["items"]
                items = [i for i in items if i["state"] == "offered"]
                await asyncio.sleep(0.1)
            [inter] = items
            r = await http.post(f"{core}/v1/interactions/{inter['id']}/accept", headers=auth, json={})
            assert r.status_code == 200, r.text
            r = await http.post(f"{core}/v1/interactions/{inter['id']}/reply", headers=auth,
                                json={"text": "Hello from the core's outbox"})
            assert r.status_code == 202, r.text
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if frame["type"] == "message" and frame["direction"] == "outbound":
                    break
            assert frame["text"] == "Hello from the core's outbox" and frame["interaction_id"] == inter["id"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
