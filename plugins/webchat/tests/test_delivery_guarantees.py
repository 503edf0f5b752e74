"""No agent message is ever dropped by the hub (issue 14 hardening): a flood to an absent
visitor, a visitor that acknowledges nothing, a forgotten mailbox and a socket too slow to
read; and receipts only of the visitor's own messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from omnisdk_webchat import protocol, routes
from omnisdk_webchat.hub import Hub, MailboxFull
from starlette.websockets import WebSocketState
from webchat_rig import Chat, new_visitor, running_chat

CORE = {"Authorization": "Bearer example-webchat-delivery-token"}


async def _deliver(http, chat: Chat, session: str, key: str, text: str):
    return await http.post(f"{chat.root}/v1/messages", headers={**CORE, "Idempotency-Key": key},
                           json={"v": 1, "session": session, "text": text, "interaction_id": "i-1"})


async def _recv(ws, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def test_a_flood_of_agent_messages_to_an_absent_visitor_all_arrive_on_reconnect(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "after": 0}))
        seen = (await _recv(ws, "welcome"))["seq"]
    n = 650  # more than the 500 frames a mailbox keeps once acknowledged
    for i in range(n):
        resp = await _deliver(http, chat, visitor.session, f"out:{i}", f"agent message {i}")
        assert resp.status_code == 201, resp.text
    async with websockets.connect(f"{chat.ws_root}/socket", max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "after": seen}))
        await _recv(ws, "welcome")
        got = [(await _recv(ws, "message"))["text"] for _ in range(n)]
    assert got == [f"agent message {i}" for i in range(n)]  # every one, once, in order


async def test_a_visitor_acknowledging_nothing_holds_back_deliveries_with_503_never_drops_them(tmp_path, http):
    async with running_chat(tmp_path, max_pending=3) as chat:
        visitor = await new_visitor(http, chat)
        ids = []
        for i in range(3):
            resp = await _deliver(http, chat, visitor.session, f"out:{i}", f"m{i}")
            assert resp.status_code == 201
            ids.append(resp.json()["id"])
        held = await _deliver(http, chat, visitor.session, "out:3", "m3")
        assert held.status_code == 503 and held.json() == {"error": "mailbox_full"}
        assert held.headers["retry-after"].isdigit()  # the outbox retries it later
        assert chat.runtime.metrics.webhooks.counts[("webchat", "unavailable", "mailbox_full")] == 1

        body = visitor.frame("receipt", message_id=ids[0], status="delivered")  # the visitor has m0
        assert (await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))).status_code == 202
        assert (await _deliver(http, chat, visitor.session, "out:3", "m3")).status_code == 201  # the retry
        poll = await http.get(f"{chat.root}/poll", params={"after": 0},
                              headers={"Authorization": f"Bearer {visitor.token}"})
        assert [f["text"] for f in poll.json()["frames"] if f["type"] == "message"] == ["m0", "m1", "m2", "m3"]


def test_acknowledged_frames_are_trimmed_and_unacknowledged_agent_messages_never_are():
    hub = Hub("s" * 32, keep=3, clock=lambda: 1000.0)
    sid = "v_TestSessionAAAA"
    for i in range(10):
        hub.deliver(sid, f"k{i}", {"type": "message", "text": f"m{i}"})
        hub.typing(sid, "agent", True)  # ephemeral frames between them
    box = hub.box(sid)
    assert [f["text"] for f in box.after(0) if f["type"] == "message"] == [f"m{i}" for i in range(10)]
    assert len(box.frames) <= 2 * 3 + 10  # the typing frames were trimmed around them
    hub.acknowledge(sid, box.seq)
    assert len(box.frames) == 3 and not box.unacked  # acknowledged: only `keep` stay
    hub.acknowledge(sid, box.seq + 10**9)  # a number the box never gave is ignored
    assert box.acked == box.seq


def test_a_mailbox_is_forgotten_only_when_it_holds_nothing_unacknowledged_and_numbers_go_on():
    now = [1000.0]
    hub = Hub("s" * 32, max_sessions=2, clock=lambda: now[0])
    a, b, c = "v_SessionAAAAAAAA", "v_SessionBBBBBBBB", "v_SessionCCCCCCCC"
    hub.deliver(a, "k1", {"type": "message", "text": "for a"})
    hub.box(b)
    hub.box(c)  # the hub is full: b (empty) goes, never a (an unacknowledged message)
    assert a in hub.boxes and b not in hub.boxes
    with pytest.raises(MailboxFull):  # no box may go to make one for a delivery: refused, kept by the sender
        hub.deliver(b, "k2", {"type": "message", "text": "for b"})
        hub.deliver("v_SessionDDDDDDDD", "k3", {"type": "message", "text": "for d"})

    seen = hub.box(a).seq
    hub.acknowledge(a, seen)  # a has its message: its box may go now
    now[0] += 1
    hub.box("v_SessionEEEEEEEE")
    hub.box("v_SessionFFFFFFFF")
    assert a not in hub.boxes
    hub.deliver(a, "k4", {"type": "message", "text": "after a was forgotten"})
    assert [f["text"] for f in hub.box(a).after(seen)] == ["after a was forgotten"]  # numbers go on


def test_a_bounded_session_refuses_beyond_max_pending():
    hub = Hub("s" * 32, max_pending=2)
    sid = "v_SessionAAAAAAAA"
    first, _ = hub.deliver(sid, "k1", {"type": "message"})
    hub.deliver(sid, "k2", {"type": "message"})
    with pytest.raises(MailboxFull):
        hub.deliver(sid, "k3", {"type": "message"})
    assert hub.deliver(sid, "k1", {"type": "message"}) == (first, False)  # a retry of a kept one is fine
    hub.receipt(sid, first)
    hub.deliver(sid, "k3", {"type": "message"})


class _StuckSocket:
    """A socket whose visitor reads nothing: every send blocks."""

    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.closed: int | None = None

    async def send_json(self, frame: dict[str, Any]) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


async def test_a_socket_too_slow_to_read_is_closed_with_4408_and_its_frames_stay(monkeypatch):
    monkeypatch.setattr(routes, "SEND_TIMEOUT", 0.1)
    hub = Hub("s" * 32)
    sid = "v_SessionAAAAAAAA"
    hub.deliver(sid, "k1", {"type": "message", "text": "hello"})
    ws = _StuckSocket()
    await asyncio.wait_for(routes._push(ws, hub, sid, 0), 5)  # type: ignore[arg-type]
    assert ws.closed == protocol.CLOSE_TOO_SLOW
    assert [f["text"] for f in hub.box(sid).after(0)] == ["hello"]  # for the reconnect


async def test_a_visitor_may_mark_only_its_own_sessions_messages(chat: Chat, http):
    alice, mallory = await new_visitor(http, chat), await new_visitor(http, chat)
    mid = (await _deliver(http, chat, alice.session, "out:a1", "for alice")).json()["id"]
    assert protocol.is_message_of("example-webchat-session-secret-not-real-0001", alice.session, mid)

    body = mallory.frame("receipt", message_id=mid, status="read")
    resp = await http.post(f"{chat.root}/frames", content=body, headers=mallory.headers(body))
    assert resp.status_code == 403 and resp.json() == {"error": "foreign_message"}
    forged = mallory.frame("receipt", message_id="wco_" + "0" * 32, status="read")
    resp = await http.post(f"{chat.root}/frames", content=forged, headers=mallory.headers(forged))
    assert resp.status_code == 403
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:  # the socket answers an error, stays open
        await ws.send(json.dumps({"type": "hello", "token": mallory.token}))
        await _recv(ws, "welcome")
        await ws.send(mallory.envelope(mallory.frame("receipt", message_id=mid, status="delivered")))
        assert await _recv(ws, "error") == {"v": 1, "type": "error", "status": 403, "error": "foreign_message"}
        await ws.send(mallory.envelope(mallory.frame(text="still here")))
        assert (await _recv(ws, "ack"))["events"] == 1
    assert chat.runtime.metrics.webhooks.counts[("webchat", "rejected", "foreign_message")] == 3

    # the gateway's webhook path runs the same parse(): refused and counted there too
    resp = await http.post(f"{chat.base}/webhooks/webchat/acme", content=body, headers=mallory.headers(body))
    assert resp.status_code == 403 and resp.json()["error"] == "foreign_message"

    own = alice.frame("receipt", message_id=mid, status="read")
    assert (await http.post(f"{chat.root}/frames", content=own, headers=alice.headers(own))).status_code == 202

    async def counted():
        stats = await chat.runtime.stats()
        return stats.get("routes.webchat.refused.foreign_message") == 3 and stats
    assert await chat.wait_for(counted)
