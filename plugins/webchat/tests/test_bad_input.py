"""Bad input at the chat's endpoints, through the real gateway: typed close codes and 4xx
answers, never a 500, and nothing stored."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

import orjson
import pytest
import websockets
from omnisdk_webchat import protocol
from webchat_rig import Chat, Visitor, new_visitor
from websockets.exceptions import ConnectionClosed

CORE = {"Authorization": "Bearer example-webchat-delivery-token"}


def _inbox_count(chat: Chat) -> int:
    with sqlite3.connect(f"file:{chat.runtime.store.location}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM inbox").fetchone()[0])


async def _closed_with(ws) -> int:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert info.value.rcvd is not None
    return info.value.rcvd.code


async def test_a_bad_token_in_hello_closes_with_4401(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    for token in ("not-a-jwt", visitor.token[:-2] + "xx", ""):
        async with websockets.connect(f"{chat.ws_root}/socket") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            assert await _closed_with(ws) == protocol.CLOSE_BAD_TOKEN


async def test_a_token_of_another_secret_is_refused(chat: Chat, http, tmp_path):
    from webchat_rig import running_chat

    async with running_chat(tmp_path / "other", session_secret="x" * 40) as other:
        foreign = await new_visitor(http, other)
    resp = await http.post(f"{chat.root}/session", json={"token": foreign.token})
    assert resp.status_code == 401 and resp.json() == {"error": "bad_signature"}
    body = foreign.frame(text="hi")
    resp = await http.post(f"{chat.root}/frames", content=body, headers=foreign.headers(body))
    assert resp.status_code == 401
    assert _inbox_count(chat) == 0


async def test_malformed_hello_and_binary_frames_close_with_4400(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    for first in ("{", '{"type":"frame"}', "[]", '{"type":"hello","token":"t","after":-1}'):
        async with websockets.connect(f"{chat.ws_root}/socket") as ws:
            await ws.send(first)
            assert await _closed_with(ws) == protocol.CLOSE_BAD_FRAME
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await ws.recv()
        await ws.send(b"\x00binary")
        assert await _closed_with(ws) == protocol.CLOSE_BAD_FRAME


async def test_an_oversized_frame_closes_with_4413_and_stores_nothing(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket", max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await ws.recv()
        body = visitor.frame(text="x" * (chat.adapter.settings.max_frame_bytes * 2))
        await ws.send(visitor.envelope(body))
        assert await _closed_with(ws) == protocol.CLOSE_TOO_LARGE
    body = visitor.frame(text="y" * (chat.adapter.settings.max_frame_bytes + 10))
    resp = await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))
    assert resp.status_code == 413
    assert _inbox_count(chat) == 0


async def test_a_chunked_body_without_length_is_refused_at_the_limit(chat: Chat, http):
    """No Content-Length (chunked) and no credentials: /frames answers 413 and /session 400
    (its JSON limit) once the body passes the route's limit; nothing is stored."""
    async def chunks():
        for _ in range(64):
            yield b"x" * 65_536

    for path, status in (("/frames", 413), ("/session", 400)):
        resp = await http.post(f"{chat.root}{path}", content=chunks(),
                               headers={"authorization": "Bearer junk", "content-type": "application/json"})
        assert resp.status_code == status, (path, resp.text)
    assert _inbox_count(chat) == 0


async def test_the_body_reader_stops_pulling_at_the_limit():
    """What the gateway holds is bounded by the limit: ``read_body`` stops asking for chunks as
    soon as the body passes it (the 4 MiB on offer are never read), and refuses a declared
    Content-Length above it before reading anything."""
    from omnisdk_webchat.routes import BodyTooLarge, read_body
    from starlette.requests import Request

    pulled = {"n": 0}

    def request(headers: list[tuple[bytes, bytes]]) -> Request:
        async def receive():
            pulled["n"] += 1
            return {"type": "http.request", "body": b"x" * 65_536, "more_body": pulled["n"] < 64}
        return Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)

    with pytest.raises(BodyTooLarge):
        await read_body(request([]), 100_000)
    assert pulled["n"] == 2  # 128 KiB read of 4 MiB: stopped right past the 100,000-byte limit
    pulled["n"] = 0
    with pytest.raises(BodyTooLarge):
        await read_body(request([(b"content-length", b"4194304")]), 100_000)
    assert pulled["n"] == 0
    pulled["n"] = 62  # the last two chunks: 128 KiB, under a 200,000-byte limit
    assert len(await read_body(request([]), 200_000)) == 131_072


async def test_one_address_may_open_only_so_many_sessions_a_minute(chat: Chat, http):
    """Sessions are not free: past ``sessions_per_minute`` from one address, POST /session is
    429 with Retry-After (each new session is a new conversation for agents)."""
    allowed = chat.adapter.settings.sessions_per_minute
    answers = [(await http.post(f"{chat.root}/session", json={})).status_code for _ in range(allowed + 1)]
    assert answers[:allowed] == [200] * allowed
    refused = await http.post(f"{chat.root}/session", json={})
    assert answers[-1] == refused.status_code == 429 and refused.headers["retry-after"]


def test_a_flood_of_new_keys_never_resets_an_exhausted_one():
    """The rate-limit table forgets the least recently used key one at a time: minting many
    sessions no longer clears every bucket (it used to, past max_sessions)."""
    from omnisdk_webchat.routes import Buckets

    buckets = Buckets(capacity=2, period=3600.0, size=3)
    assert [buckets.take("flooder") for _ in range(3)] == [True, True, False]
    for n in range(2):
        assert buckets.take(f"new-{n}")
    assert buckets.take("flooder") is False  # still there, still empty (and now the most recent)
    assert buckets.take("new-2")  # a fourth key evicts new-0, the least recently used
    assert buckets.take("flooder") is False


async def test_bad_frames_on_the_socket_get_error_frames_and_the_socket_stays_open(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await ws.recv()
        cases = [
            visitor.envelope(visitor.frame("dance")),                           # unknown type
            visitor.envelope(visitor.frame(text="")),                           # empty text
            visitor.envelope(visitor.frame(text="hi", id="short")),             # bad client id
            visitor.envelope(b'{"v":1,"type":"message"'),                       # truncated
            visitor.envelope(visitor.frame(attachments=[{"mime_type": "application/x-msdownload",
                                                         "data": base64.b64encode(b"MZ").decode()}])),
            json.dumps({"frame": "{}"}),                                        # no signature
        ]
        for text in cases:
            await ws.send(text)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["status"] == 400, (text[:80], answer)
        await ws.send(visitor.envelope(visitor.frame(text="still here")))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ack"
    assert _inbox_count(chat) == 1


async def test_a_wrong_signature_closes_with_4401(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    async with websockets.connect(f"{chat.ws_root}/socket") as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        await ws.recv()
        body = visitor.frame(text="hi")
        await ws.send(json.dumps({"signature": visitor.signature(body + b" "), "frame": body.decode()}))
        assert json.loads(await ws.recv())["status"] == 401
        assert await _closed_with(ws) == protocol.CLOSE_BAD_TOKEN


async def test_a_frame_naming_another_session_is_refused(chat: Chat, http):
    alice, bob = await new_visitor(http, chat), await new_visitor(http, chat)
    body = orjson.dumps({"v": 1, "type": "message", "session": bob.session, "id": "c_0123456789ab", "text": "hi"})
    resp = await http.post(f"{chat.root}/frames", content=body, headers=alice.headers(body))
    assert resp.status_code == 401
    assert _inbox_count(chat) == 0


async def test_a_flood_is_rate_limited(chat: Chat, http):
    visitor = await new_visitor(http, chat)
    statuses = []
    for _ in range(40):
        body = visitor.frame("typing", state="on")
        statuses.append((await http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body))).status_code)
    assert statuses[:30] == [202] * 30 and 429 in statuses[30:]


async def test_http_bad_input_gets_4xx(chat: Chat, http):
    visitor: Visitor = await new_visitor(http, chat)
    root = chat.root
    checks = [
        await http.post(f"{root}/session", content=b"{"),
        await http.post(f"{root}/session", json=[1]),
        await http.post(f"{root}/session", json={"token": 5}),
        await http.post(f"{root}/session", json={"identity": "a.b.c"}),   # identified visitors not configured
        await http.post(f"{root}/frames", content=b"{}"),                 # no token
        await http.get(f"{root}/poll"),
        await http.get(f"{root}/poll", params={"after": "x"}, headers={"Authorization": f"Bearer {visitor.token}"}),
        await http.post(f"{root}/v1/messages", json={"v": 1, "session": visitor.session, "text": "x"}),  # no token
        await http.post(f"{root}/v1/messages", json={"v": 1, "session": visitor.session, "text": "x"},
                        headers={**CORE, "Authorization": "Bearer wrong-token-wrong-token"}),
        await http.post(f"{root}/v1/messages", json={"v": 1, "session": visitor.session, "text": "x"}, headers=CORE),
        await http.post(f"{root}/v1/messages", json={"v": 1, "session": "nobody", "text": "x"},
                        headers={**CORE, "Idempotency-Key": "k1"}),
        await http.post(f"{root}/v1/messages", content=b"[", headers={**CORE, "Idempotency-Key": "k2"}),
        await http.post(f"{root}/v1/typing", json={"session": visitor.session, "state": "maybe"}, headers=CORE),
        await http.post(f"{root}/v1/typing", json=[], headers=CORE),
        await http.get(f"{root}/v1/sessions/{visitor.session}"),
    ]
    got = [r.status_code for r in checks]
    assert got == [400, 400, 400, 401, 401, 401, 400, 401, 401, 400, 400, 400, 400, 400, 401]
    assert all("error" in r.json() for r in checks)
    assert (await http.get(f"{chat.base}/chat/nobody/widget.js")).status_code == 404


async def test_fuzzed_signed_frames_never_get_a_5xx(tmp_path, http):
    """Random bodies, validly signed for the session (the signature is no shield here): 2xx
    or 4xx, never a 5xx, and the gateway keeps answering."""

    from webchat_rig import running_chat

    async with running_chat(tmp_path, rate_limit=10_000) as chat:
        await _fuzz(chat, http)


async def _fuzz(chat: Chat, http) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    visitor = await new_visitor(http, chat)
    seen: list[int] = []
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=12)
    frames = st.one_of(
        st.binary(max_size=300),
        st.builds(lambda extra: orjson.dumps({"v": 1, "session": visitor.session, "type": "message",
                                              "id": "c_0123456789ab", **extra}),
                  st.dictionaries(st.sampled_from(["text", "attachments", "id", "type", "v", "session"]),
                                  json_values, max_size=3)),
        json_values.map(orjson.dumps),
    )
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frames)
    def run(body: bytes) -> None:
        future = asyncio.run_coroutine_threadsafe(
            http.post(f"{chat.root}/frames", content=body, headers=visitor.headers(body)), loop)
        seen.append(future.result(10).status_code)

    await asyncio.to_thread(run)
    assert len(seen) >= 60 and all(s < 500 for s in seen) and 429 not in seen
    assert (await http.get(f"{chat.base}/healthz")).status_code == 200


async def test_a_socket_from_another_origin_closes_with_4403(tmp_path, http):
    from webchat_rig import running_chat

    async with running_chat(tmp_path, allowed_origins=["https://portal.example"]) as chat:
        visitor = await new_visitor(http, chat)
        async with websockets.connect(f"{chat.ws_root}/socket", origin="https://evil.example") as ws:
            assert await _closed_with(ws) == protocol.CLOSE_FORBIDDEN_ORIGIN
        async with websockets.connect(f"{chat.ws_root}/socket", origin="https://portal.example") as ws:
            await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
            assert json.loads(await ws.recv())["type"] == "welcome"
