"""The chat through the real gateway (uvicorn on loopback): WebSocket and long-poll, the inbox
commit before the acknowledgement, agents' replies reaching the visitor through the outbox and
the delivery API, read receipts, reconnects."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import orjson
import websockets
from webchat_rig import Chat, new_visitor

from omnisdk.model import InteractionState as S


async def _inbox_has(chat: Chat, event_id: str) -> bool:
    """Whether the inbox file holds the event (read straight from SQLite, as a crash would leave it)."""
    with sqlite3.connect(f"file:{chat.runtime.store.location}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT 1 FROM inbox WHERE source = '/webchat/acme' AND id = ?",
                            (event_id,)).fetchone() is not None


async def _interaction(chat: Chat):
    items = await chat.runtime.interactions()
    return items[0] if items else None


async def _recv(ws, kind: str, timeout: float = 10.0) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def test_websocket_message_is_durable_before_its_ack_and_the_agent_reply_arrives(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "after": 0}))
        welcome = await _recv(ws, "welcome")
        assert welcome["session"] == visitor.session
        body = visitor.frame(text="Where is my order 4411?")
        await ws.send(visitor.envelope(body))
        ack = await _recv(ws, "ack")
        cid = orjson.loads(body)["id"]
        assert ack["id"] == cid and ack["events"] == 1
        assert await _inbox_has(chat, f"{visitor.session}:{cid}")  # committed when acknowledged
        echo = await _recv(ws, "message")
        assert echo["direction"] == "inbound" and echo["text"] == "Where is my order 4411?"

        inter = await chat.wait_for(lambda: _interaction(chat))
        assert inter.customer == visitor.session and inter.channel == "chat"
        await chat.wait_for(lambda: _offered(chat))
        await chat.runtime.accept(inter.id, "alice")
        await chat.runtime.reply(inter.id, "It left our warehouse this morning.", agent="alice")
        reply = await _recv(ws, "message")
        assert reply["direction"] == "outbound" and reply["text"] == "It left our warehouse this morning."
        assert reply["id"].startswith("wco_") and reply["interaction_id"] == inter.id

        receipt = visitor.frame("receipt", message_id=reply["id"], status="read")
        await ws.send(visitor.envelope(receipt))
        await _recv(ws, "ack")

    async def read_status():
        _, _, messages = await chat.runtime.interaction(inter.id)
        out = [m for m in messages if m["direction"] == "outbound"]
        return out and out[0]["status"] == "read" and out

    [sent] = await chat.wait_for(read_status)
    assert sent["message_id"] == reply["id"]


async def _offered(chat: Chat):
    inter = await _interaction(chat)
    return inter is not None and inter.state is S.OFFERED


async def test_long_poll_fallback_sends_and_receives(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    body = visitor.frame(text="Hello over HTTP")
    resp = await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))
    assert resp.status_code == 202 and resp.json()["events"] == 1
    cid = orjson.loads(body)["id"]
    assert await _inbox_has(chat, f"{visitor.session}:{cid}")
    poll = await http.get(f"{chat.root}/poll", params={"after": 0}, headers={"Authorization": f"Bearer {visitor.token}"})
    assert [f["text"] for f in poll.json()["frames"]] == ["Hello over HTTP"]
    seq = poll.json()["seq"]

    inter = await chat.wait_for(lambda: _interaction(chat))
    await chat.wait_for(lambda: _offered(chat))
    await chat.runtime.accept(inter.id, "alice")
    waiting = asyncio.create_task(http.get(f"{chat.root}/poll", params={"after": seq},
                                           headers={"Authorization": f"Bearer {visitor.token}"}))
    await asyncio.sleep(0.2)
    await chat.runtime.reply(inter.id, "Hello! How can I help?", agent="alice")
    frames = (await asyncio.wait_for(waiting, 15)).json()["frames"]
    assert [(f["direction"], f["text"]) for f in frames] == [("outbound", "Hello! How can I help?")]

    again = await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))  # a retry
    assert again.status_code == 202

    async def one_message():
        _, _, messages = await chat.runtime.interaction(inter.id)
        return [m for m in messages if m["direction"] == "inbound"]

    assert len(await chat.wait_for(one_message)) == 1  # the resent frame is deduplicated


async def test_reconnecting_with_the_token_keeps_the_conversation(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await _recv(ws, "welcome")
        await ws.send(visitor.envelope(visitor.frame(text="first")))
        await _recv(ws, "ack")
        first = await _recv(ws, "message")
    inter = await chat.wait_for(lambda: _interaction(chat))
    await chat.wait_for(lambda: _offered(chat))
    await chat.runtime.accept(inter.id, "alice")
    await chat.runtime.reply(inter.id, "answer while you were away", agent="alice")  # nobody connected

    again = await new_visitor(http, chat, token=visitor.token)
    assert again.session == visitor.session and again.frame_key == visitor.frame_key
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": again.token, "after": first["seq"]}))
        await _recv(ws, "welcome")
        missed = await _recv(ws, "message")
        assert missed["text"] == "answer while you were away" and missed["seq"] > first["seq"]
        await ws.send(again.envelope(again.frame(text="second")))
        await _recv(ws, "ack")
    await chat.wait_for(lambda: _two_inbound(chat, inter.id))
    assert len(await chat.runtime.interactions()) == 1  # the same conversation


async def _two_inbound(chat: Chat, interaction_id: str) -> bool:
    _, _, messages = await chat.runtime.interaction(interaction_id)
    return len([m for m in messages if m["direction"] == "inbound"]) == 2


async def test_agent_typing_reaches_the_visitor_and_visitor_typing_is_visible_to_the_core(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    core = {"Authorization": "Bearer example-webchat-delivery-token"}
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await _recv(ws, "welcome")
        r = await http.post(f"{chat.root}/v1/typing", json={"session": visitor.session, "state": "on"}, headers=core)
        assert r.status_code == 204
        assert (await _recv(ws, "typing"))["state"] == "on"
        await ws.send(visitor.envelope(visitor.frame("typing", state="on")))
        ack = await _recv(ws, "ack")
        assert ack["events"] == 0  # typing is relayed, never stored
        state = (await http.get(f"{chat.root}/v1/sessions/{visitor.session}", headers=core)).json()
        assert state == {"connected": 1, "typing": True, "seq": state["seq"]}
